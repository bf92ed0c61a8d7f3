#!/usr/bin/env bash
# Monolithic blob upload and download with curl: Wharf against the CNCF registry
# (`docker-registry`), and both against what this machine can do at all for the same bytes:
# `sha256sum` (hashing, which every upload must do) and `dd` (writing to the data directory's
# disk with fsync, which every acknowledged upload must do; reading back from the page cache,
# which a download of a just-written blob does).
#
#   bench/upload.sh [MB=1024] [RUNS=3] [BUILD=1] [KEEP=0]
#
# One blob of MB MiB of random bytes. An upload is the OCI two-request monolithic upload:
# POST /v2/NAME/blobs/uploads/, then PUT LOCATION?digest=… with the whole blob as the body
# (curl -T FILE streams it); a download is GET /v2/NAME/blobs/DIGEST to
# /dev/null. Each is run RUNS times per registry (a fresh repository each time), the two
# registries alternating; the median counts. Wharf is called with a registry token for the
# repositories, the CNCF registry without authentication. Prints a table and, last, one line
# of key=value pairs (MiB/s, and the ratios Wharf / CNCF and Wharf / the machine).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
MB=${1:-${MB:-1024}}
RUNS=${2:-${RUNS:-3}}
BUILD=${BUILD:-1}
KEEP=${KEEP:-0}
PG_URL='' BENCH_NAME=upload
log() { echo "upload: $*" >&2; }
die() { log "$*"; exit 1; }
[[ $MB =~ ^[0-9]+$ && $RUNS =~ ^[0-9]+$ ]] && ((MB >= 1 && RUNS >= 1)) || die "MB and RUNS must be whole numbers >= 1"
# shellcheck source=bench/lib.sh
source bench/lib.sh
command -v docker-registry >/dev/null || die "docker-registry is not installed (apt-get install docker-registry)"
for var in $(compgen -e); do
    if [[ $var == REGISTRY_* ]]; then unset "$var"; fi
done

CPORT=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
CHOST=127.0.0.1:$CPORT
CNCF_PID=''
# Stops the CNCF registry, then lib.sh's cleanup with the script's exit status restored (the
# `||` keeps errexit from ending the trap when that status is non-zero).
cleanup_both() { local rc=$?; stop "$CNCF_PID"; (exit "$rc") || cleanup; cleanup; }
trap cleanup_both EXIT

calc() { awk "BEGIN { printf \"%.${2:-1}f\", $1 }"; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
now() { date +%s.%N; }
wait_up() { # NAME PID URL
    local i
    for ((i = 0; i < 600; i++)); do
        kill -0 "$2" 2>/dev/null || { tail -20 "$WORK/logs/$1.log" >&2; die "$1 exited at start"; }
        [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$3" || true) == 200 ]] && return 0
        sleep 0.1
    done
    die "$1 did not answer $3 within 60 s"
}

# ---- the blob and what the machine can do with it ---------------------------------------------
log "writing a $MB MiB blob of random bytes"
head -c $((MB * 1048576)) /dev/urandom >"$WORK/blob"
DIGEST=sha256:$(sha256sum "$WORK/blob" | cut -d' ' -f1)
BYTES=$((MB * 1048576))
declare -A R
rate() { calc "$BYTES / 1048576 / ($2 - $1)"; echo; } # T0 T1 -> MiB/s, a line

for ((run = 0; run < RUNS; run++)); do
    t0=$(now); sha256sum "$WORK/blob" >/dev/null; t1=$(now); rate "$t0" "$t1" >>"$WORK/sha256sum"
    rm -f "$WORK/dd-out"; sync
    t0=$(now); dd if="$WORK/blob" of="$WORK/dd-out" bs=1M conv=fsync status=none; t1=$(now)
    rate "$t0" "$t1" >>"$WORK/dd-write"
    t0=$(now); dd if="$WORK/dd-out" of=/dev/null bs=1M status=none; t1=$(now); rate "$t0" "$t1" >>"$WORK/dd-read"
done
rm -f "$WORK/dd-out"
for figure in sha256sum dd-write dd-read; do R[machine.$figure]=$(median <"$WORK/$figure"); done

# ---- servers ----------------------------------------------------------------------------------
PASSWORD=bench-$(python3 -c 'import secrets; print(secrets.token_hex(16))')
printf '%s\n' "$PASSWORD" | "$WHARF" admin --data-dir "$WORK/wharf-data" user create bench \
    --email bench@example.com --password-stdin >"$WORK/logs/admin.log" 2>&1 || die "cannot create the user"
"$WHARF" serve --listen "$HOST" --data-dir "$WORK/wharf-data" --registry-token-ttl 3600 \
    >>"$WORK/logs/wharf.log" 2>&1 &
WHARF_PID=$!
wait_up wharf "$WHARF_PID" "http://$HOST/healthz"
cat >"$WORK/cncf.yml" <<YML
version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $WORK/cncf-data}, delete: {enabled: true}}
http: {addr: $CHOST}
YML
docker-registry serve "$WORK/cncf.yml" >>"$WORK/logs/cncf.log" 2>&1 &
CNCF_PID=$!
wait_up cncf "$CNCF_PID" "http://$CHOST/v2/"

# One registry token for every repository of the runs (push and pull).
scopes=''
for ((run = 0; run < RUNS; run++)); do scopes+="&scope=repository:bench/blob$run:push,pull"; done
TOKEN=$(curl -sS --max-time 30 -u "bench:$PASSWORD" "http://$HOST/token?service=$HOST$scopes" |
    python3 -c 'import json, sys; print(json.load(sys.stdin)["token"])') || die "no registry token"

# upload HOST REPO [AUTH...]: prints MiB/s of the PUT (the POST is part of the time too).
upload() {
    local host=$1 repo=$2 t0 t1 location code
    shift 2
    t0=$(now)
    location=$(curl -sS -o /dev/null -D - -X POST "$@" "http://$host/v2/$repo/blobs/uploads/" |
        awk 'tolower($1) == "location:" { sub(/\r$/, "", $2); print $2 }')
    [[ -n $location ]] || die "$host: no upload location"
    [[ $location == /* ]] && location=http://$host$location
    [[ $location == *\?* ]] && location+="&digest=$DIGEST" || location+="?digest=$DIGEST"
    code=$(curl -sS -o /dev/null -w '%{http_code}' -X PUT "$@" -H 'Content-Type: application/octet-stream' \
        -T "$WORK/blob" "$location")
    t1=$(now)
    [[ $code == 201 ]] || die "$host: upload answered $code"
    rate "$t0" "$t1"
}
download() { # HOST REPO [AUTH...]
    local host=$1 repo=$2 t0 t1 code
    shift 2
    t0=$(now)
    code=$(curl -sS -o /dev/null -w '%{http_code}' "$@" "http://$host/v2/$repo/blobs/$DIGEST")
    t1=$(now)
    [[ $code == 200 ]] || die "$host: download answered $code"
    rate "$t0" "$t1"
}

for ((run = 0; run < RUNS; run++)); do
    sync
    upload "$HOST" "bench/blob$run" -H "Authorization: Bearer $TOKEN" >>"$WORK/wharf-up"
    sync
    upload "$CHOST" "bench/blob$run" >>"$WORK/cncf-up"
    download "$HOST" "bench/blob$run" -H "Authorization: Bearer $TOKEN" >>"$WORK/wharf-down"
    download "$CHOST" "bench/blob$run" >>"$WORK/cncf-down"
    log "run $((run + 1)): up wharf $(tail -1 "$WORK/wharf-up") cncf $(tail -1 "$WORK/cncf-up"), down wharf $(tail -1 "$WORK/wharf-down") cncf $(tail -1 "$WORK/cncf-down") MiB/s"
done
for reg in wharf cncf; do
    R[$reg.up]=$(median <"$WORK/$reg-up")
    R[$reg.down]=$(median <"$WORK/$reg-down")
done

# ---- report -----------------------------------------------------------------------------------
ratio() { calc "$1 / $2" 2; }
printf '\n%-34s %10s\n' "monolithic $MB MiB blob (median of $RUNS)" "MiB/s"
printf '%-34s %10s\n' "sha256sum" "${R[machine.sha256sum]}" "dd write + fsync" "${R[machine.dd-write]}" \
    "dd read (page cache)" "${R[machine.dd-read]}" "Wharf upload (curl PUT)" "${R[wharf.up]}" \
    "CNCF upload (curl PUT)" "${R[cncf.up]}" "Wharf download (curl GET)" "${R[wharf.down]}" \
    "CNCF download (curl GET)" "${R[cncf.down]}"
echo "mb=$MB runs=$RUNS sha256sum=${R[machine.sha256sum]} dd_write=${R[machine.dd-write]} dd_read=${R[machine.dd-read]}" \
    "wharf_up=${R[wharf.up]} cncf_up=${R[cncf.up]} up_ratio=$(ratio "${R[wharf.up]}" "${R[cncf.up]}")" \
    "up_vs_sha256sum=$(ratio "${R[wharf.up]}" "${R[machine.sha256sum]}")" \
    "wharf_down=${R[wharf.down]} cncf_down=${R[cncf.down]} down_ratio=$(ratio "${R[wharf.down]}" "${R[cncf.down]}")" \
    "down_vs_dd_read=$(ratio "${R[wharf.down]}" "${R[machine.dd-read]}")"
