#!/usr/bin/env bash
# The long run of fuzz/README.md: every target in turn, one at a time, at nice 19, each
# for SECS seconds (default 60) on a copy of its corpus; prints one line per target.
#   fuzz/long-run.sh [SECS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-60}
shift || true
bin_dir=fuzz/target/$(rustc -vV | sed -n 's/^host: //p')/release
if [ $# -gt 0 ]; then targets=("$@"); else mapfile -t targets < <(cargo fuzz list --fuzz-dir fuzz); fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
for t in "${targets[@]}"; do
  mkdir -p "$work/$t" fuzz/artifacts/"$t"
  cp -R "fuzz/corpus/$t/." "$work/$t/"
  if TMPDIR=$work nice -n 19 "$bin_dir/$t" "$work/$t" -max_total_time="$secs" -timeout=10 \
      -rss_limit_mb=2048 -max_len=65536 -print_final_stats=1 \
      -artifact_prefix="fuzz/artifacts/$t/" >"$work/$t.log" 2>&1; then
    result=ok
  else
    result=FAILED
    status=1
    tail -30 "$work/$t.log" >&2
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log")
  last=$(grep -E '^#[0-9]+' "$work/$t.log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' <<<"$last" | tail -1)
  ft=$(grep -o 'ft: [0-9]*' <<<"$last" | tail -1)
  corp=$(grep -o 'corp: [0-9]*' <<<"$last" | tail -1)
  echo "$t $result runs=${runs:-?} ${cov:-} ${ft:-} ${corp:-}"
done
exit $status
