#!/usr/bin/env bash
# A real feed reader for tests/test_feeds_newsboat.py: Debian's newsboat.
# Idempotent: installs only when missing.  CI runs as root.
set -euo pipefail
if ! command -v newsboat >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends newsboat >/dev/null
fi
