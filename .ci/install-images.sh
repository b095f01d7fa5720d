#!/usr/bin/env bash
# System packages for the thumbnail tests and benchmark: Debian's nginx (the
# real web server the fetcher is tested against) and curl (the benchmark's
# peer).  Idempotent: installs only what is missing.  CI runs as root.
set -euo pipefail
missing=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v curl >/dev/null 2>&1 || missing+=(curl)
if [ ${#missing[@]} -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
fi
# Debian's package starts a system nginx on port 80; the tests start their own.
if command -v systemctl >/dev/null 2>&1; then systemctl stop nginx >/dev/null 2>&1 || true; fi
