#!/usr/bin/env bash
# Audit log benchmark: how fast Wharf answers GET /v2/auditlogs/{org} for an organization
# whose log holds many events, unfiltered and with each kind of filter, on SQLite and on
# PostgreSQL.
#
#   bench/auditlog.sh [EVENTS=1000000] [KEY=VALUE ...]
#
# The first argument may also be a bare event count (`bench/auditlog.sh 100000`).
# Keys, also read from the environment:
#   EVENTS=1000000    events in the organization's log; a multiple of 100, at least 100000
#                     (so that every query below has a full page)
#   BACKENDS=sqlite,postgres   which metadata stores to measure
#   PG_URL=postgres://postgres@127.0.0.1:5432   the PostgreSQL server (no database name): a
#                     fresh database is created for the run and dropped afterwards. When it
#                     cannot be reached the PostgreSQL run is skipped, with a message.
#   WRK_SECONDS=5 WRK_THREADS=2 WRK_CONNS=16   the load of each query
#   WRK_MAX_SECONDS=60   a slow query runs longer than WRK_SECONDS: 2 x WRK_CONNS x the time
#                     of its one checked request, so that each connection completes a few
#                     requests, but at most this long
#   BUILD=1           0: use the existing target/release/wharf instead of building it
#   KEEP=0            1: keep the work directory (data dir, logs, wrk output) and the
#                     PostgreSQL database, and print where they are
#
# What it does, per backend: creates the user `alice` and the organization `acme` (owner
# alice) with `wharf admin`, then inserts EVENTS rows for the account `acme` straight into
# audit_events: event i (0 = newest) has the action number i mod 8 of repo.tag.push,
# repo.create, repo.update, repo.delete, repo.tag.delete, org.team.create, org.member.add,
# org.member.remove; the name acme/repo(i mod 50); the actor bench-user(i mod 10) — except
# one event in 4,000 (i mod 4000 = 5), the rare one: action org.settings.update, actor
# bench-rare; data
# {"tag":"v1","digest":"sha256:…"}; and created_at i steps older than the start of the run,
# the events spread evenly over 100 days. Then it starts Wharf, logs alice in
# (POST /v2/users/login, Bearer token), checks each query once with curl (status 200, 25
# results, each matching the filter) and runs wrk on it:
#   page1   GET /v2/auditlogs/acme?page=1&page_size=25
#   action  GET /v2/auditlogs/acme?action=repo.tag.push&page_size=25         (1 event in 8)
#   actor   GET /v2/auditlogs/acme?actor=bench-user7&page_size=25            (1 event in 10)
#   window  GET /v2/auditlogs/acme?from=…&to=…&page_size=25   (one day in the middle: 1%)
#   rareaction  GET /v2/auditlogs/acme?action=org.settings.update&page_size=25  (1 in 4,000)
#   rareactor   GET /v2/auditlogs/acme?actor=bench-rare&page_size=25            (1 in 4,000)
#   deep    GET /v2/auditlogs/acme?page=400&page_size=25                     (offset 9975)
# Before each query it waits until Wharf is idle, so that requests of the previous load run
# still being served do not slow the next one.
# Wharf runs with --rate-limit 0 and --audit-rate-limit 0: the per-client limit (1000
# requests per minute) and the per-caller audit query limit (60 per minute) would otherwise
# answer most of the load with 429.
# Prints a table and, last, one line of key=value pairs. Exits non-zero if a check or a load
# run fails.
set -euo pipefail

# ---- settings -----------------------------------------------------------------------------
# shellcheck source=bench/hub-settings.sh
source "$(dirname "${BASH_SOURCE[0]}")/hub-settings.sh"
SIZE_KEY=EVENTS EVENTS=${EVENTS:-1000000}
hub_settings "$@"
[[ $EVENTS =~ ^[0-9]+$ ]] && ((EVENTS >= 100000 && EVENTS % 100 == 0 && EVENTS <= 100000000)) ||
    { echo "EVENTS must be a multiple of 100 from 100000 to 100000000, not '$EVENTS'" >&2; exit 2; }
need wrk curl python3 sqlite3 timeout

BENCH_NAME=auditlog
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
SERVE_FLAGS=(--audit-rate-limit 0)
PASSWORD=bench-$(python3 -c 'import secrets; print(secrets.token_hex(16))')

# ---- the events -----------------------------------------------------------------------------
# Event i (0 = newest) was recorded at T0 - i * STEP microseconds; EVENTS * STEP is 100 days.
T0=$(($(date +%s) * 1000000))
STEP=$((100 * 86400 * 1000000 / EVENTS))
# The window: one day (1% of the time range) in the middle, 49.5 to 50.5 days before T0.
WIN_FROM=$(date -u -d "@$((T0 / 1000000 - 505 * 8640))" +%Y-%m-%dT%H:%M:%SZ)
WIN_TO=$(date -u -d "@$((T0 / 1000000 - 495 * 8640))" +%Y-%m-%dT%H:%M:%SZ)
ACTIONS="'repo.tag.push','repo.create','repo.update','repo.delete','repo.tag.delete','org.team.create','org.member.add','org.member.remove'"
DATA_JSON='{"tag":"v1","digest":"sha256:3f6c2a1e9b0d4c7a8e5f1b2d3c4a5e6f7a8b9c0d1e2f3a4b5c6d7e8f9a0b1c2d"}'

seed_sqlite() { # DB
    sqlite3 -bail "$1" >/dev/null <<EOF
PRAGMA busy_timeout = 10000;
BEGIN;
WITH RECURSIVE seq(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM seq WHERE i < $EVENTS - 1),
     actions(k, a) AS (SELECT key, value FROM json_each('[${ACTIONS//\'/\"}]'))
INSERT INTO audit_events (account, action, name, actor, credential, data, created_at)
SELECT 'acme', CASE WHEN seq.i % 4000 = 5 THEN 'org.settings.update' ELSE actions.a END,
       'acme/repo' || (seq.i % 50),
       CASE WHEN seq.i % 4000 = 5 THEN 'bench-rare' ELSE 'bench-user' || (seq.i % 10) END, NULL,
       '$DATA_JSON', $T0 - seq.i * $STEP
FROM seq JOIN actions ON actions.k = seq.i % 8
ORDER BY seq.i DESC;
COMMIT;
ANALYZE;
PRAGMA wal_checkpoint(TRUNCATE);
EOF
}
seed_postgres() {
    psql -X -q -v ON_ERROR_STOP=1 "$PG_URL/$PG_DB" <<EOF
INSERT INTO audit_events (account, action, name, actor, credential, data, created_at)
SELECT 'acme', CASE WHEN i % 4000 = 5 THEN 'org.settings.update' ELSE (ARRAY[$ACTIONS])[i % 8 + 1] END,
       'acme/repo' || (i % 50),
       CASE WHEN i % 4000 = 5 THEN 'bench-rare' ELSE 'bench-user' || (i % 10) END, NULL,
       '$DATA_JSON', $T0 - i * $STEP
FROM generate_series($EVENTS::bigint - 1, 0, -1) AS i;
-- What autovacuum does after an insert of this size, done now so that the plans and the
-- visibility map do not depend on whether it has run yet.
VACUUM ANALYZE audit_events;
EOF
}
count_events() { # backend
    if [[ $1 == sqlite ]]; then
        sqlite3 "$DATA/wharf.db" "SELECT COUNT(*) FROM audit_events WHERE account = 'acme'"
    else
        psql -X -At "$PG_URL/$PG_DB" -c "SELECT COUNT(*) FROM audit_events WHERE account = 'acme'"
    fi
}

# ---- measuring ------------------------------------------------------------------------------
FAILED=0
QUERIES=(page1 action actor window deep rareaction rareactor)
declare -A R # results, keyed "backend.query" and "backend.query_p99"

# check_body FIELD VALUE FROM TO FILE: the body holds exactly 25 events of acme, newest first,
# each with FIELD = VALUE (unless FIELD is empty) and a timestamp within FROM..TO (unless
# empty); prints what is wrong, nothing when all is well.
check_body() {
    python3 - "$@" <<'EOF'
import json, sys
field, value, lo, hi, path = sys.argv[1:6]
try:
    logs = json.load(open(path)).get("logs")
except ValueError as e:
    print("not JSON: %s" % e); sys.exit()
problems = []
if not isinstance(logs, list) or len(logs) != 25:
    problems.append("%s results, not 25" % (len(logs) if isinstance(logs, list) else "no"))
    logs = logs if isinstance(logs, list) else []
if any(e.get("account") != "acme" for e in logs):
    problems.append("an event of another account")
if field and any(e.get(field) != value for e in logs):
    problems.append("an event with %s other than %s" % (field, value))
stamps = [e.get("timestamp", "") for e in logs]
if stamps != sorted(stamps, reverse=True):
    problems.append("not newest first")
if lo and any(not (lo <= s[:19] + "Z" <= hi) for s in stamps):
    problems.append("an event outside %s .. %s" % (lo, hi))
print("; ".join(problems))
EOF
}

# measure BACKEND QUERY PATH FIELD VALUE FROM TO: one query, loaded (see load_query in lib.sh)
measure() {
    load_query "$1.$2" "$1 $2" "$3" "Authorization: Bearer $SESSION" check_body "$4" "$5" "$6" "$7"
}

# run BACKEND: one fresh store, seeded with EVENTS events, measured
run() {
    local backend=$1 t0 t1 got
    fresh_store "$backend" "$EVENTS" acme

    log "$backend: inserting $EVENTS audit events"
    t0=$(now)
    if [[ $backend == sqlite ]]; then
        seed_sqlite "$DATA/wharf.db" || die "$backend: seeding failed"
    else
        seed_postgres || die "$backend: seeding failed"
    fi
    t1=$(now)
    got=$(count_events "$backend")
    # The admin commands may have logged a few events of their own for acme.
    ((got >= EVENTS && got < EVENTS + 100)) || die "$backend: acme has $got events after seeding, not $EVENTS"
    R[$backend.seed_s]=$(calc "$t1 - $t0")
    log "$backend: seeded in ${R[$backend.seed_s]} s ($got events of acme)"

    start_wharf
    SESSION=$(login alice)

    local base=/v2/auditlogs/acme
    measure "$backend" page1 "$base?page=1&page_size=25" "" "" "" ""
    measure "$backend" action "$base?action=repo.tag.push&page_size=25" action repo.tag.push "" ""
    measure "$backend" actor "$base?actor=bench-user7&page_size=25" actor bench-user7 "" ""
    measure "$backend" window "$base?from=$WIN_FROM&to=$WIN_TO&page_size=25" "" "" "$WIN_FROM" "$WIN_TO"
    measure "$backend" deep "$base?page=400&page_size=25" "" "" "" ""
    measure "$backend" rareaction "$base?action=org.settings.update&page_size=25" action org.settings.update "" ""
    measure "$backend" rareactor "$base?actor=bench-rare&page_size=25" actor bench-rare "" ""
    stop_wharf
    release_store "$backend"
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
log "Wharf on $HOST, work dir $WORK; $(nproc) cores, load average $LOAD_START"
log "load: wrk ${WRK_SECONDS} s, $WRK_THREADS threads, $WRK_CONNS connections per query"
each_backend run

# ---- report -----------------------------------------------------------------------------------
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
echo
echo "Audit log: $EVENTS events, wrk -t$WRK_THREADS -c$WRK_CONNS for ${WRK_SECONDS}-${WRK_MAX_SECONDS} s per query," \
    "page size 25; $(nproc) cores; load average $LOAD_START -> $LOAD_END"
printf '%-9s %7s' backend seed_s
for q in "${QUERIES[@]}"; do printf '   %8s %8s' "$q r/s" "p99 ms"; done
echo
kv="events=$EVENTS wrk_seconds=$WRK_SECONDS wrk_max_seconds=$WRK_MAX_SECONDS wrk_threads=$WRK_THREADS wrk_conns=$WRK_CONNS"
for backend in "${BACKEND_LIST[@]}"; do
    if [[ -n ${SKIPPED[$backend]:-} ]]; then
        printf '%-9s skipped (unreachable)\n' "$backend"; kv+=" ${backend}=skipped"; continue
    fi
    printf '%-9s %7s' "$backend" "${R[$backend.seed_s]:-n/a}"
    kv+=" ${backend}_seed_s=${R[$backend.seed_s]:-n/a}"
    for q in "${QUERIES[@]}"; do
        printf '   %8s %8s' "${R[$backend.$q]:-n/a}" "${R[$backend.${q}_p99]:-n/a}"
        kv+=" ${backend}_$q=${R[$backend.$q]:-n/a} ${backend}_${q}_p99=${R[$backend.${q}_p99]:-n/a}"
        kv+=" ${backend}_${q}_s=${R[$backend.${q}_s]:-n/a}"
    done
    echo
done
kv+=" nproc=$(nproc) load1_start=${LOAD_START%% *} load1_end=${LOAD_END%% *} failed=$FAILED"
echo "$kv"
exit "$FAILED"
