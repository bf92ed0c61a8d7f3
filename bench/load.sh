#!/usr/bin/env bash
# Load: 200 concurrent clients for 60 s mixing logins, token exchanges, Hub API reads and
# writes, pushes and pulls against one Wharf (release build), on SQLite and then on
# PostgreSQL when WHARF_TEST_DATABASE_URL is set. It is the integration test
# tests/it/load.rs at full size; CI runs the same test small (50 clients, 10 s).
#
#   bench/load.sh [CLIENTS=200] [SECONDS=60]
#
# Prints, per backend: requests per second, errors (must be 0), 429s, p50/p99 latency per
# kind of request, and the server's RSS at the start and its peaks in each half of the run
# (the test fails if the second half needs much more memory than the first).
set -euo pipefail
cd "$(dirname "$0")/.."

export WHARF_LOAD_CLIENTS="${1:-${CLIENTS:-200}}"
export WHARF_LOAD_SECONDS="${2:-${SECONDS_:-60}}"
echo "load: $(nproc) cores, $(date -u +%FT%TZ), $WHARF_LOAD_CLIENTS clients, $WHARF_LOAD_SECONDS s" >&2
cargo test --release --test it -- load:: --nocapture --test-threads 1 2>&1 \
  | grep -E '^load:|^test load|panicked|test result'
