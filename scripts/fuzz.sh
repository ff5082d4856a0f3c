#!/usr/bin/env bash
# Runs every fuzz target of tests/fuzz for FUZZ_SECONDS (default 30) each, starting from the
# seed corpus in tests/fuzz/corpus/<target> (real agent replies, traps, syslog lines and NATS
# messages). New inputs go to target/fuzz-corpus/<target>, crashes to tests/fuzz/artifacts/.
# Needs the nightly toolchain (libFuzzer's instrumentation); installs cargo-fuzz, pinned, into
# tools/cargo-fuzz when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${FUZZ_SECONDS:-30}
cargo_fuzz_version=0.13.1

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  echo "fuzz: installing the nightly toolchain (minimal profile)"
  rustup toolchain install nightly --profile minimal
fi
if [ ! -x tools/cargo-fuzz/bin/cargo-fuzz ] ||
   ! tools/cargo-fuzz/bin/cargo-fuzz --version | grep -q "$cargo_fuzz_version"; then
  echo "fuzz: installing cargo-fuzz $cargo_fuzz_version into tools/cargo-fuzz"
  cargo install --quiet --locked --root tools/cargo-fuzz cargo-fuzz --version "$cargo_fuzz_version"
fi
export PATH="$PWD/tools/cargo-fuzz/bin:$PATH"

cd tests/fuzz
targets=$(cargo +nightly fuzz list --fuzz-dir .)
cargo +nightly fuzz build --fuzz-dir . -O
failed=()
for target in $targets; do
  work="../../target/fuzz-corpus/$target"
  mkdir -p "$work"
  echo "fuzz: $target for ${seconds}s"
  log="$work.log"
  status=0
  cargo +nightly fuzz run --fuzz-dir . -O "$target" "$work" "corpus/$target" -- \
    -max_total_time="$seconds" -print_final_stats=1 >"$log" 2>&1 || status=$?
  grep -E "^(Done|stat::new_units_added)|panicked|ERROR|SUMMARY|Test unit written" "$log" || true
  if [ "$status" -ne 0 ]; then
    failed+=("$target")
    tail -n 40 "$log"
  fi
done
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz: FAILED: ${failed[*]} (inputs in tests/fuzz/artifacts/)"
  exit 1
fi
echo "fuzz: every target ran ${seconds}s without a crash"
