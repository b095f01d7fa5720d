#!/usr/bin/env bash
# The reading systems of tests/test_devices_calibre.py and tests/test_devices_epubjs.py:
# Debian's calibre (ebook-convert, the closest converter to Amazon's that can be run),
# fonts-nanum (NanumGothic, the font tests/test_devices_fonts.py embeds) and
# epub.js (npm) for headless Chromium, installed outside the repository.
# Idempotent: installs only what is missing.  CI runs as root.
set -euo pipefail
missing=()
command -v ebook-convert >/dev/null 2>&1 || missing+=(calibre)
[ -f /usr/share/fonts/truetype/nanum/NanumGothic.ttf ] || missing+=(fonts-nanum)
# DejaVu Sans carries an FFTM table that fontTools drops, saying so (tests/test_hostile_five_b.py).
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
if [ ${#missing[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi

# epub.js (and the JSZip it opens .epub files with), for tests/test_devices_epubjs.py, run in
# Debian's Chromium by the puppeteer that .ci/install-ace.sh installs.
EPUBJS_VERSION=0.3.93  # tests/test_devices_epubjs.py EPUBJS_VERSION
JSZIP_VERSION=3.10.1
epubjs_dir="${DIGEST_EXPORT_EPUBJS_DIR:-$HOME/.cache/digest-export-epubjs}"
if ! grep -q "\"version\": \"$EPUBJS_VERSION\"" "$epubjs_dir/node_modules/epubjs/package.json" 2>/dev/null \
        || ! grep -q "\"version\": \"$JSZIP_VERSION\"" "$epubjs_dir/node_modules/jszip/package.json" 2>/dev/null; then
    mkdir -p "$epubjs_dir"
    npm install --prefix "$epubjs_dir" --ignore-scripts --no-audit --no-fund --loglevel=error \
        "epubjs@$EPUBJS_VERSION" "jszip@$JSZIP_VERSION"
fi
