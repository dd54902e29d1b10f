from ._lint._cli import main

raise SystemExit(main())
