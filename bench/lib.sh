# Shared by the Hub benchmarks (bench/hub-tags.sh, bench/auditlog.sh); sourced, not run.
# Expects ROOT, BUILD, KEEP, PG_URL, BENCH_NAME and the functions log and die. Builds Wharf
# (unless BUILD=0), makes the work directory WORK, sets up cleanup of the server (WHARF_PID)
# and of the PostgreSQL database (PG_DB) on exit, picks a free loopback HOST, and clears the
# caller's WHARF_* variables.

# ---- build --------------------------------------------------------------------------------
WHARF=${CARGO_TARGET_DIR:-$ROOT/target}/release/wharf
if ((BUILD == 1)); then
    log "building Wharf (cargo build --release)"
    cargo build --release >&2
fi
[[ -x $WHARF ]] || die "no binary at $WHARF"

# ---- work directory, server, cleanup -----------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/wharf-$BENCH_NAME.XXXXXX")
mkdir -p "$WORK/logs"
WHARF_PID='' PG_DB=''

stop() { # PID: TERM, then KILL if it lingers
    local pid=$1 i
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
    kill "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
drop_pg_db() {
    [[ -n $PG_DB ]] || return 0
    psql -X -q "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS \"$PG_DB\" WITH (FORCE)" >/dev/null 2>&1 ||
        log "could not drop the database $PG_DB"
    PG_DB=''
}
cleanup() {
    local rc=$?
    stop "$WHARF_PID"
    drop_pg_db
    if [[ $KEEP == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

PORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
HOST=127.0.0.1:$PORT

# Wharf runs with the configuration given here and nothing else: WHARF_* variables from the
# caller's environment would silently change what is measured.
for var in $(compgen -e); do
    if [[ $var == WHARF_* ]]; then unset "$var"; fi
done
