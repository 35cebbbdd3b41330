#!/usr/bin/env bash
# make lock: pin every Python package of wanka's virtualenv (runtime, test and lint extras,
# pip, setuptools and the build backend too) into requirements/constraints.txt, which
# `make setup` installs with.
# Resolves afresh: a new temporary virtualenv, newest pip, `pip install -e '.[test]'` with no
# constraints, then `pip freeze --all --exclude-editable` (wanka itself is the editable one).
# Usage: scripts/lock.sh [PYTHON [OUT]]
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${1:-python3}
OUT=${2:-requirements/constraints.txt}
tmp=$(mktemp -d /tmp/wanka-lock.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
"$PYTHON" -m venv "$tmp/venv"
"$tmp/venv/bin/pip" install --quiet --upgrade pip
"$tmp/venv/bin/pip" install --quiet -e '.[test]'
# the build backend pip builds wanka with (pyproject's build-system requires), pinned too
backend=$("$PYTHON" -c 'import tomllib; print(*tomllib.load(open("pyproject.toml", "rb"))["build-system"]["requires"])')
# shellcheck disable=SC2086 # one word per requirement
"$tmp/venv/bin/pip" install --quiet $backend
py=$("$tmp/venv/bin/python" -c 'import platform; print(platform.python_version(), platform.system(), platform.machine())')
{
  cat <<HEADER
# Exact versions of every Python package in wanka's virtualenv: runtime dependencies, the test
# and lint extras (pyproject.toml), pip, setuptools and the build backend (hatchling).
# \`make setup\` installs with this file as pip's constraints, so every checkout gets the same
# environment.
#
# Made by \`make lock\` (scripts/lock.sh): a fresh temporary virtualenv, the newest pip,
# \`pip install -e '.[test]'\` with no constraints, \`pip freeze --all --exclude-editable\`.
# Resolved on Python $py.
#
# Refresh it when pyproject.toml's dependencies change (a pin that no longer satisfies them makes
# \`make setup\` fail), for a security fix, or to take new releases: \`make lock && make test\`,
# then commit this file with the change. Do not edit the versions by hand.
HEADER
  "$tmp/venv/bin/pip" freeze --all --exclude-editable
} > "$OUT.tmp"
mv "$OUT.tmp" "$OUT"
echo "make lock: $(grep -c '==' "$OUT") packages pinned in $OUT"
