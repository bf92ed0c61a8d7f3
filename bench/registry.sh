#!/usr/bin/env bash
# Registry benchmark: Wharf against the CNCF distribution registry (`docker-registry`), on
# this machine, in one run, with the same client (skopeo, wrk) and the same images.
#
#   bench/registry.sh [IMAGES=4] [LAYER_MB=32] [KEY=VALUE ...]
#
# The first two arguments may also be bare numbers (`bench/registry.sh 4 32`). Keys, also
# read from the environment:
#   IMAGES=4          images pushed and pulled per registry
#   LAYER_MB=32       MiB per layer
#   LAYERS=2          layers per image
#   RSS_MB=0          when > 0: also push one image with a single layer of this many MiB
#                     (1024 for the 1 GiB figure) to a freshly started server of each kind
#                     and report its peak RSS (VmHWM)
#   WRK_SECONDS=10 WRK_THREADS=2 WRK_CONNS=16   the small-request load
#   COPY_TIMEOUT=900  seconds one skopeo copy may take before it counts as failed
#   SEED=1            seed of the generated images
#   LOADGEN=wrk       wrk, or python for the small threaded Python client (the fallback when
#                     wrk is missing and cannot be installed; its ceiling is lower)
#   KEEP=0            1: keep the work directory (data dirs, logs) and print its path
#   SECRET=pat        what skopeo logs in to Wharf with: `pat`, a personal access token (as
#                     CI systems do; its exchange for a registry token is a hash lookup), or
#                     `password` (each exchange verifies it with argon2, tens of ms, once per
#                     skopeo copy). The CNCF registry runs without authentication.
#
# What it does: builds Wharf (cargo build --release); generates the images once
# (bench/mkimage.py); starts Wharf and docker-registry on free loopback ports, each with a
# fresh data directory; then, phase by phase and registry by registry, pushes every image,
# pulls every image back (checking the manifest digests), and runs wrk for WRK_SECONDS
# against a manifest GET and a tags/list GET. Prints a table and, last, one line of
# key=value pairs. Exits non-zero if a copy, a check or a load run fails.
#
# Units: MiB (2^20 bytes). Throughput is the bytes of every blob of every image (layers,
# configs, manifests) over the wall time of all the copies of the phase.
set -euo pipefail

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit "${1:-0}"; }

# ---- arguments ----------------------------------------------------------------------------
IMAGES=${IMAGES:-4}
LAYER_MB=${LAYER_MB:-32}
LAYERS=${LAYERS:-2}
RSS_MB=${RSS_MB:-0}
WRK_SECONDS=${WRK_SECONDS:-10}
WRK_THREADS=${WRK_THREADS:-2}
WRK_CONNS=${WRK_CONNS:-16}
COPY_TIMEOUT=${COPY_TIMEOUT:-900}
SEED=${SEED:-1}
KEEP=${KEEP:-0}
LOADGEN=${LOADGEN:-wrk}
SECRET=${SECRET:-pat}
positional=0
for arg in "$@"; do
    case $arg in
        -h | --help) usage 0 ;;
        IMAGES=* | LAYER_MB=* | LAYERS=* | RSS_MB=* | WRK_SECONDS=* | WRK_THREADS=* | WRK_CONNS=* | COPY_TIMEOUT=* | SEED=* | KEEP=* | LOADGEN=* | SECRET=*)
            printf -v "${arg%%=*}" '%s' "${arg#*=}" ;;
        *=*) echo "unknown setting: $arg (see --help)" >&2; exit 2 ;;
        *)
            case $positional in
                0) IMAGES=$arg ;;
                1) LAYER_MB=$arg ;;
                *) echo "too many arguments: $arg (see --help)" >&2; exit 2 ;;
            esac
            positional=$((positional + 1)) ;;
    esac
done
for key in IMAGES LAYERS WRK_SECONDS WRK_THREADS WRK_CONNS COPY_TIMEOUT SEED KEEP RSS_MB; do
    [[ ${!key} =~ ^[0-9]+$ ]] || { echo "$key must be a whole number, not '${!key}'" >&2; exit 2; }
done
[[ $LAYER_MB =~ ^[0-9]+([.][0-9]+)?$ ]] || { echo "LAYER_MB must be a number, not '$LAYER_MB'" >&2; exit 2; }
[[ $SECRET == pat || $SECRET == password ]] || { echo "SECRET must be pat or password, not '$SECRET'" >&2; exit 2; }
[[ $LOADGEN == wrk || $LOADGEN == python ]] || { echo "LOADGEN must be wrk or python" >&2; exit 2; }
((IMAGES >= 1 && LAYERS >= 1 && WRK_CONNS >= WRK_THREADS && WRK_THREADS >= 1)) ||
    { echo "IMAGES and LAYERS must be at least 1, WRK_CONNS at least WRK_THREADS" >&2; exit 2; }

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

log() { printf '# %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
# calc EXPR with awk's arithmetic: bash has none for fractions.
calc() { awk "BEGIN { printf \"%.${2:-1}f\", $1 }"; }

for tool in skopeo docker-registry curl python3 timeout cargo /usr/bin/time; do
    command -v "$tool" >/dev/null || die "$tool is needed and not installed"
done

# wrk is the load generator; without it (and without a way to install it) a small threaded
# Python client stands in. Its numbers are capped by the Python client itself, so the table
# says which one ran.
if [[ $LOADGEN == wrk ]] && ! command -v wrk >/dev/null; then
    log "wrk is missing; installing it with apt-get"
    if command -v apt-get >/dev/null && [[ $(id -u) == 0 ]] &&
        { apt-get install -y -qq wrk >/dev/null 2>&1 ||
            { apt-get update -qq >/dev/null 2>&1 && apt-get install -y -qq wrk >/dev/null 2>&1; }; }; then
        log "installed wrk"
    else
        LOADGEN=python
        log "cannot install wrk; falling back to the Python load generator (lower ceiling)"
    fi
fi

# ---- build --------------------------------------------------------------------------------
log "building Wharf (cargo build --release)"
cargo build --release >&2
WHARF=${CARGO_TARGET_DIR:-$ROOT/target}/release/wharf
[[ -x $WHARF ]] || die "no binary at $WHARF after the build"

# ---- work directory, servers, cleanup ------------------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/wharf-bench.XXXXXX")
mkdir -p "$WORK/src" "$WORK/logs" "$WORK/cncf-data"
WHARF_PID='' CNCF_PID=''

stop() { # PID: TERM, then KILL if it lingers
    local pid=$1 i
    [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 0
    kill "$pid" 2>/dev/null || true
    for ((i = 0; i < 50; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}
cleanup() {
    local rc=$?
    stop "$WHARF_PID"
    stop "$CNCF_PID"
    if [[ $KEEP == 1 ]]; then log "kept $WORK"; else rm -rf "$WORK"; fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Two free loopback ports, taken while both sockets are open so they differ.
read -r WPORT CPORT < <(python3 -c '
import socket
a, b = socket.socket(), socket.socket()
a.bind(("127.0.0.1", 0)); b.bind(("127.0.0.1", 0))
print(a.getsockname()[1], b.getsockname()[1])')
WHOST=127.0.0.1:$WPORT
CHOST=127.0.0.1:$CPORT

# Each server runs with the configuration written here and nothing else: Wharf reads WHARF_*
# variables and docker-registry REGISTRY_* variables as settings, and settings from the
# caller's environment would silently change what is measured.
for var in $(compgen -e); do
    if [[ $var == WHARF_* || $var == REGISTRY_* ]]; then unset "$var"; fi
done
# skopeo must not pick up credentials stored for these addresses by someone else.
echo '{}' >"$WORK/auth.json"

PASSWORD=bench-$(python3 -c 'import secrets; print(secrets.token_hex(16))')
printf '%s\n' "$PASSWORD" | WHARF_DATA_DIR=$WORK/wharf-data \
    "$WHARF" admin user create bench --email bench@example.com --password-stdin >"$WORK/logs/admin.log" 2>&1 ||
    { cat "$WORK/logs/admin.log" >&2; die "cannot create the user 'bench'"; }

# Both registries log warnings only: docker-registry logs every request by default and Wharf
# does not (its request log is at debug), and logging is not what is being compared.
cat >"$WORK/cncf.yml" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $WORK/cncf-data
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: $CHOST
EOF

wait_ready() { # NAME PID URL: until URL answers 200; fail if the process dies or 60 s pass
    local name=$1 pid=$2 url=$3 i
    for ((i = 0; i < 600; i++)); do
        kill -0 "$pid" 2>/dev/null || { tail -20 "$WORK/logs/$name.log" >&2; die "$name exited at start"; }
        [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url" || true) == 200 ]] && return 0
        sleep 0.1
    done
    tail -20 "$WORK/logs/$name.log" >&2
    die "$name did not answer $url within 60 s"
}
# The registry token lives 300 s by default; pushes of big layers and the load runs must not
# race its expiry, hence an hour.
start_wharf() {
    "$WHARF" serve --listen "$WHOST" --data-dir "$WORK/wharf-data" --registry-token-ttl 3600 \
        >>"$WORK/logs/wharf.log" 2>&1 &
    WHARF_PID=$!
    wait_ready wharf "$WHARF_PID" "http://$WHOST/healthz"
}
start_cncf() {
    docker-registry serve "$WORK/cncf.yml" >>"$WORK/logs/cncf.log" 2>&1 &
    CNCF_PID=$!
    wait_ready cncf "$CNCF_PID" "http://$CHOST/v2/"
}
restart() { # wharf|cncf: a fresh process, so that its peak RSS is only what follows
    if [[ $1 == wharf ]]; then stop "$WHARF_PID"; start_wharf; else stop "$CNCF_PID"; start_cncf; fi
}
pid_of() { if [[ $1 == wharf ]]; then echo "$WHARF_PID"; else echo "$CNCF_PID"; fi; }
host_of() { if [[ $1 == wharf ]]; then echo "$WHOST"; else echo "$CHOST"; fi; }
peak_rss_mib() { awk '/^VmHWM:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

start_wharf
start_cncf
if [[ $SECRET == pat ]]; then
    session=$(curl -sS --max-time 30 -H 'Content-Type: application/json' \
        -d "{\"username\":\"bench\",\"password\":\"$PASSWORD\"}" "http://$WHOST/v2/users/login" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')
    PASSWORD=$(curl -sS --max-time 30 -H "Authorization: Bearer $session" -H 'Content-Type: application/json' \
        -d '{"token_label":"bench","scopes":["repo:admin"]}' "http://$WHOST/v2/access-tokens" |
        python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])')
    [[ $PASSWORD == dckr_pat_* ]] || die "cannot create the access token skopeo logs in with"
fi
log "Wharf on $WHOST (pid $WHARF_PID), docker-registry on $CHOST (pid $CNCF_PID), work dir $WORK"

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
log "machine: $(nproc) cores, kernel $(uname -r), load average $LOAD_START"

# ---- images -------------------------------------------------------------------------------
log "generating $IMAGES image(s) of $LAYERS layer(s) x $LAYER_MB MiB"
declare -a DIGEST
for ((k = 0; k < IMAGES; k++)); do
    DIGEST[k]=$(python3 bench/mkimage.py "$WORK/src/img$k" --layers "$LAYERS" --layer-mb "$LAYER_MB" \
        --seed $((SEED + k)) --tag tag)
done
blob_bytes() { find "$@" -path '*/blobs/sha256/*' -type f -printf '%s\n' | awk '{ s += $1 } END { printf "%d", s }'; }
TOTAL_BYTES=$(blob_bytes "$WORK"/src/img*)
log "$(calc "$TOTAL_BYTES / 1048576") MiB of blobs in all"

# ---- copies -------------------------------------------------------------------------------
FAILED=0
declare -A R # results, keyed "registry.figure"

# copy REGISTRY push|pull NAME: one skopeo copy of NAME:tag. No retries: a failure must show,
# not be absorbed into the time. --preserve-digests: skopeo would otherwise gzip the plain tar
# layers on the way to a registry, and the benchmark would time gzip. --insecure-policy: the
# images are our own and the host's signature policy is no concern of the benchmark.
copy() {
    local reg=$1 dir=$2 name=$3 host creds=() rc=0
    host=$(host_of "$reg")
    local ref=docker://$host/bench/$name:tag
    if [[ $dir == push ]]; then
        [[ $reg == wharf ]] && creds=(--dest-creds "bench:$PASSWORD")
        /usr/bin/time -a -o "$WORK/client-cpu" -f '%U %S' \
            timeout "$COPY_TIMEOUT" skopeo --insecure-policy copy -q --retry-times 0 --preserve-digests --authfile "$WORK/auth.json" \
            --dest-tls-verify=false "${creds[@]}" "oci:$WORK/src/$name:tag" "$ref" \
            >"$WORK/logs/$reg-$dir-$name.log" 2>&1 || rc=$?
    else
        [[ $reg == wharf ]] && creds=(--src-creds "bench:$PASSWORD")
        /usr/bin/time -a -o "$WORK/client-cpu" -f '%U %S' \
            timeout "$COPY_TIMEOUT" skopeo --insecure-policy copy -q --retry-times 0 --preserve-digests --authfile "$WORK/auth.json" \
            --src-tls-verify=false "${creds[@]}" "$ref" "oci:$WORK/pull-$reg/$name:tag" \
            >"$WORK/logs/$reg-$dir-$name.log" 2>&1 || rc=$?
    fi
    if ((rc != 0)); then
        ((rc == 124)) && log "$reg: $dir of $name timed out after $COPY_TIMEOUT s"
        log "$reg: $dir of $name failed (exit $rc):"
        sed 's/^/#   /' "$WORK/logs/$reg-$dir-$name.log" >&2
        return 1
    fi
}

# CPU seconds (user + system) the process PID has used so far.
cpu_seconds() { awk -v hz="$(getconf CLK_TCK)" '{ printf "%.2f", ($14 + $15) / hz }' "/proc/$1/stat"; }

# copies REGISTRY push|pull: all images, one after the other; sets R[REGISTRY.DIR], and the
# CPU seconds the client (every skopeo) and the server spent on the phase, as a share of
# one core over its wall time: R[REGISTRY.DIR_client_cpu], R[REGISTRY.DIR_server_cpu] (%).
copies() {
    local reg=$1 dir=$2 k t0 t1 got server0 server1 client
    # Write back what earlier phases left dirty, so that this phase does not pay for it.
    [[ $dir == pull ]] && mkdir -p "$WORK/pull-$reg"
    sync
    : >"$WORK/client-cpu"
    server0=$(cpu_seconds "$(pid_of "$reg")")
    t0=$(now)
    for ((k = 0; k < IMAGES; k++)); do
        if ! copy "$reg" "$dir" "img$k"; then
            R[$reg.$dir]=FAIL; FAILED=1; return 0
        fi
    done
    t1=$(now)
    server1=$(cpu_seconds "$(pid_of "$reg")")
    client=$(awk '{ s += $1 + $2 } END { printf "%.2f", s }' "$WORK/client-cpu")
    R[$reg.$dir]=$(calc "$TOTAL_BYTES / 1048576 / ($t1 - $t0)")
    R[$reg.${dir}_client_cpu]=$(calc "100 * $client / ($t1 - $t0)" 0)
    R[$reg.${dir}_server_cpu]=$(calc "100 * ($server1 - $server0) / ($t1 - $t0)" 0)
    log "$reg: $dir $(calc "$t1 - $t0" 2) s, ${R[$reg.$dir]} MiB/s; CPU: skopeo ${R[$reg.${dir}_client_cpu]}%," \
        "server ${R[$reg.${dir}_server_cpu]}% of one core"
    if [[ $dir == pull ]]; then
        for ((k = 0; k < IMAGES; k++)); do
            got=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"])' \
                "$WORK/pull-$reg/img$k/index.json" 2>/dev/null || echo none)
            if [[ $got != "${DIGEST[k]}" ]]; then
                log "$reg: img$k came back as $got, pushed ${DIGEST[k]}"; R[$reg.pull]=FAIL; FAILED=1
            fi
        done
        [[ $(blob_bytes "$WORK/pull-$reg") == "$TOTAL_BYTES" ]] ||
            { log "$reg: the pulled blobs do not add up to the pushed bytes"; R[$reg.pull]=FAIL; FAILED=1; }
        rm -rf "$WORK/pull-$reg"
    fi
}

# Phase by phase, both registries back to back: a change in the machine's background load
# then affects both sides of a ratio rather than one.
for reg in wharf cncf; do copies "$reg" push; done
for reg in wharf cncf; do
    if [[ ${R[$reg.push]} == FAIL ]]; then R[$reg.pull]=FAIL; else copies "$reg" pull; fi
done

# ---- small requests -------------------------------------------------------------------------
MANIFEST_TYPE=application/vnd.oci.image.manifest.v1+json
declare -A AUTH=([wharf]='' [cncf]='')
if [[ ${R[wharf.push]} != FAIL ]]; then
    # A pull token for img0, the way a client gets one: Basic credentials at the realm.
    token_json=$(curl -sS --max-time 30 -u "bench:$PASSWORD" \
        "http://$WHOST/token?service=$WHOST&scope=repository:bench/img0:pull") ||
        die "cannot reach Wharf's token endpoint"
    token=$(python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])' <<<"$token_json") ||
        die "no token in Wharf's answer: $token_json"
    AUTH[wharf]="Authorization: Bearer $token"
fi

# The Python stand-in for wrk: CONNS threads, each with one keep-alive connection.
pyload() { # URL SECONDS CONNS HEADER...
    python3 - "$@" <<'EOF'
import http.client, sys, threading, time, urllib.parse

url, seconds, conns = sys.argv[1], float(sys.argv[2]), int(sys.argv[3])
headers = dict(h.split(": ", 1) for h in sys.argv[4:])
parts = urllib.parse.urlsplit(url)
path = parts.path + ("?" + parts.query if parts.query else "")
latencies, counts, lock = [], {"bad": 0, "errors": 0}, threading.Lock()

def worker(deadline):
    mine, bad, errors = [], 0, 0
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    while (start := time.monotonic()) < deadline:
        try:
            conn.request("GET", path, headers=headers)
            response = conn.getresponse()
            response.read()
            bad += response.status != 200
            mine.append(time.monotonic() - start)
        except (OSError, http.client.HTTPException):
            errors += 1
            conn.close()
            conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)
    with lock:
        latencies.extend(mine)
        counts["bad"] += bad
        counts["errors"] += errors

began = time.monotonic()
threads = [threading.Thread(target=worker, args=(began + seconds,)) for _ in range(conns)]
for t in threads:
    t.start()
for t in threads:
    t.join()
elapsed = time.monotonic() - began
latencies.sort()
pct = lambda p: latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000 if latencies else 0
print("%.0f %.3f %.3f %d %d" % (len(latencies) / elapsed, pct(0.5), pct(0.99), counts["bad"], counts["errors"]))
EOF
}

# wrk's latencies come as 812.00us, 1.23ms or 1.01s.
to_ms() { awk -v v="$1" 'BEGIN {
    if (v ~ /us$/) printf "%.3f", v / 1000; else if (v ~ /ms$/) printf "%.3f", v + 0;
    else if (v ~ /m$/) printf "%.3f", v * 60000; else if (v ~ /s$/) printf "%.3f", v * 1000; else print "n/a" }'; }

# load REGISTRY FIGURE PATH ACCEPT: one checked request, then the load; sets
# R[REGISTRY.FIGURE] (requests/s) and R[REGISTRY.FIGURE_p99] (ms).
load() {
    local reg=$1 fig=$2 path=$3 accept=$4 host url out rps p50 p99 bad errors code
    host=$(host_of "$reg")
    url=http://$host$path
    R[$reg.$fig]=FAIL R[$reg.${fig}_p99]=FAIL
    local headers=(-H "Accept: $accept")
    [[ -n ${AUTH[$reg]} ]] && headers+=(-H "${AUTH[$reg]}")
    code=$(curl -sS --max-time 30 -o "$WORK/$reg-$fig.body" -D "$WORK/$reg-$fig.headers" -w '%{http_code}' \
        "${headers[@]}" "$url" || echo 000)
    if [[ $code != 200 ]]; then
        log "$reg: GET $path answered $code: $(head -c 300 "$WORK/$reg-$fig.body" 2>/dev/null)"; FAILED=1; return 0
    fi
    if [[ $fig == manifest ]] &&
        ! grep -qi "^docker-content-digest: ${DIGEST[0]}" "$WORK/$reg-$fig.headers"; then
        log "$reg: the manifest GET did not return ${DIGEST[0]}"; FAILED=1; return 0
    fi
    if [[ $LOADGEN == wrk ]]; then
        if ! out=$(wrk -t "$WRK_THREADS" -c "$WRK_CONNS" -d "${WRK_SECONDS}s" --timeout 5s --latency \
            "${headers[@]}" "$url" 2>&1); then
            log "$reg: wrk failed: $out"; FAILED=1; return 0
        fi
        printf '%s\n' "$out" >"$WORK/logs/$reg-$fig.wrk"
        rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' <<<"$out")
        p50=$(to_ms "$(awk '$1 == "50%" { print $2 }' <<<"$out")")
        p99=$(to_ms "$(awk '$1 == "99%" { print $2 }' <<<"$out")")
        bad=$(awk '/Non-2xx or 3xx responses:/ { print $NF }' <<<"$out")
        errors=$(awk '/Socket errors:/ { for (i = 3; i <= NF; i++) s += $i } END { print s + 0 }' <<<"$out")
    else
        local hdrs=("Accept: $accept")
        [[ -n ${AUTH[$reg]} ]] && hdrs+=("${AUTH[$reg]}")
        read -r rps p50 p99 bad errors < <(pyload "$url" "$WRK_SECONDS" "$WRK_CONNS" "${hdrs[@]}") || true
    fi
    [[ -n ${rps:-} ]] || { log "$reg: the load run gave no figures"; FAILED=1; return 0; }
    log "$reg: GET $path: $rps req/s, p50 $p50 ms, p99 $p99 ms, non-200 ${bad:-0}, socket errors ${errors:-0}"
    if [[ ${bad:-0} != 0 || ${errors:-0} != 0 ]]; then
        log "$reg: the load run had failed requests; its figures are not reported"; FAILED=1; return 0
    fi
    R[$reg.$fig]=$rps R[$reg.${fig}_p99]=$p99
}

log "load: $LOADGEN, ${WRK_SECONDS} s, $WRK_THREADS threads, $WRK_CONNS connections"
for fig in manifest tags; do
    for reg in wharf cncf; do
        if [[ ${R[$reg.push]} == FAIL ]]; then R[$reg.$fig]=FAIL R[$reg.${fig}_p99]=FAIL; continue; fi
        if [[ $fig == manifest ]]; then
            load "$reg" manifest /v2/bench/img0/manifests/tag "$MANIFEST_TYPE"
        else
            load "$reg" tags /v2/bench/img0/tags/list application/json
        fi
    done
done

# ---- peak memory of one big push --------------------------------------------------------------
if ((RSS_MB > 0)); then
    log "generating one image with a single $RSS_MB MiB layer"
    python3 bench/mkimage.py "$WORK/src/big" --layers 1 --layer-mb "$RSS_MB" --seed $((SEED + 1000000)) --tag tag >/dev/null
    BIG_BYTES=$(blob_bytes "$WORK/src/big")
    for reg in wharf cncf; do
        restart "$reg"
        pid=$(pid_of "$reg")
        R[$reg.idle_rss]=$(peak_rss_mib "$pid")
        sync
        t0=$(now)
        if copy "$reg" push big; then
            t1=$(now)
            R[$reg.big_push]=$(calc "$BIG_BYTES / 1048576 / ($t1 - $t0)")
            R[$reg.rss]=$(peak_rss_mib "$pid")
            log "$reg: $RSS_MB MiB layer pushed at ${R[$reg.big_push]} MiB/s; peak RSS ${R[$reg.rss]} MiB (${R[$reg.idle_rss]} MiB after start)"
        else
            R[$reg.big_push]=FAIL R[$reg.rss]=FAIL R[$reg.idle_rss]=FAIL FAILED=1
        fi
    done
    rm -rf "$WORK/src/big"
fi

# ---- report -------------------------------------------------------------------------------------
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
ratio() { # WHARF CNCF
    if [[ $1 =~ ^[0-9.]+$ && $2 =~ ^[0-9.]+$ ]] && awk "BEGIN { exit !($2 > 0) }"; then calc "$1 / $2" 2; else echo n/a; fi
}
row() { # LABEL KEY BETTER
    local w=${R[wharf.$2]:-n/a} c=${R[cncf.$2]:-n/a}
    printf '%-40s %12s %14s %12s   %s\n' "$1" "$w" "$c" "$(ratio "$w" "$c")" "$3"
}
echo
echo "Wharf vs CNCF registry: $IMAGES image(s) x $LAYERS layer(s) x $LAYER_MB MiB ($(calc "$TOTAL_BYTES / 1048576") MiB)," \
    "load: $LOADGEN ${WRK_SECONDS}s -t$WRK_THREADS -c$WRK_CONNS; $(nproc) cores; load average $LOAD_START -> $LOAD_END"
printf '%-40s %12s %14s %12s   %s\n' figure Wharf "CNCF registry" "Wharf/CNCF" "better"
row "push (MiB/s)" push "higher"
row "pull (MiB/s)" pull "higher"
row "  push: skopeo CPU (% of a core)" push_client_cpu ""
row "  push: server CPU (% of a core)" push_server_cpu "lower"
row "  pull: skopeo CPU (% of a core)" pull_client_cpu ""
row "  pull: server CPU (% of a core)" pull_server_cpu "lower"
row "GET manifest (requests/s)" manifest "higher"
row "GET manifest p99 latency (ms)" manifest_p99 "lower"
row "GET tags/list (requests/s)" tags "higher"
row "GET tags/list p99 latency (ms)" tags_p99 "lower"
if ((RSS_MB > 0)); then
    row "push of one $RSS_MB MiB layer (MiB/s)" big_push "higher"
    row "peak RSS, $RSS_MB MiB layer push (MiB)" rss "lower"
    row "peak RSS right after start (MiB)" idle_rss "lower"
fi
kv="images=$IMAGES layers=$LAYERS layer_mb=$LAYER_MB bytes=$TOTAL_BYTES loadgen=$LOADGEN secret=$SECRET"
for key in push pull push_client_cpu push_server_cpu pull_client_cpu pull_server_cpu manifest manifest_p99 tags tags_p99 big_push rss idle_rss; do
    [[ -n ${R[wharf.$key]:-} || -n ${R[cncf.$key]:-} ]] || continue
    kv+=" wharf_$key=${R[wharf.$key]:-n/a} cncf_$key=${R[cncf.$key]:-n/a} ratio_$key=$(ratio "${R[wharf.$key]:-}" "${R[cncf.$key]:-}")"
done
((RSS_MB > 0)) && kv+=" rss_layer_mb=$RSS_MB"
kv+=" nproc=$(nproc) load1_start=${LOAD_START%% *} load1_end=${LOAD_END%% *} failed=$FAILED"
echo "$kv"
exit "$FAILED"
