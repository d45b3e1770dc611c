#!/usr/bin/env bash
# Runs a fuzz target. The toolchain is stable: RUSTC_BOOTSTRAP=1 lets
# cargo-fuzz use the nightly-only sanitizer flags. Crashes land in
# fuzz/artifacts/<target>/; new inputs in fuzz/corpus/<target> (not committed).
#   compile  any bytes as a profile: no panic, diagnostics render, output
#            parses back (seeded with profiles/ and the bad corpus tests/bad)
#   yaml     any value: src/yaml.rs writes exactly what serde_norway writes
# Usage: fuzz/run.sh [SECONDS] [TARGET]   (default 600 compile)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-600}"
target="${2:-compile}"
mkdir -p "fuzz/corpus/$target"
case "$target" in
  compile) seeds=(tests/bad profiles); extra=(-dict=fuzz/dict) ;;
  yaml) seeds=(); extra=() ;;
  *) echo "unknown target $target (compile or yaml)" >&2; exit 2 ;;
esac
RUSTC_BOOTSTRAP=1 exec cargo fuzz run -O "$target" "fuzz/corpus/$target" "${seeds[@]}" -- \
  "${extra[@]}" -max_total_time="$seconds" -max_len=4096 -timeout=10 -print_final_stats=1
