#!/usr/bin/env bash
# What tests/test_epub_ace.py needs beyond Python: Chromium (Debian's
# package) and Ace by DAISY from npm, installed outside the repository in
# $DIGEST_EXPORT_ACE_DIR (default ~/.cache/digest-export-ace).  Idempotent:
# each is installed only when missing.  Run as root (CI) for apt-get.
set -euo pipefail
ACE_VERSION=1.4.6  # tests/ace_check.py ACE_VERSION
ace_dir="${DIGEST_EXPORT_ACE_DIR:-$HOME/.cache/digest-export-ace}"

if ! command -v chromium >/dev/null 2>&1; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium >/dev/null
fi

installed="$ace_dir/node_modules/@daisy/ace/package.json"
if ! grep -q "\"version\": \"$ACE_VERSION\"" "$installed" 2>/dev/null; then
    mkdir -p "$ace_dir"
    # --ignore-scripts: Ace's desktop runner (Electron) and puppeteer's own
    # browser would be downloaded by install scripts; the tests use
    # ace-core with the puppeteer runner and Debian's Chromium.
    npm install --prefix "$ace_dir" --ignore-scripts --no-audit --no-fund --loglevel=error \
        "@daisy/ace@$ACE_VERSION"
fi
