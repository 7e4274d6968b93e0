#!/usr/bin/env bash
# PostgreSQL restarted (immediate mode) during load (issue 9). Needs root and the machine's PostgreSQL:
# it restarts the real cluster, so run it alone (not during the test suite).
#   bash scripts/faults/pg-restart.sh
set -euo pipefail
cd "$(dirname "$0")/../.."
exec node scripts/faults/pg-restart.mjs "$@"
