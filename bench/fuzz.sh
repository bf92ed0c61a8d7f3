#!/usr/bin/env bash
# Fuzzing with libFuzzer (cargo-fuzz): every target in fuzz/ for SECONDS each (default 300),
# with AddressSanitizer. The first build compiles Wharf instrumented and takes a while
# (about half an hour on 2 cores). Every `cargo test` already runs the same code on random
# inputs (src/fuzzing/mod.rs); this digs deeper, guided by coverage.
#
#   bench/fuzz.sh [SECONDS=300] [TARGET ...]
#
# SANITIZER=none: no AddressSanitizer, optimized (`cargo fuzz run -O -s none`); the first
# build then takes about 9 minutes on 2 cores instead of about half an hour, and runs are
# faster. Safe Rust gains little from ASan; the C code linked in (SQLite) does.
# SANITIZER=none PROFILE=dev: unoptimized (`cargo fuzz run --dev -s none`, with the password
# hash and SQLite optimized, see fuzz/Cargo.toml); builds in about 5 minutes. `.ci/run` runs
# every target this way for 20 s:   SANITIZER=none PROFILE=dev bench/fuzz.sh 20
#
# Exits non-zero on the first crash; libFuzzer leaves the input in fuzz/artifacts/TARGET/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-300}"
shift || true
command -v cargo-fuzz >/dev/null 2>&1 || cargo install cargo-fuzz --version 0.13.2 --locked
targets=("$@")
mode=()
if [ "${SANITIZER:-address}" = none ]; then
  mode=(-s none)
  if [ "${PROFILE:-release}" = dev ]; then mode+=(--dev); else mode+=(-O); fi
fi
[ ${#targets[@]} -gt 0 ] || targets=(oci_names manifest ranges scim_filter hub_json)
for target in "${targets[@]}"; do
  extra=()
  [ -f "fuzz/$target.dict" ] && extra=("-dict=fuzz/$target.dict")
  echo "fuzz: $target for $seconds s" >&2
  # RUSTC_BOOTSTRAP=1: stable Rust takes the sanitizer flags cargo-fuzz passes.
  RUSTC_BOOTSTRAP=1 cargo fuzz run "${mode[@]}" "$target" -- -max_total_time="$seconds" "${extra[@]}"
done
