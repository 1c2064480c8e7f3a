#!/usr/bin/env bash
# Smoke run of filmd's fuzz targets (fuzz/, see fuzz/README.md): builds them with
# cargo-fuzz on the stable toolchain (--sanitizer none) and runs each for a few seconds
# on a copy of its committed corpus (fuzz/corpus/<target>, which holds the seeds
# recorded from real peers and every input that once crashed: they run first).
#
#   scripts/fuzz-smoke.sh                 # every target, FUZZ_SMOKE_SECS (default 6) each
#   scripts/fuzz-smoke.sh pdu dataset     # only these targets
#
# Fails (exit 1) when a target crashes, hangs (-timeout), goes beyond the RSS limit, or
# allocates beyond the caps of fuzz/src/lib.rs (CappedAlloc); the failing input is kept
# in fuzz/artifacts/<target>/ and named in the output. Needs cargo-fuzz
# (scripts/install-peers.sh installs it) and a C++ compiler (libFuzzer is built from
# the libfuzzer-sys crate's sources).
set -euo pipefail
cd "$(dirname "$0")/.."

SECS=${FUZZ_SMOKE_SECS:-6}
# 16 codegen units build about twice as fast as cargo-fuzz's default of 1 for a run of
# seconds; fuzz/long-run.sh keeps 1 for the fastest executions.
CGU=${FUZZ_CODEGEN_UNITS:-16}
if ! command -v cargo >/dev/null 2>&1 && [ -f "$HOME/.cargo/env" ]; then
  # shellcheck disable=SC1091
  . "$HOME/.cargo/env"
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz-smoke: cargo-fuzz missing (scripts/install-peers.sh installs it)" >&2
  exit 1
fi

if [ $# -gt 0 ]; then
  targets=("$@")
else
  mapfile -t targets < <(cargo fuzz list --fuzz-dir fuzz)
fi

start=$(date +%s)
# Stable toolchain only: no sanitizer (that needs -Zsanitizer, nightly), no -Z flags.
# `cargo fuzz build NAME` builds one target; without a name it builds them all.
if [ $# -eq 0 ]; then
  cargo fuzz build --fuzz-dir fuzz --sanitizer none --codegen-units "$CGU" >&2
else
  for t in "${targets[@]}"; do cargo fuzz build --fuzz-dir fuzz --sanitizer none --codegen-units "$CGU" "$t" >&2; done
fi
built=$(date +%s)
bin_dir=fuzz/target/$(rustc -vV | sed -n 's/^host: //p')/release

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=()
for t in "${targets[@]}"; do
  mkdir -p "$work/$t" fuzz/artifacts/"$t"
  if [ -d "fuzz/corpus/$t" ]; then cp -R "fuzz/corpus/$t/." "$work/$t/"; fi
  # -timeout: one input taking 10 s is a hang. -rss_limit_mb: the process as a whole.
  # -max_len: the largest seed (a recorded PDU stream) is 64 KiB.
  # TMPDIR: the print targets' spool directory goes with the work directory.
  if TMPDIR=$work "$bin_dir/$t" "$work/$t" -max_total_time="$SECS" -timeout=10 \
      -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
      -artifact_prefix="fuzz/artifacts/$t/" >"$work/$t.log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log")
    cov=$(grep -o 'cov: [0-9]*' "$work/$t.log" | tail -1)
    echo "fuzz-smoke: $t: ok, ${runs:-?} runs, ${cov:-cov: ?}"
  else
    echo "fuzz-smoke: $t: FAILED; log follows" >&2
    tail -40 "$work/$t.log" >&2
    failed+=("$t")
  fi
done
end=$(date +%s)
echo "fuzz-smoke: build $((built - start)) s, runs $((end - built)) s"
if [ ${#failed[@]} -gt 0 ]; then
  echo "fuzz-smoke: FAILED: ${failed[*]} (inputs in fuzz/artifacts/)" >&2
  exit 1
fi
