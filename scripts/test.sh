#!/usr/bin/env bash
# The project's test command: installs the test peers, then runs the tests.
#   scripts/test.sh                  # everything
#   scripts/test.sh ipp_recovery     # extra arguments go to `cargo nextest run`
#
# CI (CI=true in the environment, as .ci/run sets it) is passed through to the
# tests unchanged: there a missing peer is a test failure, never a skip. In CI a
# failing scripts/install-peers.sh stops here; outside CI it only warns, so the
# tests that need no peer still run, and those whose peer is missing are counted
# as skipped in nextest's summary, never as passed.
set -euo pipefail
cd "$(dirname "$0")/.."

if [ -n "${CI:-}" ]; then export CI; fi

if ! scripts/install-peers.sh; then
  if [ "${CI:-}" = true ]; then
    echo "test.sh: peers missing, and CI=true: failing" >&2
    exit 1
  fi
  echo "test.sh: WARNING: peers missing (see above); peer tests will skip" >&2
fi

if ! command -v cargo >/dev/null 2>&1 && [ -f "$HOME/.cargo/env" ]; then
  # shellcheck disable=SC1091
  . "$HOME/.cargo/env"
fi

# The test run itself, with cargo-nextest (settings in .config/nextest.toml): every
# test in a process group of its own and stopped after 5 minutes, so a hung peer
# fails one test instead of holding the whole run. Flags are a choice:
#   --release      the peer/interop tests push real images through the PDF
#                  writer; an optimised build keeps them fast (the test profile
#                  in Cargo.toml already uses opt-level 2).
#   lib, bins, integration tests and examples run under nextest; the benches
#   (criterion's harness-less ones and benches/page.rs) then run once each as
#   tests under `cargo test --bench NAME`, as `--all-targets` used to.
# Extra arguments go to `cargo nextest run` (e.g. `-- --no-capture`, a test name).
if ! cargo nextest --version >/dev/null 2>&1; then
  echo "test.sh: cargo-nextest missing: installing it from crates.io" >&2
  cargo install --locked cargo-nextest
fi
status=0
# --features jpeg-ls: the JPEG-LS decoder (CharLS, built with cmake, which
# scripts/install-peers.sh installs), so that tests/it/modality.rs covers every syntax.
FEATURES=(--features jpeg-ls)
cargo nextest run --release "${FEATURES[@]}" --lib --bins --tests --examples "$@" || status=$?
if [ $# -eq 0 ]; then
  # With arguments (a filter, nextest options) only the nextest run is made.
  shopt -s nullglob
  benches=()
  for b in benches/*.rs; do benches+=(--bench "$(basename "$b" .rs)"); done
  if [ ${#benches[@]} -gt 0 ]; then
    cargo test --release "${FEATURES[@]}" "${benches[@]}" || status=$?
  fi
  # Then a few seconds of every fuzz target (fuzz/README.md): a crash, a hang or an
  # allocation beyond the caps fails the run. FILMD_SKIP_FUZZ_SMOKE=1 skips it
  # outside CI (the instrumented build takes a few minutes the first time).
  if [ "${CI:-}" = true ] || [ "${FILMD_SKIP_FUZZ_SMOKE:-}" != 1 ]; then
    scripts/fuzz-smoke.sh || status=$?
  fi
fi
exit "$status"
