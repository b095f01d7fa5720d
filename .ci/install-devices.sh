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
if [ ${#missing[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
