#!/usr/bin/env bash
# W1, print intake: filmd against DCMTK's dcmprscp, driven by filmd-loadgen.
#
#   sudo scripts/bench-w1.sh            # ASSOCS="8 1" FILMS=10 by default
#   sudo TLS=1 scripts/bench-w1.sh      # and filmd over DICOM TLS beside plain TCP
#   sudo CONSOLE_POLL=1 scripts/bench-w1.sh  # and filmd with its web console watched
#   sudo BASELINE=/path/to/old/filmd scripts/bench-w1.sh  # and an older filmd build beside
#                                       # this one, in the same run (a regression check)
#
# W1 is `STANDARD\2,2` on 14INX17IN, four different 1024x1024 12-bit images per film
# (8.39 MB of pixel data), film box N-ACTION, filmd writing PDFs (its default queue).
# For each association count in ASSOCS (FILMS films each):
#   filmd      a fresh `filmd serve --listen 127.0.0.1:0` on a temp data dir; the load
#              generator's report, then the wait until every PDF is in DATA/pdf (end to
#              end: from the load generator's start to the last PDF), then filmd's peak
#              RSS (VmHWM of /proc/PID/status) before it is stopped by PID;
#   dcmprscp   a fresh DCMTK dcmprscp with a generated config. It binds 0.0.0.0, so it
#              and the load generator run inside one `unshare --net` namespace whose only
#              interface is lo: no traffic can leave the machine. It serves one
#              association at a time: the others wait in its listen backlog, so the load
#              generator's connect timeout is long and its "associate" latencies show the
#              queueing. It stores each film as DICOM objects (no rendering); the
#              Stored Print objects in its database are counted as its output.
#   filmd TLS  (with TLS=1) the same filmd run over DICOM TLS (PS3.15 B.9): a CA and
#              certificates for filmd and the client (RSA 2048, made here with openssl),
#              `[tls] listen` only (server.listen = "") with require_client_cert, the
#              load generator with --tls-ca and its certificate: every association pays
#              a full TLS 1.3 handshake with mutual authentication.
#   filmd console  every filmd run has its web console (on by default) on a free
#              loopback port (`--http-listen 127.0.0.1:0`), idle. With CONSOLE_POLL=1 a
#              second run has it watched from before the load generator starts until
#              the last PDF: headless Chromium keeps the overview open (its live
#              refresh follows every spool change over SSE; tests/peers/console_browser.py
#              --scenario watch) while a loop GETs /metrics and /api/v1/jobs once a
#              second (each GET's time and status recorded). Needs chromium,
#              chromium-driver and selenium (scripts/install-peers.sh) and curl.
# Then a table: server, associations, films/s, MB/s, N-ACTION p50/p99, filmd/dcmprscp;
# with CONSOLE_POLL=1 a second one: idle console beside watched console, and what the
# watchers saw (GET times, failures, the browser's live refreshes).
# Needs root (unshare --net), dcmtk (scripts/install-peers.sh), python3 for the table.
# The raw JSON reports stay in $KEEP if set.
set -euo pipefail
cd "$(dirname "$0")/.."

ASSOCS="${ASSOCS:-8 1}"
FILMS="${FILMS:-10}"
FORMAT='STANDARD\2,2'
SIZE=14INX17IN
PIXELS=1024
BITS=12
DCM_PORT=10400

[ "$(id -u)" = 0 ] || { echo "bench-w1: needs root for unshare --net" >&2; exit 1; }
TLS="${TLS:-0}"
CONSOLE_POLL="${CONSOLE_POLL:-0}"
BASELINE="${BASELINE:-}"
if [ -n "$BASELINE" ] && [ ! -x "$BASELINE" ]; then
  echo "bench-w1: BASELINE=$BASELINE is not an executable" >&2; exit 1
fi
for c in dcmprscp unshare ip ss python3 $([ "$TLS" = 1 ] && echo openssl) \
         $([ "$CONSOLE_POLL" = 1 ] && echo curl chromium chromedriver); do
  command -v "$c" >/dev/null 2>&1 || { echo "bench-w1: $c missing (scripts/install-peers.sh)" >&2; exit 1; }
done
if [ "$CONSOLE_POLL" = 1 ] && ! python3 -c 'import selenium' 2>/dev/null; then
  echo "bench-w1: python3 cannot import selenium (scripts/install-peers.sh)" >&2; exit 1
fi
if ! command -v cargo >/dev/null 2>&1 && [ -f "$HOME/.cargo/env" ]; then
  # shellcheck disable=SC1091
  . "$HOME/.cargo/env"
fi
cargo build --release --bin filmd --bin filmd-loadgen
FILMD="$PWD/target/release/filmd"
LOADGEN="$PWD/target/release/filmd-loadgen"

work="$(mktemp -d)"
filmd_pid=""
browser_pid=""
poller_pid=""
cleanup() {
  if declare -F stop_watchers >/dev/null; then stop_watchers; fi
  if [ -n "$filmd_pid" ] && kill -0 "$filmd_pid" 2>/dev/null; then kill "$filmd_pid"; fi
  if [ -n "${KEEP:-}" ]; then mkdir -p "$KEEP" && cp "$work"/*.json "$work"/*.log "$KEEP"/ 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

LOADGEN_ARGS=(--format "$FORMAT" --film-size "$SIZE" --rows "$PIXELS" --cols "$PIXELS"
  --bits "$BITS" --films "$FILMS" --json)
now() { date +%s.%N; }
load() { cut -d' ' -f1-3 /proc/loadavg; }

echo "bench-w1: $(date -u +%FT%TZ), commit $(git rev-parse --short HEAD)$(git diff --quiet || echo '+dirty'), $(nproc) cores, load $(load)"

# A CA, filmd's certificate for 127.0.0.1 and a client certificate, in $work/pki.
make_pki() {
  local p="$work/pki" who
  mkdir -p "$p"
  openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=bench-w1 CA" \
    -keyout "$p/ca.key" -out "$p/ca.pem" 2>/dev/null
  for who in server client; do
    openssl req -newkey rsa:2048 -nodes -subj "/CN=bench-w1 $who" \
      -keyout "$p/$who.key" -out "$p/$who.csr" 2>/dev/null
    printf 'subjectAltName = IP:127.0.0.1\nextendedKeyUsage = %sAuth\n' "$who" >"$p/$who.ext"
    openssl x509 -req -in "$p/$who.csr" -CA "$p/ca.pem" -CAkey "$p/ca.key" -CAcreateserial \
      -days 2 -extfile "$p/$who.ext" -out "$p/$who.pem" 2>/dev/null
  done
  printf '[server]\nlisten = ""\n[tls]\nlisten = "127.0.0.1:0"\ncert = "%s"\nkey = "%s"\nclient_ca = "%s"\nrequire_client_cert = true\n' \
    "$p/server.pem" "$p/server.key" "$p/ca.pem" >"$p/filmd.toml"
}

# The console's watchers for run NAME on http://127.0.0.1:PORT: headless Chromium with
# the overview open (until its stdin, a FIFO held open on fd 9, is closed) and a loop
# GETting /metrics and /api/v1/jobs each second, writing one line per GET:
# "path http_code seconds bytes".
start_watchers() {
  local name=$1 http=$2 d="$work/$1" base="http://127.0.0.1:$2"
  mkfifo "$d/browser.in"
  python3 tests/peers/console_browser.py --base "$base" --scenario watch --timeout 60 \
    <"$d/browser.in" >"$d/browser.out" 2>"$d/browser.err" &
  browser_pid=$!
  exec 9>"$d/browser.in"
  for _ in $(seq 600); do
    grep -q '^READY watching' "$d/browser.out" 2>/dev/null && break
    kill -0 "$browser_pid" 2>/dev/null || break
    sleep 0.1
  done
  grep -q '^READY watching' "$d/browser.out" 2>/dev/null ||
    { echo "bench-w1: the browser did not open the console" >&2; cat "$d/browser.out" "$d/browser.err" >&2; exit 1; }
  (
    trap 'exit 0' TERM
    while :; do
      for path in /metrics /api/v1/jobs; do
        printf '%s %s\n' "$path" \
          "$(curl -s -o /dev/null -m 10 -w '%{http_code} %{time_total} %{size_download}' "$base$path")"
      done
      sleep 1
    done
  ) >"$d/poll.log" 2>/dev/null &
  poller_pid=$!
}

# Stops the watchers (by PID): the browser reads EOF, reports and quits Chromium.
stop_watchers() {
  if [ -n "$poller_pid" ]; then
    kill "$poller_pid" 2>/dev/null || true
    wait "$poller_pid" 2>/dev/null || true
    poller_pid=""
  fi
  if [ -n "$browser_pid" ]; then
    exec 9>&-
    for _ in $(seq 300); do kill -0 "$browser_pid" 2>/dev/null || break; sleep 0.1; done
    kill "$browser_pid" 2>/dev/null || true
    wait "$browser_pid" 2>/dev/null || true
    browser_pid=""
  fi
}

# run_filmd N [tls|console]
run_filmd() {
  local n=$1 mode=${2:-} name="filmd-$1" port="" rc=0 t0 t1 pdfs=0 hwm http=""
  local serve=(--listen 127.0.0.1:0) client=() tls="" bin="$FILMD"
  if [ "$mode" = tls ]; then
    tls=1
    name="filmd-tls-$n"
    serve=(--config "$work/pki/filmd.toml")
    client=(--tls-ca "$work/pki/ca.pem" --tls-cert "$work/pki/client.pem" --tls-key "$work/pki/client.key")
  fi
  [ "$mode" = console ] && name="filmd-console-$n"
  if [ "$mode" = baseline ]; then name="filmd-base-$n"; bin="$BASELINE"; fi
  local d="$work/$name"
  mkdir -p "$d"
  # The web console (on by default) on a free loopback port in every run, so that no
  # run depends on the default 8631 being free; idle unless watched.
  serve+=(--http-listen 127.0.0.1:0)
  "$bin" serve "${serve[@]}" --data-dir "$d/data" >"$d/stdout" 2>"$d/filmd.log" &
  filmd_pid=$!
  for _ in $(seq 300); do
    port="$(sed -n 's/^listening.* on .*:\([0-9]*\)$/\1/p' "$d/stdout" | head -1)"
    http="$(sed -n 's|^console on http://127\.0\.0\.1:\([0-9]*\)/*$|\1|p' "$d/stdout" | head -1)"
    [ -n "$port" ] && [ -n "$http" ] && break
    sleep 0.1
  done
  [ -n "$port" ] && [ -n "$http" ] ||
    { echo "bench-w1: filmd did not start" >&2; cat "$d/stdout" "$d/filmd.log" >&2; exit 1; }
  [ "$mode" = console ] && start_watchers "$name" "$http"
  local what="filmd"
  case "$mode" in tls) what="filmd over TLS" ;; console) what="filmd, console watched" ;;
    baseline) what="filmd baseline ($bin)" ;;
    *) [ "$CONSOLE_POLL" = 1 ] && what="filmd, console idle" ;; esac
  echo "$what, $n association(s) x $FILMS films: $LOADGEN --port $port --called-ae FILMD --associations $n ${LOADGEN_ARGS[*]} ${client[*]} --timeout 300  (load $(load))"
  t0=$(now)
  "$LOADGEN" --port "$port" --called-ae FILMD --associations "$n" "${LOADGEN_ARGS[@]}" \
    "${client[@]}" --timeout 300 >"$work/$name.json" || rc=$?
  local want=$((n * FILMS))
  for _ in $(seq 36000); do
    pdfs=$( (find "$d/data/pdf" -maxdepth 1 -name '*.pdf' 2>/dev/null || true) | wc -l)
    [ "$pdfs" -ge "$want" ] && break
    kill -0 "$filmd_pid" 2>/dev/null || break
    sleep 0.1
  done
  t1=$(now)
  hwm=$(awk '/^VmHWM:/{print $2}' "/proc/$filmd_pid/status")
  if [ "$mode" = console ]; then
    stop_watchers
    cp "$d/poll.log" "$work/$name.poll.log"
    sed -n 's/^RESULT //p' "$d/browser.out" >"$work/$name.browser.json"
  fi
  kill "$filmd_pid"
  wait "$filmd_pid" || true
  filmd_pid=""
  echo "{\"loadgen_exit\": $rc, \"outputs\": $pdfs, \"e2e_s\": $(awk "BEGIN{print $t1 - $t0}"), \"peak_rss_kib\": $hwm, \"load_after\": \"$(load)\"}" \
    >"$work/$name.extra.json"
}

# dcmprscp's configuration (dcmpstat.cfg format, see /etc/dcmtk/dcmpstat.cfg): one
# LOCALPRINTER with the mandatory DisplayFormat, FilmSizeID, MediumType,
# MagnificationType, MaxDensity and FilmDestination; 12-bit images accepted.
write_dcm_config() {
  cat >"$1" <<EOF
[[GENERAL]]
[PRINT]
Directory = spool
[DATABASE]
Directory = db
[[COMMUNICATION]]
[W1PRINT]
Type = LOCALPRINTER
Aetitle = W1PRINT
Description = W1 benchmark peer
Hostname = localhost
Port = $DCM_PORT
MaxPDU = 32768
DisplayFormat = 1,1\\2,2
FilmSizeID = 8INX10IN\\14INX17IN
MediumType = PAPER\\CLEAR FILM\\BLUE FILM
FilmDestination = MAGAZINE\\PROCESSOR
MagnificationType = REPLICATE\\BILINEAR\\CUBIC\\NONE
BorderDensity = 150\\20\\BLACK\\WHITE
EmptyImageDensity = 20\\BLACK\\WHITE
MaxDensity = 320
MinDensity = 20
Supports12Bit = true
SupportsPresentationLUT = false
SupportsTrim = false
EOF
}

# Runs inside the network namespace: lo up, dcmprscp, the load generator, dcmprscp's
# peak RSS, stop by PID.
cat >"$work/dcm-inner.sh" <<'EOF'
set -u
n=$1; d="$WORK/dcmprscp-$n"
ip link set lo up
(cd "$d/srv" && exec dcmprscp -c scp.cfg -p W1PRINT >"$d/scp.log" 2>&1) &
pid=$!
for _ in $(seq 100); do
  ss -Hltn "sport = :$DCM_PORT" | grep -q . && break
  sleep 0.1
done
rc=0
t0=$(date +%s.%N)
# One association at a time: the last waits for all the others' films, hence the
# connect (A-ASSOCIATE-AC) timeout of an hour.
"$LOADGEN" --port "$DCM_PORT" --called-ae W1PRINT --associations "$n" "${@:2}" \
  --timeout 300 --connect-timeout 3600 >"$WORK/dcmprscp-$n.json" || rc=$?
t1=$(date +%s.%N)
hwm=$(awk '/^VmHWM:/{print $2}' "/proc/$pid/status")
alive=$(kill -0 "$pid" 2>/dev/null && echo true || echo false)
kill "$pid"; wait "$pid" 2>/dev/null
sp=$(find "$d/srv/db" -name 'SP_*.dcm' | wc -l)
echo "{\"loadgen_exit\": $rc, \"outputs\": $sp, \"e2e_s\": $(awk "BEGIN{print $t1 - $t0}"), \"peak_rss_kib\": $hwm, \"alive_after\": $alive}" \
  >"$WORK/dcmprscp-$n.extra.json"
EOF

run_dcmprscp() {
  local n=$1 d="$work/dcmprscp-$1"
  mkdir -p "$d/srv/db" "$d/srv/spool"
  write_dcm_config "$d/srv/scp.cfg"
  echo "dcmprscp, $n association(s) x $FILMS films, in unshare --net: $LOADGEN --port $DCM_PORT --called-ae W1PRINT --associations $n ${LOADGEN_ARGS[*]} --timeout 300 --connect-timeout 3600  (load $(load))"
  WORK="$work" LOADGEN="$LOADGEN" DCM_PORT="$DCM_PORT" \
    unshare --net bash "$work/dcm-inner.sh" "$n" "${LOADGEN_ARGS[@]}"
  if grep -E '^(E|F):' "$d/scp.log" >/dev/null; then
    echo "dcmprscp logged errors:"; grep -E '^(E|F):' "$d/scp.log" | sort | uniq -c | head
  fi
}

if [ "$TLS" = 1 ]; then make_pki; fi
for n in $ASSOCS; do
  run_filmd "$n"
  if [ "$TLS" = 1 ]; then run_filmd "$n" tls; fi
  if [ "$CONSOLE_POLL" = 1 ]; then run_filmd "$n" console; fi
  if [ -n "$BASELINE" ]; then run_filmd "$n" baseline; fi
  run_dcmprscp "$n"
done

python3 - "$work" "$ASSOCS" "$TLS" "$CONSOLE_POLL" "$BASELINE" <<'EOF'
import json, sys
work, assocs, tls = sys.argv[1], sys.argv[2].split(), sys.argv[3] == "1"
console = sys.argv[4] == "1"
baseline = sys.argv[5] != ""
def load(name):
    with open(f"{work}/{name}.json") as f:
        r = json.load(f)
    with open(f"{work}/{name}.extra.json") as f:
        r.update(json.load(f))
    return r
print()
print("| server | associations | films ok/failed | films/s | MB/s | N-ACTION p50 / p99 ms "
      "| associate max ms | end to end | peak RSS | filmd/dcmprscp films/s |")
print("|---|---|---|---|---|---|---|---|---|---|")
for n in assocs:
    f, d = load(f"filmd-{n}"), load(f"dcmprscp-{n}")
    rows = [("filmd" + (" (console idle)" if console else ""), f, "PDFs")]
    if tls:
        rows.append(("filmd TLS", load(f"filmd-tls-{n}"), "PDFs"))
    if console:
        rows.append(("filmd (console watched)", load(f"filmd-console-{n}"), "PDFs"))
    if baseline:
        rows.append(("filmd baseline", load(f"filmd-base-{n}"), "PDFs"))
    rows.append(("dcmprscp", d, "Stored Prints"))
    for name, r, out in rows:
        e2e = r["outputs"] / r["e2e_s"] if r["e2e_s"] > 0 else 0
        ratio = f"{r['films_per_s'] / d['films_per_s']:.1f}x" if name != "dcmprscp" and d["films_per_s"] else ""
        print(f"| {name} | {n} | {r['films_ok']}/{r['films_failed']} | {r['films_per_s']:.2f} "
              f"| {r['mb_per_s']:.1f} | {r['n_action']['p50_ms']:.0f} / {r['n_action']['p99_ms']:.0f} "
              f"| {r['associate']['max_ms']:.0f} | {r['outputs']} {out} in {r['e2e_s']:.1f} s "
              f"({e2e:.2f}/s) | {r['peak_rss_kib'] / 1024:.0f} MiB | {ratio} |")
for n in assocs:
    for name in (["filmd"] + ["filmd-tls"] * tls + ["filmd-console"] * console
                 + ["filmd-base"] * baseline + ["dcmprscp"]):
        r = load(f"{name}-{n}")
        if r["failures"] or r["warnings"] or r["association_errors"] or r["loadgen_exit"]:
            print(f"{name} x{n}: exit {r['loadgen_exit']}, failures {r['failures']}, "
                  f"warnings {r['warnings']}, association errors {r['association_errors']}")
    d = load(f"dcmprscp-{n}")
    a = d["associate"]
    print(f"dcmprscp x{n}: associate p50 {a['p50_ms']:.0f} ms, max {a['max_ms']:.0f} ms "
          f"(the queue of one-at-a-time service); alive after the run: {d['alive_after']}")
if console:
    def pct(v, p):
        v = sorted(v)
        return v[min(len(v) - 1, int(p / 100 * len(v)))] * 1000 if v else float("nan")
    print()
    print("| associations | films/s idle / watched | watched/idle | N-ACTION p50 / p99 ms idle; watched "
          "| end to end idle / watched | GET /metrics p50 / max ms (n, failed) "
          "| GET /api/v1/jobs p50 / max ms (n, failed) | browser live refreshes |")
    print("|---|---|---|---|---|---|---|---|")
    for n in assocs:
        i, w = load(f"filmd-{n}"), load(f"filmd-console-{n}")
        gets = {"/metrics": [], "/api/v1/jobs": []}
        failed = {k: 0 for k in gets}
        with open(f"{work}/filmd-console-{n}.poll.log") as f:
            for line in f:
                parts = line.split()
                if len(parts) != 4 or parts[0] not in gets:
                    continue
                if parts[1] != "200":
                    failed[parts[0]] += 1
                else:
                    gets[parts[0]].append(float(parts[2]))
        try:
            with open(f"{work}/filmd-console-{n}.browser.json") as f:
                b = json.load(f)
            refreshes = f"{b.get('refreshes')} in {b.get('seconds')} s" if b.get("ok") \
                else f"browser failed: {b.get('error')}"
        except (OSError, ValueError):
            refreshes = "no browser report"
        ratio = w["films_per_s"] / i["films_per_s"] if i["films_per_s"] else 0
        cells = [f"{pct(gets[k], 50):.0f} / {pct(gets[k], 100):.0f} ({len(gets[k]) + failed[k]}, {failed[k]})"
                 for k in ("/metrics", "/api/v1/jobs")]
        print(f"| {n} | {i['films_per_s']:.2f} / {w['films_per_s']:.2f} | {ratio:.2f}x "
              f"| {i['n_action']['p50_ms']:.0f} / {i['n_action']['p99_ms']:.0f}; "
              f"{w['n_action']['p50_ms']:.0f} / {w['n_action']['p99_ms']:.0f} "
              f"| {i['e2e_s']:.1f} / {w['e2e_s']:.1f} s | {cells[0]} | {cells[1]} | {refreshes} |")
EOF
echo "bench-w1: done, load $(load)"
