#!/usr/bin/env bash
# What tests/test_site_clients.py needs beyond Python: Readium's r2-opds-js
# (the OPDS parser of Thorium Reader) from npm, installed outside the
# repository in $DIGEST_EXPORT_OPDS_DIR (default ~/.cache/digest-export-opds).
# Idempotent: installed only when missing.
set -euo pipefail
R2_OPDS_VERSION=1.0.47  # tests/test_site_clients.py R2_OPDS_VERSION
opds_dir="${DIGEST_EXPORT_OPDS_DIR:-$HOME/.cache/digest-export-opds}"

if ! command -v node >/dev/null 2>&1; then
    apt-get update -q
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q nodejs npm >/dev/null
fi

installed="$opds_dir/node_modules/r2-opds-js/package.json"
if ! grep -q "\"version\": \"$R2_OPDS_VERSION\"" "$installed" 2>/dev/null; then
    mkdir -p "$opds_dir"
    # --ignore-scripts: its postinstall runs rimraf, a development tool it
    # does not depend on.
    npm install --prefix "$opds_dir" --ignore-scripts --no-audit --no-fund --loglevel=error \
        "r2-opds-js@$R2_OPDS_VERSION"
fi
