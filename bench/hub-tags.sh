#!/usr/bin/env bash
# Tag listing benchmark: how fast Wharf lists the tags of a repository that has many of them,
# through the Hub API (first page and last page) and through the registry's tags/list, on
# SQLite and on PostgreSQL.
#
#   bench/hub-tags.sh [TAGS=1000,100000] [KEY=VALUE ...]
#
# The first argument may also be a bare list of sizes (`bench/hub-tags.sh 1000,1000000`).
# Keys, also read from the environment:
#   TAGS=1000,100000  tag counts, comma-separated; each a multiple of 100, at least 200
#                     (1000000 works: seeding takes 20-50 s, the whole run a few minutes)
#   BACKENDS=sqlite,postgres   which metadata stores to measure
#   PG_URL=postgres://postgres@127.0.0.1:5432   the PostgreSQL server (no database name): a
#                     fresh database is created for each size and dropped afterwards. When
#                     it cannot be reached the PostgreSQL runs are skipped, with a message.
#   WRK_SECONDS=5 WRK_THREADS=2 WRK_CONNS=16   the load of each query
#   WRK_MAX_SECONDS=60   a slow query runs longer than WRK_SECONDS: 2 x WRK_CONNS x the time
#                     of its one checked request, so that each connection completes a few
#                     requests, but at most this long
#   BUILD=1           0: use the existing target/release/wharf instead of building it
#   KEEP=0            1: keep the work directory (each run's data dir, logs, wrk output) and
#                     the PostgreSQL databases, and print where they are
#
# What it does, per backend and size N: creates the user `alice` in a fresh store, starts
# Wharf, pushes one small real image (bench/mkimage.py, skopeo) as alice/many:t0000000, stops
# Wharf and inserts tags t0000001 … t(N-1) straight into the store, all pointing at that
# image's manifest, each pushed one second before the previous (so the newest-first order of
# the Hub API is t0000000, t0000001, …, the same as the name order). Then it restarts Wharf,
# checks each query once with curl (status 200, 100 results, the expected first tag, the
# right total), and runs wrk on it:
#   page1  GET /v2/namespaces/alice/repositories/many/tags?page=1&page_size=100
#   deep   GET /v2/namespaces/alice/repositories/many/tags?page=N/100&page_size=100 (the last
#          page: offset N-100; page 1000 for 100,000 tags)
#   list   GET /v2/alice/many/tags/list?n=100&last=t(N-101) (the last 100 names)
# Before each query it waits until Wharf is idle, so that requests of the previous load run
# still being served do not slow the next one.
# The Hub requests carry the session token from POST /v2/users/login, the registry request a
# pull token from /token. Wharf runs with --rate-limit 0: the per-client limit (1000 requests
# per minute by default) would otherwise answer most of the load with 429.
# Prints a table and, last, one line of key=value pairs. Exits non-zero if a check or a load
# run fails.
set -euo pipefail

# ---- settings -----------------------------------------------------------------------------
# shellcheck source=bench/hub-settings.sh
source "$(dirname "${BASH_SOURCE[0]}")/hub-settings.sh"
SIZE_KEY=TAGS TAGS=${TAGS:-1000,100000}
hub_settings "$@"
sizes_in "$TAGS"
need wrk skopeo curl python3 sqlite3 timeout

BENCH_NAME=hub-tags
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
echo '{}' >"$WORK/auth.json" # skopeo must not use credentials stored by someone else
PASSWORD=bench-$(python3 -c 'import secrets; print(secrets.token_hex(16))')

tag_name() { printf 't%07d' "$1"; }

# ---- the image ------------------------------------------------------------------------------
# One small image (one 64 KiB layer); every tag points at its manifest.
DIGEST=$(python3 bench/mkimage.py "$WORK/img" --layers 1 --layer-mb 0.0625 --seed 7 --tag "$(tag_name 0)")

# ---- seeding --------------------------------------------------------------------------------
# The pushed tag t0000000 is the model row: the other tags copy its repository, digest and
# pusher, with names t0000001 … and pushed_at one second older per step. The tag number
# (the Hub API's `id`) comes from the trigger on SQLite and from the identity column on
# PostgreSQL, as for a pushed tag.
seed_sqlite() { # DB N
    sqlite3 -bail "$1" >/dev/null <<EOF
PRAGMA busy_timeout = 10000;
BEGIN;
WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < $2 - 1)
INSERT INTO tags (repository_id, name, digest, pushed_at, pushed_by)
SELECT m.repository_id, printf('t%07d', seq.i), m.digest, m.pushed_at - seq.i * 1000000, m.pushed_by
FROM seq, (SELECT t.* FROM tags t JOIN repositories r ON r.id = t.repository_id
           WHERE r.namespace = 'alice' AND r.name = 'many' AND t.name = 't0000000') m;
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
EOF
}
seed_postgres() { # N
    psql -X -q -v ON_ERROR_STOP=1 "$PG_URL/$PG_DB" <<EOF
INSERT INTO tags (repository_id, name, digest, pushed_at, pushed_by)
SELECT m.repository_id, 't' || lpad(i::text, 7, '0'), m.digest, m.pushed_at - i * 1000000, m.pushed_by
FROM generate_series(1::bigint, $1 - 1) AS i,
     (SELECT t.* FROM tags t JOIN repositories r ON r.id = t.repository_id
      WHERE r.namespace = 'alice' AND r.name = 'many' AND t.name = 't0000000') m;
-- What autovacuum does after an insert of this size, done now so that the plans and the
-- visibility map do not depend on whether it has run yet.
VACUUM ANALYZE tags;
EOF
}
count_tags() { # backend
    if [[ $1 == sqlite ]]; then
        sqlite3 "$DATA/wharf.db" "SELECT COUNT(*) FROM tags"
    else
        psql -X -At "$PG_URL/$PG_DB" -c "SELECT COUNT(*) FROM tags"
    fi
}

# ---- measuring ------------------------------------------------------------------------------
FAILED=0
declare -A R # results, keyed "backend.size.query" and "backend.size.query_p99"

# check_body KIND N EXPECTED_FIRST FILE: the body holds exactly 100 tags, the first EXPECTED_FIRST,
# and (Hub) a count of N; prints what is wrong, nothing when all is well.
check_body() {
    python3 - "$@" <<'EOF'
import json, sys
kind, n, first, path = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
try:
    body = json.load(open(path))
except ValueError as e:
    print("not JSON: %s" % e); sys.exit()
names = [r["name"] for r in body.get("results", [])] if kind == "hub" else body.get("tags") or []
problems = []
if len(names) != 100:
    problems.append("%d results, not 100" % len(names))
if names and names[0] != first:
    problems.append("first is %s, not %s" % (names[0], first))
if len(set(names)) != len(names):
    problems.append("duplicate names")
if kind == "hub" and body.get("count") != n:
    problems.append("count %s, not %d" % (body.get("count"), n))
print("; ".join(problems))
EOF
}

# run BACKEND N: one fresh store, seeded with N tags, measured
run() {
    local backend=$1 n=$2 t0 t1 got token_json session registry deep last
    fresh_store "$backend" $n

    start_wharf
    timeout 300 skopeo --insecure-policy copy -q --retry-times 0 --preserve-digests --authfile "$WORK/auth.json" \
        --dest-tls-verify=false --dest-creds "alice:$PASSWORD" "oci:$WORK/img:$(tag_name 0)" \
        "docker://$HOST/alice/many:$(tag_name 0)" >"$WORK/logs/push.log" 2>&1 ||
        { cat "$WORK/logs/push.log" >&2; die "$backend $n: the push of the image failed"; }
    stop_wharf

    log "$backend $n: inserting $((n - 1)) tags"
    t0=$(now)
    if [[ $backend == sqlite ]]; then
        seed_sqlite "$DATA/wharf.db" "$n" || die "$backend $n: seeding failed"
    else
        seed_postgres "$n" || die "$backend $n: seeding failed"
    fi
    t1=$(now)
    got=$(count_tags "$backend")
    [[ $got == "$n" ]] || die "$backend $n: the store holds $got tags after seeding, not $n"
    R[$backend.$n.seed_s]=$(calc "$t1 - $t0")
    log "$backend $n: seeded in ${R[$backend.$n.seed_s]} s"

    start_wharf
    session=$(login alice)
    token_json=$(curl -sS --max-time 30 -u "alice:$PASSWORD" \
        "http://$HOST/token?service=$HOST&scope=repository:alice/many:pull") || die "cannot reach /token"
    registry=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])' <<<"$token_json") ||
        die "no token in the /token answer: $token_json"

    deep=$((n / 100))
    last=$(tag_name $((n - 101)))
    load_query "$backend.$n.page1" "$backend $n page1" "/v2/namespaces/alice/repositories/many/tags?page=1&page_size=100" \
        "Authorization: Bearer $session" check_body hub "$n" "$(tag_name 0)"
    load_query "$backend.$n.deep" "$backend $n deep" "/v2/namespaces/alice/repositories/many/tags?page=$deep&page_size=100" \
        "Authorization: Bearer $session" check_body hub "$n" "$(tag_name $((n - 100)))"
    load_query "$backend.$n.list" "$backend $n list" "/v2/alice/many/tags/list?n=100&last=$last" \
        "Authorization: Bearer $registry" check_body list "$n" "$(tag_name $((n - 100)))"
    stop_wharf
    release_store "$backend $n"
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
log "Wharf on $HOST, work dir $WORK; $(nproc) cores, load average $LOAD_START"
log "load: wrk ${WRK_SECONDS} s, $WRK_THREADS threads, $WRK_CONNS connections per query"
run_sizes() { local n; for n in "${SIZES[@]}"; do run "$1" "$n"; done; }
each_backend run_sizes

# ---- report -----------------------------------------------------------------------------------
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
echo
echo "Tag listing: wrk -t$WRK_THREADS -c$WRK_CONNS for ${WRK_SECONDS}-${WRK_MAX_SECONDS} s per query, page size 100; $(nproc) cores;" \
    "load average $LOAD_START -> $LOAD_END"
printf '%-9s %8s %8s   %10s %9s   %10s %9s   %10s %9s\n' backend tags seed_s \
    "page1 r/s" "p99 ms" "deep r/s" "p99 ms" "list r/s" "p99 ms"
kv="tags=$TAGS wrk_seconds=$WRK_SECONDS wrk_max_seconds=$WRK_MAX_SECONDS wrk_threads=$WRK_THREADS wrk_conns=$WRK_CONNS"
for backend in "${BACKEND_LIST[@]}"; do
    if [[ -n ${SKIPPED[$backend]:-} ]]; then
        printf '%-9s skipped (unreachable)\n' "$backend"; kv+=" ${backend}=skipped"; continue
    fi
    for n in "${SIZES[@]}"; do
        p=$backend.$n
        printf '%-9s %8s %8s   %10s %9s   %10s %9s   %10s %9s\n' "$backend" "$n" "${R[$p.seed_s]:-n/a}" \
            "${R[$p.page1]:-n/a}" "${R[$p.page1_p99]:-n/a}" "${R[$p.deep]:-n/a}" "${R[$p.deep_p99]:-n/a}" \
            "${R[$p.list]:-n/a}" "${R[$p.list_p99]:-n/a}"
        for q in page1 deep list; do
            kv+=" ${backend}_${n}_$q=${R[$p.$q]:-n/a} ${backend}_${n}_${q}_p99=${R[$p.${q}_p99]:-n/a}"
            kv+=" ${backend}_${n}_${q}_s=${R[$p.${q}_s]:-n/a}"
        done
    done
done
kv+=" nproc=$(nproc) load1_start=${LOAD_START%% *} load1_end=${LOAD_END%% *} failed=$FAILED"
echo "$kv"
exit "$FAILED"
