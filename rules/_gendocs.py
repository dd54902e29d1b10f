"""Generate docs/rules.md from the rules' docstrings: ``python -m shapecheck.rules._gendocs``."""

from __future__ import annotations

import pathlib
import sys

from . import rule_classes
from ._common import clean_doc

_FAMILIES = (("SHP2", "Attention"), ("SHP3", "Convolution"), ("SHP4", "Loss layout"))


def render() -> str:
    classes = rule_classes()
    out = ["# Axis-order rules", "",
           "Generated from the rules' docstrings by `python -m shapecheck.rules._gendocs`; do not edit.",
           "`shapecheck explain CODE` prints the same text.", "",
           "| code | name | summary |", "|---|---|---|"]
    for c in classes:
        out.append(f"| {c.code} | `{c.name}` | {c.summary} |")
    for prefix, title in _FAMILIES:
        out += ["", f"## {title}"]
        for c in classes:
            if not c.code.startswith(prefix):
                continue
            doc = clean_doc(c.__doc__ or "")
            first, _, rest = doc.partition("\n")
            rest = rest.replace("\n## ", "\n#### ")
            out += ["", f"### {c.code} `{c.name}`", "", f"*{c.summary}.* {first}", rest.rstrip()]
    return "\n".join(out) + "\n"


def main(argv=None) -> int:
    path = pathlib.Path(__file__).resolve().parent.parent / "docs" / "rules.md"
    if argv is None:
        argv = sys.argv[1:]
    if argv:
        path = pathlib.Path(argv[0])
    path.write_text(render(), encoding="utf-8")
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
