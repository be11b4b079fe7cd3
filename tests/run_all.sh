#!/usr/bin/env bash
# Everything the tests need, then the tests: the README's test command, and what CI runs on a clean checkout.
#   1. Chromium for the browser test of the course site (Debian / Ubuntu: apt-get; elsewhere install it yourself,
#      or the browser test is skipped with the reason);
#   2. a virtual environment in .venv with the course and its test extra (pytest, nbval, playwright);
#   3. pytest: the unit tests, every ready notebook under nbval at smoke scale, the site in a headless browser.
# Extra arguments go to pytest, e.g. `bash tests/run_all.sh -x tests/test_site.py`.
set -euo pipefail
cd "$(dirname "$0")/.."

require_browser=0
if command -v chromium >/dev/null || command -v chromium-browser >/dev/null; then
    require_browser=1
elif command -v apt-get >/dev/null; then
    sudo=""; [ "$(id -u)" = 0 ] || sudo="sudo"
    if $sudo apt-get install -y -q chromium || { $sudo apt-get update -q && $sudo apt-get install -y -q chromium; }; then
        require_browser=1
    fi
fi
[ "$require_browser" = 1 ] || echo "run_all: no Chromium; the browser test of the site will be skipped" >&2

python3 -m venv .venv
.venv/bin/pip install -e ".[test]"
COURSE_REQUIRE_BROWSER=$require_browser .venv/bin/python -m pytest "$@"
