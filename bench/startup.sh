#!/usr/bin/env bash
# Start-up time and idle memory: Wharf (SQLite and blobs in a fresh data directory) against
# the CNCF registry (`docker-registry`, filesystem storage), on this machine, in one run.
#
#   bench/startup.sh [RUNS=10] [BUILD=1]
#
# Start-up: from exec to the first 200 answer (Wharf: /healthz; docker-registry: /v2/),
# polled every 5 ms; the median of RUNS starts, each on a fresh data directory (Wharf's
# first start also creates its database). Idle memory: VmRSS 2 s after the last start, with
# no request since. Prints a table and, last, one line of key=value pairs.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
RUNS=${1:-${RUNS:-10}}
BUILD=${BUILD:-1}
KEEP=0 PG_URL='' BENCH_NAME=startup
log() { echo "startup: $*" >&2; }
die() { log "$*"; exit 1; }
# shellcheck source=bench/lib.sh
source bench/lib.sh
command -v docker-registry >/dev/null || die "docker-registry is not installed (apt-get install docker-registry)"

# Starts COMMAND and sets ELAPSED to the seconds from exec to the first 200 of URL; leaves
# the process running as WHARF_PID (so that the clean-up on exit stops it).
start_and_time() { # NAME URL COMMAND...
    local name=$1 url=$2 t0 i
    shift 2
    t0=$(date +%s.%N)
    "$@" >>"$WORK/logs/$name.log" 2>&1 &
    WHARF_PID=$!
    for ((i = 0; i < 6000; i++)); do
        [[ $(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "$url" || true) == 200 ]] && break
        sleep 0.005
    done
    ELAPSED=$(python3 -c "print(f'{$(date +%s.%N) - $t0:.4f}')")
}
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
rss_mib() { awk '/^VmRSS:/ { printf "%.1f", $2 / 1024 }' "/proc/$1/status"; }

for name in wharf cncf; do
    : >"$WORK/$name.times"
    for ((run = 0; run < RUNS; run++)); do
        dir="$WORK/$name-data-$run"
        if [[ $name == wharf ]]; then
            start_and_time wharf "http://$HOST/healthz" "$WHARF" serve --listen "$HOST" --data-dir "$dir"
        else
            cat >"$WORK/cncf.yml" <<YML
version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $dir}, delete: {enabled: true}}
http: {addr: $HOST}
YML
            start_and_time cncf "http://$HOST/v2/" docker-registry serve "$WORK/cncf.yml"
        fi
        echo "$ELAPSED" >>"$WORK/$name.times"
        if ((run == RUNS - 1)); then
            sleep 2
            printf -v "RSS_$name" '%s' "$(rss_mib "$WHARF_PID")"
        fi
        stop "$WHARF_PID"
        WHARF_PID=
    done
    printf -v "START_$name" '%s' "$(median <"$WORK/$name.times")"
done

printf '%-16s %12s %12s\n' "" "Wharf" "docker-registry"
printf '%-16s %12s %12s\n' "start-up (s)" "$START_wharf" "$START_cncf"
printf '%-16s %12s %12s\n' "idle RSS (MiB)" "$RSS_wharf" "$RSS_cncf"
echo "runs=$RUNS wharf_start_s=$START_wharf cncf_start_s=$START_cncf wharf_idle_rss_mib=$RSS_wharf cncf_idle_rss_mib=$RSS_cncf"
