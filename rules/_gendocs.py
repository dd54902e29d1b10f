"""Generate docs/rules.md, every diagnostic code: ``python -m shapecheck.rules._gendocs``.

The core's codes (SHP0xx, SHP1xx, SHP9xx) are documented in ``shapecheck/_core/_codedocs.py``, the
axis-order rules (SHP2xx-SHP4xx) in their docstrings; both reach ``CODES`` when registered, and
``shapecheck explain CODE`` prints the same pages.
"""

from __future__ import annotations

import pathlib
import sys

from shapecheck._core._diag import CODES

from . import rule_classes
from ._common import clean_doc

_FAMILIES = (
    ("SHP0", "Annotations and suppressions"),
    ("SHP1", "Shape errors"),
    ("SHP2", "Attention"),
    ("SHP3", "Convolution"),
    ("SHP4", "Loss layout"),
    ("SHP9", "Internal errors and skipped files"),
)


def render() -> str:
    rules = {c.code: c for c in rule_classes()}  # importing the rules registers their codes
    codes = sorted(CODES.values(), key=lambda c: c.code)
    out = ["# Diagnostic codes", "",
           "Generated from `shapecheck/_core/_codedocs.py` and the rules' docstrings by "
           "`python -m shapecheck.rules._gendocs`; do not edit.",
           "`shapecheck explain CODE` prints the same text. A code marked *opt-in* is reported only when",
           "selected by its code or name (`--select`, `--extend-select`, or `select`/`extend-select` in",
           "`[tool.shapecheck]`); a prefix such as `SHP0` or `ALL` does not select it.", "",
           "| code | name | summary | severity | default | fix |", "|---|---|---|---|---|---|"]
    for c in codes:
        out.append(f"| {c.code} | `{c.name}` | {c.summary} | {c.severity} | {'on' if c.default else '*opt-in*'} "
                   f"| {'yes' if c.fixable else ''} |")
    for prefix, title in _FAMILIES:
        out += ["", f"## {title}"]
        for c in codes:
            if not c.code.startswith(prefix):
                continue
            rule = rules.get(c.code)
            if rule is not None:
                doc = clean_doc(rule.__doc__ or "")
                first, _, rest = doc.partition("\n")
                lead = f"*{c.summary}.* {first}"
            else:
                lead, rest = f"*{c.summary}.*", "\n" + c.doc
            rest = rest.replace("\n## ", "\n#### ")
            out += ["", f"### {c.code} `{c.name}`", "", lead, rest.rstrip()]
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
