#!/usr/bin/env bash
# From N-ACTION to committed in Orthanc: how long a 14x17 in film takes to reach a PACS.
#
#   scripts/bench-pacs.sh                 # FILMS=10, one film at a time
#
# filmd (release build) with one queue that only stores (`store`, `store_commit = true`,
# `unmatched = "send"`, no printer, no PDF archive) at 300 dpi, and a fresh Orthanc 1.10
# (Debian `orthanc`) on 127.0.0.1 that knows filmd as a modality, so that it reports each
# Storage Commitment on an association it opens to filmd's listener (PS3.4 J.3.3). Orthanc
# binds the wildcard address: it runs with the LD_PRELOAD shim of the tests
# (tests/peers/bind_loopback.c, built here with cc), which moves its binds to loopback.
#
# For each of STORE_AS (secondary-capture, encapsulated-pdf), FILMS times: filmd-loadgen
# prints one W1 film (STANDARD\2,2, four 1024x1024 12-bit images), then the script waits
# until the job is done, which it is only once Orthanc has reported every instance
# committed. The spool's history (`filmd job ID --json`) gives the times: received (the
# N-ACTION), composed (the console's previews written), committed (Orthanc's report
# recorded: the job is done). Then a table: p50 and max of each, in ms from the N-ACTION.
# Needs orthanc, cc, python3; every process started here is stopped by its PID.
# The jobs' histories and the logs stay in $KEEP if set.
set -euo pipefail
cd "$(dirname "$0")/.."

FILMS="${FILMS:-10}"
STORE_AS="${STORE_AS:-secondary-capture encapsulated-pdf}"
for c in Orthanc cc python3 curl; do
  command -v "$c" >/dev/null 2>&1 || [ -x "/usr/sbin/$c" ] || {
    echo "bench-pacs: $c missing (scripts/install-peers.sh)" >&2; exit 1; }
done
ORTHANC=$(command -v Orthanc || echo /usr/sbin/Orthanc)

cargo build --release --bins >&2
FILMD=target/release/filmd
LOADGEN=target/release/filmd-loadgen

TMP=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

cc -shared -fPIC -O2 -o "$TMP/bind_loopback.so" tests/peers/bind_loopback.c -ldl

run() { # $1 = store_as
  local store_as=$1 dir="$TMP/$1"
  mkdir -p "$dir/orthanc-db"
  local fport oport hport
  fport=$(free_port); oport=$(free_port); hport=$(free_port)
  cat > "$dir/orthanc.json" <<EOF
{ "Name": "bench", "StorageDirectory": "$dir/orthanc-db", "IndexDirectory": "$dir/orthanc-db",
  "DicomAet": "ORTHANC", "DicomPort": $oport, "HttpPort": $hport,
  "RemoteAccessAllowed": false, "AuthenticationEnabled": false,
  "DicomAlwaysAllowStore": true, "DicomAlwaysAllowEcho": true,
  "DicomModalities": { "filmd": { "AET": "FILMD", "Host": "127.0.0.1", "Port": $fport,
                                  "AllowStorageCommitment": true } } }
EOF
  LD_PRELOAD="$TMP/bind_loopback.so" "$ORTHANC" "$dir/orthanc.json" > "$dir/orthanc.log" 2>&1 &
  local opid=$!; PIDS+=("$opid")
  for _ in $(seq 300); do curl -fs "http://127.0.0.1:$hport/system" >/dev/null 2>&1 && break; sleep 0.1; done
  cat > "$dir/filmd.toml" <<EOF
[server]
ae_title = "FILMD"
[admin]
http_listen = ""
[[queue]]
name = "pacs"
pdf_dir = ""
dpi = 300
store = ["ORTHANC@127.0.0.1:$oport"]
store_as = "$store_as"
store_commit = true
unmatched = "send"
EOF
  "$FILMD" serve --config "$dir/filmd.toml" --listen "127.0.0.1:$fport" --data-dir "$dir/data" \
    > "$dir/filmd.out" 2> "$dir/filmd.log" &
  local fpid=$!; PIDS+=("$fpid")
  for _ in $(seq 300); do grep -q "^listening" "$dir/filmd.out" 2>/dev/null && break; sleep 0.1; done
  for n in $(seq "$FILMS"); do
    "$LOADGEN" --port "$fport" -n 1 -m 1 --json > "$dir/loadgen-$n.json"
    for _ in $(seq 1200); do
      "$FILMD" jobs --json --data-dir "$dir/data" > "$dir/jobs.json" 2>/dev/null || true
      python3 - "$dir/jobs.json" "$n" <<'EOF' && break
import json, sys
jobs = json.load(open(sys.argv[1]))
sys.exit(0 if sum(j["state"] == "done" for j in jobs) >= int(sys.argv[2]) else 1)
EOF
      sleep 0.05
    done
  done
  for id in $(python3 -c 'import json,sys; print(" ".join(j["id"] for j in json.load(open(sys.argv[1]))))' "$dir/jobs.json"); do
    "$FILMD" job "$id" --json --data-dir "$dir/data" > "$dir/job-$id.json"
  done
  if [ -n "${KEEP:-}" ]; then mkdir -p "$KEEP/$store_as"; cp "$dir"/job-*.json "$dir"/*.log "$KEEP/$store_as/"; fi
  python3 - "$store_as" "$dir" <<'EOF'
import glob, json, statistics, sys
store_as, d = sys.argv[1], sys.argv[2]
composed, committed = [], []
for f in glob.glob(d + "/job-*.json"):
    t = {}
    for e in json.load(open(f)).get("history", []):
        t.setdefault(e["event"], e["at_ms"])
    t0 = t["received"]
    composed.append(t["composed"] - t0)
    committed.append(t.get("committed", t["done"]) - t0)
def fmt(v): return f"{statistics.median(v):.0f} / {max(v):.0f}"
print(f"| {store_as} | {len(committed)} | {fmt(composed)} | {fmt(committed)} |")
EOF
  kill "$fpid" "$opid"; wait "$fpid" 2>/dev/null || true; wait "$opid" 2>/dev/null || true
}

echo "| stored as | films | N-ACTION -> composed (previews), ms p50 / max | N-ACTION -> committed, ms p50 / max |"
echo "|---|---|---|---|"
for s in $STORE_AS; do run "$s"; done
