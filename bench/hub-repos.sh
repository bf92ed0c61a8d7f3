#!/usr/bin/env bash
# Repository listing benchmark: how fast Wharf lists the repositories of an organization
# that has many of them, through the Hub API (first page, the last page, and a name search),
# on SQLite and on PostgreSQL.
#
#   bench/hub-repos.sh [REPOS=1000,100000] [KEY=VALUE ...]
#
# The first argument may also be a bare list of sizes (`bench/hub-repos.sh 1000,100000`).
# Keys, also read from the environment:
#   REPOS=1000,100000  repository counts, comma-separated; each a multiple of 100, at least 200
#   BACKENDS=sqlite,postgres   which metadata stores to measure
#   PG_URL=postgres://postgres@127.0.0.1:5432   the PostgreSQL server (no database name): a
#                     fresh database is created for each size and dropped afterwards. When
#                     it cannot be reached the PostgreSQL runs are skipped, with a message.
#   WRK_SECONDS=5 WRK_THREADS=2 WRK_CONNS=16 WRK_MAX_SECONDS=60   the load of each query (as
#                     in hub-tags.sh)
#   BUILD=1           0: use the existing target/release/wharf instead of building it
#   KEEP=0            1: keep the work directory and the PostgreSQL databases
#
# What it does, per backend and size N: creates the user `alice` and the organization `acme`
# (owner alice) in a fresh store, starts Wharf, pushes one small real image
# (bench/mkimage.py, skopeo) as acme/r0000000, stops Wharf and inserts repositories
# acme/r0000001 … acme/r(N-1) straight into the store, each updated one second before the
# previous (so newest first is also name order), each linking the pushed image's blobs and
# holding its manifest, tag and references (so that
# every listed repository has a storage size and media types to report). Then it restarts
# Wharf, checks each query once with curl (status 200, 100 results, the expected first
# repository, the right total), and runs wrk on it, as alice (the owner):
#   page1   GET /v2/namespaces/acme/repositories?page=1&page_size=100 (the default order: by name)
#   deep    GET /v2/namespaces/acme/repositories?page=N/100&page_size=100 (the last page)
#   updated GET /v2/namespaces/acme/repositories?ordering=-last_updated&page=N/200&page_size=100
#           (newest first, a page in the middle)
#   search  GET /v2/namespaces/acme/repositories?name=r00001&page_size=100 (100 of N match)
# Prints a table and, last, one line of key=value pairs. Exits non-zero if a check or a load
# run fails.
set -euo pipefail

# ---- settings -----------------------------------------------------------------------------
# shellcheck source=bench/hub-settings.sh
source "$(dirname "${BASH_SOURCE[0]}")/hub-settings.sh"
SIZE_KEY=REPOS REPOS=${REPOS:-1000,100000}
hub_settings "$@"
sizes_in "$REPOS"
need wrk skopeo curl python3 sqlite3 timeout

BENCH_NAME=hub-repos
# shellcheck source=bench/lib.sh
source "$ROOT/bench/lib.sh"
echo '{}' >"$WORK/auth.json" # skopeo must not use credentials stored by someone else
PASSWORD=bench-$(python3 -c 'import secrets; print(secrets.token_hex(16))')
DATA=''

repo_name() { printf 'r%07d' "$1"; }

# ---- the image ------------------------------------------------------------------------------
DIGEST=$(python3 bench/mkimage.py "$WORK/img" --layers 1 --layer-mb 0.0625 --seed 7 --tag latest)

# ---- seeding --------------------------------------------------------------------------------
# The pushed repository r0000000 is the model: the others copy its row (with a new id, name
# and update time one second older per step), its blob links, its manifest and its tag. The
# repository number (the Hub API's `id`) comes from the trigger on SQLite and from the
# identity column on PostgreSQL, as for a created repository; tag counts from the triggers.
# COPY_SQL copies the model into the repositories listed in the temporary table `seq`
# (i, id, name), which each backend fills its own way.
COPY_SQL="
INSERT INTO repositories (id, namespace, name, is_private, description, full_description, immutable_tags,
                          immutable_tags_rules, pull_count, last_pulled_at, created_by, created_at, updated_at)
SELECT seq.id, m.namespace, seq.name, m.is_private, m.description, m.full_description, m.immutable_tags,
       m.immutable_tags_rules, m.pull_count, m.last_pulled_at, m.created_by, m.created_at, m.updated_at - seq.i * 1000000
FROM seq, (SELECT * FROM repositories WHERE namespace = 'acme' AND name = 'r0000000') m;
INSERT INTO repository_blobs (repository_id, digest, created_at)
SELECT seq.id, x.digest, x.created_at FROM seq,
  (SELECT rb.* FROM repository_blobs rb JOIN repositories r ON r.id = rb.repository_id
   WHERE r.namespace = 'acme' AND r.name = 'r0000000') x;
INSERT INTO manifests (repository_id, digest, media_type, artifact_type, subject, size, content, images, annotations, pushed_at)
SELECT seq.id, x.digest, x.media_type, x.artifact_type, x.subject, x.size, x.content, x.images, x.annotations, x.pushed_at
FROM seq, (SELECT m.* FROM manifests m JOIN repositories r ON r.id = m.repository_id
           WHERE r.namespace = 'acme' AND r.name = 'r0000000') x;
INSERT INTO manifest_references (repository_id, manifest_digest, digest)
SELECT seq.id, x.manifest_digest, x.digest FROM seq,
  (SELECT mr.* FROM manifest_references mr JOIN repositories r ON r.id = mr.repository_id
   WHERE r.namespace = 'acme' AND r.name = 'r0000000') x;
INSERT INTO tags (repository_id, name, digest, pushed_at, pushed_by)
SELECT seq.id, x.name, x.digest, x.pushed_at, x.pushed_by FROM seq,
  (SELECT t.* FROM tags t JOIN repositories r ON r.id = t.repository_id
   WHERE r.namespace = 'acme' AND r.name = 'r0000000') x;
"
seed_sqlite() { # DB N
    sqlite3 -bail "$1" >/dev/null <<EOF
PRAGMA busy_timeout = 10000;
BEGIN;
CREATE TEMPORARY TABLE seq AS
  WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < $2 - 1)
  SELECT i, 'bench-' || i AS id, 'r' || SUBSTR('000000' || i, -7, 7) AS name FROM s;
$COPY_SQL
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
EOF
}
seed_postgres() { # N
    psql -X -q -v ON_ERROR_STOP=1 "$PG_URL/$PG_DB" <<EOF
CREATE TEMPORARY TABLE seq AS
  SELECT i, 'bench-' || i AS id, 'r' || lpad(i::text, 7, '0') AS name FROM generate_series(1::bigint, $1 - 1) AS i;
$COPY_SQL
VACUUM ANALYZE;
EOF
}
count_repos() { # backend
    local sql="SELECT COUNT(*) FROM repositories WHERE namespace = 'acme'"
    if [[ $1 == sqlite ]]; then sqlite3 "$DATA/wharf.db" "$sql"; else psql -X -At "$PG_URL/$PG_DB" -c "$sql"; fi
}

# ---- measuring ------------------------------------------------------------------------------
FAILED=0
declare -A R # results, keyed "backend.size.query", "….query_p99" and "….query_s"

# check_body N EXPECTED_FIRST FILE: 100 distinct repositories of acme, the first
# EXPECTED_FIRST, each with a storage size and a media type, and a count of N; prints what is
# wrong, nothing when all is well.
check_body() {
    python3 - "$@" <<'EOF'
import json, sys
n, first, path = int(sys.argv[1]), sys.argv[2], sys.argv[3]
try:
    body = json.load(open(path))
except ValueError as e:
    print("not JSON: %s" % e); sys.exit()
results = body.get("results", [])
names = [r.get("name") for r in results]
problems = []
if len(names) != 100:
    problems.append("%d results, not 100" % len(names))
if names and names[0] != first:
    problems.append("first is %s, not %s" % (names[0], first))
if len(set(names)) != len(names):
    problems.append("duplicate names")
if any(r.get("namespace") != "acme" for r in results):
    problems.append("a repository of another namespace")
if any(not r.get("storage_size") or not r.get("media_types") for r in results):
    problems.append("a repository without storage size or media types")
if body.get("count") != n:
    problems.append("count %s, not %d" % (body.get("count"), n))
print("; ".join(problems))
EOF
}

# run BACKEND N: one fresh store, seeded with N repositories, measured
run() {
    local backend=$1 n=$2 t0 t1 got session auth
    fresh_store "$backend" $n acme

    start_wharf
    timeout 300 skopeo --insecure-policy copy -q --retry-times 0 --preserve-digests --authfile "$WORK/auth.json" \
        --dest-tls-verify=false --dest-creds "alice:$PASSWORD" "oci:$WORK/img:latest" \
        "docker://$HOST/acme/$(repo_name 0):latest" >"$WORK/logs/push.log" 2>&1 ||
        { cat "$WORK/logs/push.log" >&2; die "$backend $n: the push of the image failed"; }
    stop_wharf

    log "$backend $n: inserting $((n - 1)) repositories"
    t0=$(now)
    if [[ $backend == sqlite ]]; then
        seed_sqlite "$DATA/wharf.db" "$n" || die "$backend $n: seeding failed"
    else
        seed_postgres "$n" || die "$backend $n: seeding failed"
    fi
    t1=$(now)
    got=$(count_repos "$backend")
    [[ $got == "$n" ]] || die "$backend $n: acme holds $got repositories after seeding, not $n"
    R[$backend.$n.seed_s]=$(calc "$t1 - $t0")
    log "$backend $n: seeded in ${R[$backend.$n.seed_s]} s"

    start_wharf
    session=$(login alice)
    auth="Authorization: Bearer $session"
    local base=/v2/namespaces/acme/repositories
    load_query "$backend.$n.page1" "$backend $n page1" "$base?page=1&page_size=100" "$auth" \
        check_body "$n" "$(repo_name 0)"
    load_query "$backend.$n.deep" "$backend $n deep" "$base?page=$((n / 100))&page_size=100" "$auth" \
        check_body "$n" "$(repo_name $((n - 100)))"
    load_query "$backend.$n.updated" "$backend $n updated" "$base?ordering=-last_updated&page=$((n / 200))&page_size=100" "$auth" \
        check_body "$n" "$(repo_name $((n / 2 - 100)))"
    load_query "$backend.$n.search" "$backend $n search" "$base?name=r00001&page_size=100" "$auth" \
        check_body 100 "$(repo_name 100)"
    stop_wharf
    release_store "$backend $n"
}

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
log "Wharf on $HOST, work dir $WORK; $(nproc) cores, load average $LOAD_START"
run_sizes() { local n; for n in "${SIZES[@]}"; do run "$1" "$n"; done; }
each_backend run_sizes

# ---- report -----------------------------------------------------------------------------------
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
QUERIES=(page1 deep updated search)
echo
echo "Repository listing: wrk -t$WRK_THREADS -c$WRK_CONNS for ${WRK_SECONDS}-${WRK_MAX_SECONDS} s per query, page size 100;" \
    "$(nproc) cores; load average $LOAD_START -> $LOAD_END"
printf '%-9s %8s %8s' backend repos seed_s
for q in "${QUERIES[@]}"; do printf '   %11s %8s' "$q r/s" "p99 ms"; done
echo
kv="repos=$REPOS wrk_seconds=$WRK_SECONDS wrk_max_seconds=$WRK_MAX_SECONDS wrk_threads=$WRK_THREADS wrk_conns=$WRK_CONNS"
for backend in "${BACKEND_LIST[@]}"; do
    if [[ -n ${SKIPPED[$backend]:-} ]]; then
        printf '%-9s skipped (unreachable)\n' "$backend"; kv+=" ${backend}=skipped"; continue
    fi
    for n in "${SIZES[@]}"; do
        p=$backend.$n
        printf '%-9s %8s %8s' "$backend" "$n" "${R[$p.seed_s]:-n/a}"
        for q in "${QUERIES[@]}"; do
            printf '   %11s %8s' "${R[$p.$q]:-n/a}" "${R[$p.${q}_p99]:-n/a}"
            kv+=" ${backend}_${n}_$q=${R[$p.$q]:-n/a} ${backend}_${n}_${q}_p99=${R[$p.${q}_p99]:-n/a}"
        done
        echo
    done
done
kv+=" nproc=$(nproc) load1_start=${LOAD_START%% *} load1_end=${LOAD_END%% *} failed=$FAILED"
echo "$kv"
exit "$FAILED"
