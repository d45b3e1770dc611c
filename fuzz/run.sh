#!/usr/bin/env bash
# Runs the `compile` fuzz target. The toolchain is stable: RUSTC_BOOTSTRAP=1
# lets cargo-fuzz use the nightly-only sanitizer flags. New inputs go to
# fuzz/corpus/compile (not committed); the committed profiles and the bad-
# profile corpus under tests/bad seed it. Crashes land in fuzz/artifacts/.
# Usage: fuzz/run.sh [SECONDS]   (default 600)
set -euo pipefail
cd "$(dirname "$0")/.."
seconds="${1:-600}"
mkdir -p fuzz/corpus/compile
RUSTC_BOOTSTRAP=1 exec cargo fuzz run -O compile fuzz/corpus/compile tests/bad profiles -- \
  -dict=fuzz/dict -max_total_time="$seconds" -max_len=4096 -timeout=10 -print_final_stats=1
