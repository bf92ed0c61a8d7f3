# Shared by the benchmarks that start Wharf on their own (hub-tags.sh, hub-repos.sh, auditlog.sh,
# startup.sh, upload.sh); sourced, not run. The Hub benchmarks also use its last two parts, the
# load and the stores (they read their settings with hub-settings.sh before this).
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

# ---- the server under load (Hub benchmarks) ---------------------------------------------------
# STORE: the arguments that select the store of the current run (data dir, database URL);
# SERVE_FLAGS: extra flags of `wharf serve` for this benchmark.
STORE=() SERVE_FLAGS=()

wait_ready() { # PID: until /healthz answers 200; fail if the process dies or 60 s pass
    local pid=$1 i
    for ((i = 0; i < 600; i++)); do
        kill -0 "$pid" 2>/dev/null || { tail -20 "$WORK/logs/wharf.log" >&2; die "Wharf exited at start"; }
        [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$HOST/healthz" || true) == 200 ]] && return 0
        sleep 0.1
    done
    tail -20 "$WORK/logs/wharf.log" >&2
    die "Wharf did not answer /healthz within 60 s"
}
# Without a request limit (the per-client 1000 a minute would answer most of the load with
# 429) and with tokens that outlive the run.
start_wharf() {
    # Nothing may answer on the port before this server does: a leftover one would be measured.
    [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "http://$HOST/healthz" || true) == 000 ]] ||
        die "something already answers on $HOST"
    "$WHARF" "${STORE[@]}" serve --listen "$HOST" --rate-limit 0 --token-ttl 3600 --registry-token-ttl 3600 \
        "${SERVE_FLAGS[@]}" >>"$WORK/logs/wharf.log" 2>&1 &
    WHARF_PID=$!
    wait_ready "$WHARF_PID"
}
stop_wharf() { stop "$WHARF_PID"; WHARF_PID=''; }

# login USER: prints a Hub session token for USER (password PASSWORD).
login() {
    local answer
    answer=$(curl -sS --max-time 30 -H 'Content-Type: application/json' \
        -d "{\"username\": \"$1\", \"password\": \"$PASSWORD\"}" "http://$HOST/v2/users/login") ||
        die "cannot reach the login endpoint"
    python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])' <<<"$answer" ||
        die "no token in the login answer: $answer"
}

to_ms() { awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) printf "%.3f", v / 1000; else if (v ~ /ms$/) printf "%.3f", v + 0;
    else if (v ~ /m$/) printf "%.3f", v * 60000; else if (v ~ /s$/) printf "%.3f", v * 1000; else print "n/a" }'; }

# settle: wait (at most 120 s) until Wharf uses less than a tenth of a core, so that requests
# of the previous load run that were still being served when wrk stopped do not slow the next.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$WHARF_PID/stat"; }
settle() {
    local i a b
    for ((i = 0; i < 120; i++)); do
        a=$(cpu_ticks); sleep 1; b=$(cpu_ticks)
        (((b - a) * 10 < $(getconf CLK_TCK))) && return 0
    done
    log "Wharf still busy after 120 s"
}

# load_query KEY LABEL PATH AUTH_HEADER CHECK...: checks one GET of PATH (status 200, and the
# command CHECK... given the body's file prints nothing), then loads it with wrk from this
# second process. A slow query runs longer than WRK_SECONDS: 2 x WRK_CONNS x the time of its
# one checked request, at most WRK_MAX_SECONDS, so that each connection completes a few
# requests. Sets R[KEY] (requests/s), R[KEY_p99] (ms) and R[KEY_s] (seconds of load), FAIL
# and FAILED=1 when something failed. Needs R, FAILED and the WRK_* settings.
load_query() {
    local key=$1 label=$2 path=$3 auth=$4 code problems out rps p50 p99 bad errors t0 t1 seconds done
    shift 4
    local url=http://$HOST$path body=$WORK/logs/$key.json
    R[$key]=FAIL R[${key}_p99]=FAIL
    settle
    t0=$(now)
    code=$(curl -sS --max-time 60 -o "$body" -w '%{http_code}' -H "$auth" "$url" || echo 000)
    t1=$(now)
    if [[ $code != 200 ]]; then
        log "$label: GET $path answered $code: $(head -c 300 "$body" 2>/dev/null)"; FAILED=1; return 0
    fi
    problems=$("$@" "$body")
    if [[ -n $problems ]]; then
        log "$label: GET $path: $problems"; FAILED=1; return 0
    fi
    seconds=$(awk -v t="$(calc "$t1 - $t0" 3)" -v c="$WRK_CONNS" -v lo="$WRK_SECONDS" -v hi="$WRK_MAX_SECONDS" \
        'BEGIN { d = int(2 * t * c + 0.999); if (d < lo) d = lo; if (d > hi) d = hi; print d }')
    R[${key}_s]=$seconds
    log "$label: GET $path: 200, checked (one request: $(calc "($t1 - $t0) * 1000") ms); wrk for $seconds s"
    if ! out=$(wrk -t "$WRK_THREADS" -c "$WRK_CONNS" -d "${seconds}s" --timeout 60s --latency \
        -H "$auth" "$url" 2>&1); then
        log "$label: wrk failed: $out"; FAILED=1; return 0
    fi
    printf '%s\n' "$out" >"$WORK/logs/$key.wrk"
    rps=$(awk '/^Requests\/sec:/ { printf($2 < 10 ? "%.1f" : "%.0f", $2) }' <<<"$out")
    p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
    p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
    bad=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' <<<"$out")
    errors=$(awk '/Socket errors:/ { for (i = 3; i <= NF; i++) s += $i } END { print s + 0 }' <<<"$out")
    done=$(awk '/ requests in / { print $1 }' <<<"$out")
    [[ -n $rps && ${done:-0} -gt 0 ]] || { log "$label: the load run completed no request"; FAILED=1; return 0; }
    log "$label: $rps req/s, p50 $p50 ms, p99 $p99 ms ($done requests in $seconds s), non-200 ${bad:-0}, socket errors ${errors:-0}"
    ((done >= 4 * WRK_CONNS)) || log "$label: only $done requests: few samples for a p99"
    if [[ ${bad:-0} != 0 || ${errors:-0} != 0 ]]; then
        log "$label: the load run had failed requests; its figures are not reported"; FAILED=1; return 0
    fi
    R[$key]=$rps R[${key}_p99]=$p99
}

# ---- the stores of the runs (Hub benchmarks) ------------------------------------------------
# fresh_store BACKEND SIZE [ORG]: a new, empty store for one run: sets DATA, STORE (and PG_DB,
# a new database, on PostgreSQL), then creates the user alice (password PASSWORD) and, when
# ORG is given, the organization ORG owned by alice, with `wharf admin`.
fresh_store() {
    local backend=$1 size=$2 org=${3:-}
    DATA=$WORK/data-$backend-$size
    if [[ $backend == sqlite ]]; then
        STORE=(--data-dir "$DATA")
    else
        PG_DB=wharf_${BENCH_NAME//-/_}_$$_$size
        psql -X -q -v ON_ERROR_STOP=1 "$PG_URL/postgres" -c "CREATE DATABASE \"$PG_DB\"" >/dev/null ||
            die "cannot create the database $PG_DB"
        STORE=(--data-dir "$DATA" --database-url "$PG_URL/$PG_DB")
    fi
    printf '%s\n' "$PASSWORD" | "$WHARF" "${STORE[@]}" admin user create alice --email alice@example.com --password-stdin \
        >>"$WORK/logs/admin.log" 2>&1 || { tail -20 "$WORK/logs/admin.log" >&2; die "cannot create the user 'alice'"; }
    if [[ -n $org ]]; then
        "$WHARF" "${STORE[@]}" admin org create "$org" --owner alice >>"$WORK/logs/admin.log" 2>&1 ||
            { tail -20 "$WORK/logs/admin.log" >&2; die "cannot create the organization '$org'"; }
    fi
}

# release_store LABEL: after a run, removes its store, or keeps it (KEEP=1) and says where.
release_store() {
    if [[ $KEEP == 1 ]]; then
        log "$1: kept $DATA${PG_DB:+ and the database $PG_URL/$PG_DB}"
        PG_DB=''
    else
        drop_pg_db
        rm -rf "$DATA"
    fi
}

# each_backend FN: calls FN BACKEND for every backend of BACKEND_LIST, except PostgreSQL when
# it cannot be reached, which is said and recorded in SKIPPED.
declare -A SKIPPED=()
each_backend() {
    local backend
    for backend in "${BACKEND_LIST[@]}"; do
        if [[ $backend == postgres ]]; then
            if ! command -v psql >/dev/null; then
                log "psql is not installed: skipping PostgreSQL"; SKIPPED[postgres]=1; continue
            fi
            if ! psql -X -q "$PG_URL/postgres" -c 'SELECT 1' >/dev/null 2>"$WORK/logs/pg-check.log"; then
                log "PostgreSQL at $PG_URL is unreachable ($(head -1 "$WORK/logs/pg-check.log")): skipping PostgreSQL"
                SKIPPED[postgres]=1; continue
            fi
        fi
        "$1" "$backend"
    done
}
