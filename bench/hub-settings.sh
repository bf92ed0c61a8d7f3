# Shared by the Hub benchmarks (hub-tags.sh, hub-repos.sh, auditlog.sh); sourced first, before
# lib.sh. Reads their common settings from KEY=VALUE arguments and the environment, checks
# them, and defines the helpers that read and report them. The caller sets SIZE_KEY (the
# setting a bare first argument gives: TAGS, REPOS or EVENTS) with its default, calls
# `hub_settings "$@"`, and checks the value of SIZE_KEY itself.

usage() { sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0"; exit "${1:-0}"; }
log() { printf '# %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
now() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.${2:-1}f\", $1 }"; }

BACKENDS=${BACKENDS:-sqlite,postgres}
PG_URL=${PG_URL:-postgres://postgres@127.0.0.1:5432}
WRK_SECONDS=${WRK_SECONDS:-5}
WRK_THREADS=${WRK_THREADS:-2}
WRK_CONNS=${WRK_CONNS:-16}
WRK_MAX_SECONDS=${WRK_MAX_SECONDS:-60}
BUILD=${BUILD:-1}
KEEP=${KEEP:-0}

# hub_settings ARG...: sets the settings named in ARG... (KEY=VALUE, or a bare value for
# SIZE_KEY), checks them, sets BACKEND_LIST and ROOT, and changes to ROOT.
hub_settings() {
    local arg key b positional=0
    for arg in "$@"; do
        case $arg in
            -h | --help) usage 0 ;;
            "$SIZE_KEY"=* | BACKENDS=* | PG_URL=* | WRK_SECONDS=* | WRK_THREADS=* | WRK_CONNS=* | \
                WRK_MAX_SECONDS=* | BUILD=* | KEEP=*)
                printf -v "${arg%%=*}" '%s' "${arg#*=}" ;;
            *=*) echo "unknown setting: $arg (see --help)" >&2; exit 2 ;;
            *)
                ((positional == 0)) || { echo "too many arguments: $arg (see --help)" >&2; exit 2; }
                printf -v "$SIZE_KEY" '%s' "$arg"
                positional=1 ;;
        esac
    done
    for key in WRK_SECONDS WRK_THREADS WRK_CONNS WRK_MAX_SECONDS BUILD KEEP; do
        [[ ${!key} =~ ^[0-9]+$ ]] || { echo "$key must be a whole number, not '${!key}'" >&2; exit 2; }
    done
    ((WRK_SECONDS >= 1 && WRK_THREADS >= 1 && WRK_CONNS >= WRK_THREADS)) ||
        { echo "WRK_SECONDS and WRK_THREADS must be at least 1, WRK_CONNS at least WRK_THREADS" >&2; exit 2; }
    IFS=, read -r -a BACKEND_LIST <<<"$BACKENDS"
    ((${#BACKEND_LIST[@]} >= 1)) || { echo "BACKENDS is empty" >&2; exit 2; }
    for b in "${BACKEND_LIST[@]}"; do
        [[ $b == sqlite || $b == postgres ]] || { echo "BACKENDS may hold sqlite and postgres, not '$b'" >&2; exit 2; }
    done
    [[ $PG_URL =~ ^postgres(ql)?://[^/]+/?$ ]] ||
        { echo "PG_URL must be postgres://USER@HOST:PORT without a database name, not '$PG_URL'" >&2; exit 2; }
    PG_URL=${PG_URL%/}
    ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    cd "$ROOT"
}

# sizes_in LIST: checks LIST (the comma-separated value of SIZE_KEY) and sets SIZES from it;
# each must be a multiple of 100 from 200 to 10,000,000.
sizes_in() {
    local n
    IFS=, read -r -a SIZES <<<"$1"
    ((${#SIZES[@]} >= 1)) || { echo "$SIZE_KEY is empty" >&2; exit 2; }
    for n in "${SIZES[@]}"; do
        [[ $n =~ ^[0-9]+$ ]] && ((n >= 200 && n % 100 == 0 && n <= 10000000)) ||
            { echo "each of $SIZE_KEY must be a multiple of 100 from 200 to 10000000, not '$n'" >&2; exit 2; }
    done
}

# need TOOL...: fails unless every TOOL is installed (and cargo, unless BUILD=0).
need() {
    local tool
    for tool in "$@"; do
        command -v "$tool" >/dev/null || die "$tool is needed and not installed"
    done
    ((BUILD == 0)) || command -v cargo >/dev/null || die "cargo is needed (or BUILD=0 with a built binary)"
}
