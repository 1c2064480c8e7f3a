#!/usr/bin/env bash
# W3, sustained throughput: is filmd bound by the CPU or by fsync?
#
#   scripts/bench-w3.sh                 # ASSOCS=256 FILMS=2 by default
#   KEEP=/tmp/w3 scripts/bench-w3.sh    # keep the JSON reports and filmd's log
#   BIN=/tmp/w3-before scripts/bench-w3.sh  # binaries of another build (see below)
#
# W3 is 256 associations x 2 films of 8INX10IN `STANDARD\1,1`, one 512x512 12-bit image
# each, film box N-ACTION, against filmd's default queue (archive only: one PDF per film
# in DATA/pdf). In one run:
#   filmd      a fresh `filmd serve --listen 127.0.0.1:0` on a temp data dir; the load
#              generator's report (films/s acknowledged, N-ACTION p50/p99), then the wait
#              until every PDF is in DATA/pdf: sustained = films / (time from the load
#              generator's start to the last PDF); filmd's peak RSS (VmHWM of
#              /proc/PID/status) before it is stopped by PID;
#   CPU limit  examples/w3_cpu.rs composes and encodes the same film (the load
#              generator's test image, the default queue's device) CPU_FILMS times in
#              each of five rounds in one process and reads its CPU time with
#              getrusage(2): the limit is nproc / (CPU seconds per film of the median
#              round), what two busy cores could sustain. In rounds taken in turn with
#              those, it also writes each PDF durably as the archive does: the limit
#              with the PDFs written, a rate no server that keeps them can exceed.
# Then both, and sustained / limit (the target is >= 90%), and where the cores went:
# filmd's compose threads, the rest of filmd, the load generator, everything else, idle.
# Last, the ceiling this run leaves for the target: nproc / (CPU per film with the PDF
# written + the load generator's CPU per film), the rate of a server whose intake,
# database, scheduling and kernel threads cost nothing and whose cores never idle, as a
# share of the limit.
# The figures are noisy when other work shares the cores: the load average is printed
# before each step; compare runs taken in the same minute.
set -euo pipefail
cd "$(dirname "$0")/.."

ASSOCS="${ASSOCS:-256}"
FILMS="${FILMS:-2}"
CPU_FILMS="${CPU_FILMS:-40}"
FORMAT='STANDARD\1,1'
SIZE=8INX10IN
PIXELS=512
BITS=12

for c in python3 awk; do
  command -v "$c" >/dev/null 2>&1 || { echo "bench-w3: $c missing" >&2; exit 1; }
done
# GNU time measures the load generator's CPU (apt-get install time).
[ -x /usr/bin/time ] || { echo "bench-w3: /usr/bin/time (GNU time) missing" >&2; exit 1; }
if ! command -v cargo >/dev/null 2>&1 && [ -f "$HOME/.cargo/env" ]; then
  # shellcheck disable=SC1091
  . "$HOME/.cargo/env"
fi
# BIN=DIR runs the filmd, filmd-loadgen and w3_cpu binaries copied there (an older
# build, for a before/after comparison) instead of building this tree's.
if [ -n "${BIN:-}" ]; then
  FILMD="$BIN/filmd" LOADGEN="$BIN/filmd-loadgen" W3CPU="$BIN/w3_cpu"
else
  cargo build --release --bin filmd --bin filmd-loadgen --example w3_cpu
  FILMD="$PWD/target/release/filmd"
  LOADGEN="$PWD/target/release/filmd-loadgen"
  W3CPU="$PWD/target/release/examples/w3_cpu"
fi

work="$(mktemp -d)"
filmd_pid=""
cleanup() {
  if [ -n "$filmd_pid" ] && kill -0 "$filmd_pid" 2>/dev/null; then kill "$filmd_pid"; fi
  if [ -n "${KEEP:-}" ]; then mkdir -p "$KEEP" && cp "$work"/*.json "$work"/*.log "$work"/*.txt "$KEEP"/ 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

now() { date +%s.%N; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

echo "bench-w3: $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD)$(git diff --quiet || echo '+dirty'), $(nproc) cores, load $(load)"

d="$work/filmd"
mkdir -p "$d"
# Every association at once: the defaults (32 associations, 16 per host, 64 connections
# before their A-ASSOCIATE-RQ) would refuse or close most of them.
printf '[server]\nmax_associations = %d\nmax_associations_per_host = %d\nmax_pending = %d\n' \
  $((ASSOCS + 8)) $((ASSOCS + 8)) $((ASSOCS + 8)) >"$d/filmd.toml"
if [ -n "${COMPOSE_WORKERS:-}" ]; then
  printf '[spool]\ncompose_workers = %d\n' "$COMPOSE_WORKERS" >>"$d/filmd.toml"
fi
"$FILMD" serve --config "$d/filmd.toml" --listen 127.0.0.1:0 --http-listen 127.0.0.1:0 \
  --data-dir "$d/data" \
  >"$d/stdout" 2>"$work/filmd.log" &
filmd_pid=$!
port=""
for _ in $(seq 300); do
  port="$(sed -n 's/^listening.* on .*:\([0-9]*\)$/\1/p' "$d/stdout" | head -1)"
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "bench-w3: filmd did not start" >&2; cat "$d/stdout" "$work/filmd.log" >&2; exit 1; }

args=(--port "$port" --called-ae FILMD --associations "$ASSOCS" --films "$FILMS"
  --format "$FORMAT" --film-size "$SIZE" --rows "$PIXELS" --cols "$PIXELS" --bits "$BITS"
  --timeout 300 --connect-timeout 60 --json)
echo "filmd: $LOADGEN ${args[*]}  (load $(load))"
rc=0
# The machine's CPU ticks (user, nice, system, irq, softirq, steal) and idle (idle, iowait)
# over the run, from /proc/stat's first line.
machine_ticks() { awk '/^cpu /{print $2 + $3 + $4 + $7 + $8 + $9, $5 + $6}' /proc/stat; }
read -r busy0 idle0 < <(machine_ticks)
t0=$(now)
/usr/bin/time -f '%U %S' -o "$work/loadgen-cpu.txt" "$LOADGEN" "${args[@]}" >"$work/loadgen.json" || rc=$?
t_ack=$(now)
# Only acknowledged films make PDFs.
want=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["films_ok"])' "$work/loadgen.json")
pdfs=0
# Counted with a glob, not find | wc, and waited for with read's timeout on a pipe that
# never speaks, not sleep(1): the polling forks nothing, so it takes next to no CPU from
# the cores it measures (a sleep process 50 times a second cost ~3% of them).
shopt -s nullglob
exec {never}<> <(:)
for _ in $(seq 60000); do
  pdf_files=("$d"/data/pdf/*.pdf)
  pdfs=${#pdf_files[@]}
  [ "$pdfs" -ge "$want" ] && break
  kill -0 "$filmd_pid" 2>/dev/null || break
  read -r -t 0.02 -u "$never" || true
done
exec {never}<&-
shopt -u nullglob
t1=$(now)
read -r busy1 idle1 < <(machine_ticks)
# filmd's threads: the spool's compose threads; its other live threads (intake: tokio's
# workers, SQLite, the payloads); and threads that have exited (the process total less its
# live threads: the helpers a composition alone starts, tokio's blocking threads that
# intake's block_in_place left behind), which cannot be told apart once gone. Parsed in
# bash: the name between the parentheses may hold spaces.
compose_ticks=0
other_ticks=0
live_ticks=0
for task in /proc/"$filmd_pid"/task/*; do
  read -r line <"$task/stat" || continue
  comm=${line#*(}
  comm=${comm%) *}
  read -r -a fields <<<"${line##*) }"
  ticks=$((fields[11] + fields[12]))
  live_ticks=$((live_ticks + ticks))
  case "$comm" in
    spool-compose*) compose_ticks=$((compose_ticks + ticks)) ;;
    *) other_ticks=$((other_ticks + ticks)) ;;
  esac
done
hwm=$(awk '/^VmHWM:/{print $2}' "/proc/$filmd_pid/status")
# filmd's own CPU time (utime + stime, fields 14 and 15 after the command name).
cpu_ticks=$(sed 's/^.*) //' "/proc/$filmd_pid/stat" | awk '{print $12 + $13}')
hz=$(getconf CLK_TCK)
cpu_s=$(awk "BEGIN{print $cpu_ticks / $hz}")
compose_s=$(awk "BEGIN{print $compose_ticks / $hz}")
intake_s=$(awk "BEGIN{print $other_ticks / $hz}")
exited_s=$(awk "BEGIN{print ($cpu_ticks - $live_ticks) / $hz}")
machine_busy_s=$(awk "BEGIN{print ($busy1 - $busy0) / $hz}")
machine_idle_s=$(awk "BEGIN{print ($idle1 - $idle0) / $hz}")
# The last line: GNU time writes "Command exited with non-zero status N" first when the
# load generator fails.
loadgen_s=$(awk 'END{print $1 + $2}' "$work/loadgen-cpu.txt" 2>/dev/null || echo 0)
kill "$filmd_pid"
wait "$filmd_pid" || true
filmd_pid=""
echo "{\"loadgen_exit\": $rc, \"outputs\": $pdfs, \"ack_s\": $(awk "BEGIN{print $t_ack - $t0}"), \"e2e_s\": $(awk "BEGIN{print $t1 - $t0}"), \"peak_rss_kib\": $hwm, \"filmd_cpu_s\": $cpu_s, \"compose_s\": $compose_s, \"intake_s\": $intake_s, \"exited_s\": $exited_s, \"loadgen_s\": ${loadgen_s:-0}, \"machine_busy_s\": $machine_busy_s, \"machine_idle_s\": $machine_idle_s}" \
  >"$work/extra.json"

echo "CPU limit: $W3CPU --films $CPU_FILMS  (load $(load))"
"$W3CPU" --films "$CPU_FILMS" | tee "$work/cpu.txt"

python3 - "$work" "$((ASSOCS * FILMS))" "$(nproc)" <<'EOF'
import json, sys
work, want, cores = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
with open(f"{work}/loadgen.json") as f:
    r = json.load(f)
with open(f"{work}/extra.json") as f:
    r.update(json.load(f))
with open(f"{work}/cpu.txt") as f:
    cpu = dict(kv.split("=", 1) for kv in f.read().split()[1:])
sustained = r["outputs"] / r["e2e_s"] if r["e2e_s"] > 0 else 0
limit = float(cpu["limit_films_per_s"])
print()
# filmd's CPU over the run: per film, and how many cores it kept busy on average (below
# nproc on a quiet machine means it waited, on fsyncs or for work).
served = max(r["outputs"], 1)
busy = r["filmd_cpu_s"] / r["e2e_s"] if r["e2e_s"] > 0 else 0
print("| films ok/failed | acknowledged in | N-ACTION p50 / p99 ms | last PDF after | sustained films/s "
      "| CPU limit films/s (CPU per film) | sustained / limit | filmd CPU per film, cores busy | peak RSS |")
print("|---|---|---|---|---|---|---|---|---|")
print(f"| {r['films_ok']}/{r['films_failed']} | {r['ack_s']:.1f} s | {r['n_action']['p50_ms']:.0f} / "
      f"{r['n_action']['p99_ms']:.0f} | {r['e2e_s']:.1f} s ({r['outputs']}/{want} PDFs) "
      f"| {sustained:.2f} | {limit:.2f} ({float(cpu['cpu_ms_per_film']):.1f} ms, rounds "
      f"{float(cpu['cpu_ms_per_film_min']):.1f}–{float(cpu['cpu_ms_per_film_max']):.1f}) "
      f"| {100 * sustained / limit:.0f}% | {1000 * r['filmd_cpu_s'] / served:.0f} ms, {busy:.2f} "
      f"| {r['peak_rss_kib'] / 1024:.0f} MiB |")
# Where the cores went between the load generator's start and the last PDF: core-seconds
# (cores x seconds) of filmd's compose threads, of its other live threads (intake), of its
# threads that have exited (composition helpers, tokio's blocking threads), of the load
# generator, of everything else (the kernel's own threads: ext4's journal, writeback; this
# script), and idle, each as a share of all of them.
total = cores * r["e2e_s"]
other = max(r["machine_busy_s"] - r["filmd_cpu_s"] - r["loadgen_s"], 0)
if total > 0 and r["machine_busy_s"] + r["machine_idle_s"] > 0:
    print()
    print("| core-seconds | filmd compose | filmd intake | filmd exited threads "
          "| load generator | other | idle |")
    print("|---|---|---|---|---|---|---|")
    cells = [r["compose_s"], r["intake_s"], r["exited_s"], r["loadgen_s"], other,
             r["machine_idle_s"]]
    print(f"| {total:.1f} | " + " | ".join(f"{c:.2f} ({100 * c / total:.0f}%)" for c in cells) + " |")
    print(f"compose per film {1000 * r['compose_s'] / served:.1f} ms, intake per film "
          f"{1000 * r['intake_s'] / served:.1f} ms, load generator per film "
          f"{1000 * r['loadgen_s'] / served:.1f} ms")
# The ceiling: what is left of the cores for composing, encoding and writing the PDFs once
# the load generator has had its share, at this run's cost per film of each. An upper
# bound: it counts nothing for intake, the database, scheduling or the kernel's own
# threads (printed beside it), and no idle.
if "limit_written_films_per_s" in cpu and total > 0:
    written_ms = float(cpu["cpu_ms_per_film_written"])
    loadgen_ms = 1000 * r["loadgen_s"] / served
    ceiling = cores / ((written_ms + loadgen_ms) / 1000)
    print()
    print(f"limit with the PDFs written: {float(cpu['limit_written_films_per_s']):.2f} films/s "
          f"({written_ms:.1f} ms); sustained / that limit {100 * sustained / float(cpu['limit_written_films_per_s']):.0f}%")
    print(f"ceiling under this load: {ceiling:.2f} films/s ({written_ms:.1f} ms written + "
          f"{loadgen_ms:.1f} ms load generator), {100 * ceiling / limit:.0f}% of the limit; "
          f"the machine's other work beside it: {1000 * other / served:.1f} ms per film")
if r["failures"] or r["warnings"] or r["association_errors"] or r["loadgen_exit"]:
    print(f"load generator: exit {r['loadgen_exit']}, failures {r['failures']}, "
          f"warnings {r['warnings']}, association errors {r['association_errors']}")
EOF
echo "bench-w3: done, load $(load)"
