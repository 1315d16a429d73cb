#!/usr/bin/env bash
# The test command: the whole suite, then the static checks (ruff, mypy, the
# import contracts). Extra arguments
# go to pytest (e.g. scripts/test.sh -x -k lint).
source "$(dirname "$0")/bootstrap.sh"

if [ -z "${WFDSL_PG_DSN:-}" ]; then
    echo "note: WFDSL_PG_DSN is not set; PostgreSQL tests will be skipped" >&2
    echo "      (run them with WFDSL_PG_DSN=postgresql://postgres@127.0.0.1:5432/test)" >&2
fi
echo "==> pytest" >&2
pytest "$@"
echo "==> ruff check" >&2
ruff check wfdsl tests benchmarks examples
echo "==> ruff format --check" >&2
ruff format --check wfdsl tests benchmarks examples
echo "==> mypy --strict wfdsl" >&2
mypy --strict wfdsl
echo "==> lint-imports (the stages of docs/architecture.md)" >&2
lint-imports --no-logo
