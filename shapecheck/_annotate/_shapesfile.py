"""The shapes file: what ``shapecheck trace`` recorded, read by ``shapecheck annotate``.

Format (JSON, documented in docs/annotate.md)::

    {"format": "shapecheck-shapes", "version": 1,
     "command": ["python", "train.py"], "exit_code": 0, "max_calls": 10,
     "files": {"model.py": {"sha256": "<hex of the file's bytes>",
                            "functions": {"Block.forward": {"line": 12, "calls": [CALL, ...]}}}}}

File names are relative to the directory the shapes file's ``root`` names (the directory trace ran
in), with ``/`` separators. A CALL is ``{"args": {NAME: VALUE}, "return": VALUE, "ints": {...}}``;
a VALUE is ``{"dtype": "float32", "shape": [2, 8]}``, ``{"int": 8}``, ``{"none": true}``,
``{"kind": "tuple"|"list", "items": [VALUE|null, ...]}`` or ``{"dict": {KEY: VALUE|null}}``;
``ints`` holds the instance's int attributes for a method (``"self.config.n_embd": 48``).
"""

from __future__ import annotations

import hashlib
import json
import os

FORMAT = "shapecheck-shapes"
VERSION = 1
DEFAULT_PATH = os.path.join(".shapecheck", "shapes.json")

__all__ = ["FORMAT", "VERSION", "DEFAULT_PATH", "ShapesFileError", "file_hash", "load", "dump"]


class ShapesFileError(Exception):
    """A shapes file that cannot be used; the message says why and what to do."""


def file_hash(path: str) -> str:
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def load(path: str) -> dict:
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except FileNotFoundError:
        raise ShapesFileError(f"no shapes file {path} (record one with `shapecheck trace -- python ...`)") from None
    except OSError as e:
        raise ShapesFileError(f"cannot read {path}: {e.strerror or e}") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise ShapesFileError(f"{path} is not a shapes file (invalid JSON: {e})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ShapesFileError(f"{path} is not a shapes file (no \"format\": \"{FORMAT}\")")
    version = data.get("version")
    if version != VERSION:
        raise ShapesFileError(f"{path} is a shapes file of version {version!r}; this shapecheck reads version "
                              f"{VERSION} (record it again with `shapecheck trace`)")
    files = data.get("files")
    if not isinstance(files, dict) or not all(
            isinstance(v, dict) and isinstance(v.get("functions"), dict) and isinstance(v.get("sha256"), str)
            for v in files.values()):
        raise ShapesFileError(f"{path} is a damaged shapes file (\"files\" is not as documented)")
    for rel, entry in files.items():
        for qual, fn in entry["functions"].items():
            if not isinstance(fn, dict) or not isinstance(fn.get("calls"), list) or \
                    not all(_valid_call(c) for c in fn["calls"]):
                raise ShapesFileError(f"{path} is a damaged shapes file (calls of {rel}:{qual})")
    return data


def _is_int(v) -> bool:
    return type(v) is int


def _valid_value(v, depth: int = 0) -> bool:
    if v is None:
        return True
    if not isinstance(v, dict) or depth > 8:
        return False
    if "dtype" in v:
        return isinstance(v["dtype"], str) and isinstance(v.get("shape"), list) and \
            all(_is_int(x) and x >= 0 for x in v["shape"])
    if "int" in v:
        return _is_int(v["int"])
    if "none" in v:
        return True
    if "items" in v:
        return v.get("kind") in ("tuple", "list") and isinstance(v["items"], list) and \
            all(_valid_value(i, depth + 1) for i in v["items"])
    if "dict" in v:
        return isinstance(v["dict"], dict) and all(_valid_value(i, depth + 1) for i in v["dict"].values())
    return False


def _valid_call(c) -> bool:
    if not isinstance(c, dict):
        return False
    args = c.get("args", {})
    if not isinstance(args, dict) or not all(_valid_value(v) for v in args.values()):
        return False
    if "return" in c and not _valid_value(c["return"]):
        return False
    for key in ("ints", "caller"):
        ints = c.get(key, {})
        if not isinstance(ints, dict) or not all(_is_int(v) for v in ints.values()):
            return False
    return True


def dump(data: dict, path: str) -> None:
    """Write ``data`` to ``path`` atomically (a temporary file in the same folder, then a rename)."""
    from .._lint._fixes import replace_file

    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    replace_file(path, (json.dumps(data, separators=(",", ":")) + "\n").encode("utf-8"), prefix=".shapes-")
