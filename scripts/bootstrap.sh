# Sourced by the other scripts: make sure a virtual environment with wfdsl and
# its development tools exists, and put it first on PATH.
#   WFDSL_VENV    where the environment lives (default: .venv in the checkout)
#   WFDSL_INSTALL "editable" (default: edits are live) or "wheel" (test exactly
#                 what `pip install` ships, as CI does)
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
VENV=${WFDSL_VENV:-$ROOT/.venv}
MODE=${WFDSL_INSTALL:-editable}
PY=${PYTHON:-python3}

if [ ! -x "$VENV/bin/python" ]; then
    echo "==> creating $VENV" >&2
    "$PY" -m venv "$VENV"
    "$VENV/bin/python" -m pip install --quiet --upgrade pip
fi
stamp="$VENV/.wfdsl-installed-$MODE"
if [ "$MODE" = wheel ] || [ ! -f "$stamp" ] || [ "$ROOT/pyproject.toml" -nt "$stamp" ]; then
    echo "==> installing wfdsl ($MODE) and its dev tools into $VENV" >&2
    if [ "$MODE" = wheel ]; then
        "$VENV/bin/python" -m pip install --quiet "$ROOT[dev]"
    else
        "$VENV/bin/python" -m pip install --quiet -e "$ROOT[dev]"
    fi
    touch "$stamp"
fi
export PATH="$VENV/bin:$PATH"
cd "$ROOT"
