#!/usr/bin/env bash
# Install shapecheck with its test dependencies and run the whole test suite.
# torch==2.13.0 first: it is the local CPU build here, and the project's ranges accept it.
set -euo pipefail
cd "$(dirname "$0")/.."
python -m pip install -q "torch==2.13.0"
python -m pip install -q -e ".[test]"
python -m pytest -n 2 -q "$@"
