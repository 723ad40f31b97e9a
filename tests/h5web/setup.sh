#!/usr/bin/env bash
# The H5Web test harness (tests/test_h5web.py): H5Web with h5wasm from the npm registry, bundled by esbuild
# into tests/h5web/dist; headless Chromium from Debian's packages; Python playwright from PyPI into the active
# Python, driving the system Chromium (no browser download). Everything stays inside the clone
# (node_modules, the npm cache, dist). Without root or network the harness is not built and the test skips.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
started=$SECONDS
if ! command -v chromium >/dev/null; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
    else
        echo "h5web setup: no chromium and no root to install it; the H5Web test will skip" >&2
    fi
fi
python -m pip install --quiet "playwright>=1.40"
cd "$here"
npm ci --no-audit --no-fund --loglevel=error --cache "$here/.npm-cache"
node_modules/.bin/esbuild src/main.jsx --bundle --minify --outdir=dist --log-level=warning \
    --define:process.env.NODE_ENV='"production"'
echo "h5web setup: $((SECONDS - started)) s"
