"""The linter must work without torch: importing and running it never imports torch."""

import json
import subprocess
import sys
import textwrap


def test_import_shapecheck_does_not_import_torch():
    code = "import sys, shapecheck, shapecheck._lint, shapecheck._core._ops; shapecheck._core._ops.all_rules(); " \
           "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'jaxtyping', 'beartype'))))"
    out = subprocess.run([sys.executable, "-c", "import json; " + code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout) == []


def test_linting_a_file_does_not_import_torch(tmp_path):
    f = tmp_path / "m.py"
    f.write_text(textwrap.dedent('''
        import torch
        from torch import Tensor
        from jaxtyping import Float

        def f(x: Float[Tensor, "b n"], w: Float[Tensor, "m k"]):
            return x @ w
    '''))
    code = textwrap.dedent(f'''
        import sys, json
        from shapecheck._lint import check_source
        diags = check_source(open({str(f)!r}).read(), {str(f)!r})
        loaded = sorted(m for m in sys.modules if m.split('.')[0] in ('torch', 'jaxtyping', 'beartype'))
        print(json.dumps([[d.code for d in diags], loaded]))
    ''')
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    codes, loaded = json.loads(out.stdout)
    assert codes == ["SHP101"]
    assert loaded == []
