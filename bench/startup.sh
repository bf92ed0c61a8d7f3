#!/usr/bin/env bash
# Start-up time and idle memory: Wharf (SQLite and blobs in a fresh data directory) against
# the CNCF registry (`docker-registry`, filesystem storage), on this machine, in one run.
#
#   bench/startup.sh [RUNS=10] [BUILD=1]
#
# Start-up: from exec to the first 200 answer (Wharf: /healthz; docker-registry: /v2/),
# polled every 5 ms; the median of RUNS first starts, each on a fresh data directory
# (Wharf's first start also creates and migrates its database), and of RUNS restarts on the
# data directory of the first. Idle memory: VmRSS 2 s after the last restart, with no
# request since. Prints a table and, last, one line of key=value pairs.
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

# Starts server NAME on data directory DIR and times it (ELAPSED); leaves it running.
start_server() { # NAME DIR
    local name=$1 dir=$2
    if [[ $name == wharf ]]; then
        start_and_time wharf "http://$HOST/healthz" "$WHARF" serve --listen "$HOST" --data-dir "$dir"
    else
        cat >"$WORK/cncf-$(basename "$dir").yml" <<YML
version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage: {filesystem: {rootdirectory: $dir}, delete: {enabled: true}}
http: {addr: $HOST}
YML
        start_and_time cncf "http://$HOST/v2/" docker-registry serve "$WORK/cncf-$(basename "$dir").yml"
    fi
}

for name in wharf cncf; do
    : >"$WORK/$name.first" ; : >"$WORK/$name.restart"
    for ((run = 0; run < RUNS; run++)); do
        start_server "$name" "$WORK/$name-data-$run"
        echo "$ELAPSED" >>"$WORK/$name.first"
        stop "$WHARF_PID"
    done
    for ((run = 0; run < RUNS; run++)); do
        start_server "$name" "$WORK/$name-data-0"
        echo "$ELAPSED" >>"$WORK/$name.restart"
        if ((run == RUNS - 1)); then
            sleep 2
            printf -v "RSS_$name" '%s' "$(rss_mib "$WHARF_PID")"
        fi
        stop "$WHARF_PID"
    done
    WHARF_PID=''
    printf -v "FIRST_$name" '%s' "$(median <"$WORK/$name.first")"
    printf -v "START_$name" '%s' "$(median <"$WORK/$name.restart")"
done

printf '%-18s %12s %16s\n' "" "Wharf" "docker-registry"
printf '%-18s %12s %16s\n' "first start (s)" "$FIRST_wharf" "$FIRST_cncf"
printf '%-18s %12s %16s\n' "restart (s)" "$START_wharf" "$START_cncf"
printf '%-18s %12s %16s\n' "idle RSS (MiB)" "$RSS_wharf" "$RSS_cncf"
echo "runs=$RUNS wharf_first_s=$FIRST_wharf cncf_first_s=$FIRST_cncf wharf_restart_s=$START_wharf cncf_restart_s=$START_cncf wharf_idle_rss_mib=$RSS_wharf cncf_idle_rss_mib=$RSS_cncf"
