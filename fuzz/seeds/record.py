#!/usr/bin/env python3
r"""Record real peers' traffic with filmd and turn it into fuzz seeds.

  python3 fuzz/seeds/record.py [--filmd target/release/filmd] [--out fuzz/corpus]
                               [--keep-raw DIR]

From the repository root, after `cargo build --release`. Everything binds 127.0.0.1
on free ports and every process started is stopped by its PID.

What it does:
  1. starts ippeveprinter (private D-Bus, as tests/it/common/ipp_peers.rs does) and
     `filmd serve` whose default queue delivers to it; between filmd and the printer,
     and between the DICOM peers and filmd, sits a recording TCP proxy that logs each
     connection's two directions;
  2. runs pynetdicom (tests/peers/pynet_print.py: print, annotation, printer, events,
     color, implicit/explicit VR, some bad inputs) and DCMTK (echoscu, and
     tests/peers/dcmtk_print.py: dcmpsprt + dcmprscu) against filmd, with small
     images so that the seeds stay small, then waits for the films to reach the
     printer (Print-Job, Get-Job-Attributes, Get-Printer-Attributes responses), and
     runs ipptool's get-printer-attributes/get-jobs directly through a proxy too;
  3. splits the recordings: DICOM streams into PDUs (pdu), command sets
     (dimse_command), PDV sequences of one message (pdv_reassembly), data sets with
     the transfer syntax negotiated for their context (dataset), and the data sets of
     image box / film box / annotation box requests with the selector byte their
     target expects (nset_*); HTTP responses from the printer into IPP bodies
     (ipp_response). Config seeds come from the repository's configuration examples.

Seeds are named by the SHA-1 of their content (as libFuzzer names corpus files), so
a second run adds only what is new. Nothing above 64 KiB is kept.
"""

import argparse
import hashlib
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MAX_SEED = 64 * 1024
EXPLICIT = "1.2.840.10008.1.2.1"
IMPLICIT = "1.2.840.10008.1.2"
COLOR_META = "1.2.840.10008.5.1.1.18"
GRAY_IMAGE_BOX = "1.2.840.10008.5.1.1.4"
COLOR_IMAGE_BOX = "1.2.840.10008.5.1.1.4.1"
FILM_BOX = "1.2.840.10008.5.1.1.2"
ANNOTATION_BOX = "1.2.840.10008.5.1.1.15"
N_SET, N_CREATE = 0x0120, 0x0140
# Embedded Annotation Display Formats, in layouts/annotations.toml order (the
# nset_annotation_box selector's bits 1-3 pick one).
ANNOTATION_FORMATS = []


def log(*a):
    print("record:", *a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- recording proxy
class Proxy:
    """A TCP proxy 127.0.0.1:port -> 127.0.0.1:target; each connection's bytes are
    appended to DIR/NAME-NNN.c2s (client to server) and .s2c."""

    def __init__(self, target, out_dir, name):
        self.target, self.out, self.name = target, Path(out_dir), name
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.count = 0
        self.stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.stopped:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            self.count += 1
            n = self.count
            try:
                server = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                client.close()
                continue
            base = self.out / f"{self.name}-{n:03}"
            for src, dst, ext in ((client, server, "c2s"), (server, client, "s2c")):
                threading.Thread(target=self._pump, args=(src, dst, f"{base}.{ext}"),
                                 daemon=True).start()

    @staticmethod
    def _pump(src, dst, path):
        with open(path, "ab") as f:
            while True:
                try:
                    data = src.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    try:
                        dst.shutdown(socket.SHUT_WR)
                    except OSError:
                        pass
                    return
                f.write(data)
                f.flush()
                try:
                    dst.sendall(data)
                except OSError:
                    return

    def close(self):
        self.stopped = True
        self.sock.close()


# ---------------------------------------------------------------- processes
def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, proc, what, timeout=20):
    end = time.time() + timeout
    while time.time() < end:
        if proc.poll() is not None:
            raise SystemExit(f"{what} exited with {proc.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"{what} is not listening on {port}")


def stop(proc):
    if proc and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run(cmd, **kw):
    log("$", " ".join(str(c) for c in cmd))
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=180, **kw)
    if r.returncode != 0:
        tail = r.stderr.decode(errors="replace").strip().splitlines()[-3:]
        log(f"  exit {r.returncode}:", *tail)
    return r


# ---------------------------------------------------------------- DICOM splitting
def pdus(stream):
    at = 0
    while len(stream) - at >= 6:
        length = struct.unpack(">I", stream[at + 2:at + 6])[0]
        if len(stream) - at - 6 < length:
            return
        yield stream[at], stream[at:at + 6 + length]
        at += 6 + length


def items(body):
    """Variable items of an A-ASSOCIATE-RQ/AC body (after the 68 fixed bytes)."""
    at = 0
    while len(body) - at >= 4:
        kind, length = body[at], struct.unpack(">H", body[at + 2:at + 4])[0]
        yield kind, body[at + 4:at + 4 + length]
        at += 4 + length


def contexts(c2s, s2c):
    """{context id: (abstract syntax, accepted transfer syntax)} from RQ and AC."""
    abstract, accepted = {}, {}
    for kind, pdu in pdus(c2s):
        if kind == 1:
            for t, v in items(pdu[74:]):
                if t == 0x20:
                    for st, sv in items(v[4:]):
                        if st == 0x30:
                            abstract[v[0]] = sv.rstrip(b"\0").decode()
    for kind, pdu in pdus(s2c):
        if kind == 2:
            for t, v in items(pdu[74:]):
                if t == 0x21 and v[2] == 0:
                    for st, sv in items(v[4:]):
                        if st == 0x40:
                            accepted[v[0]] = sv.rstrip(b"\0").decode()
    return {k: (abstract.get(k, ""), ts) for k, ts in accepted.items()}


def pdvs(stream):
    for kind, pdu in pdus(stream):
        if kind != 4:
            continue
        body, at = pdu[6:], 0
        while len(body) - at >= 6:
            length = struct.unpack(">I", body[at:at + 4])[0]
            yield body[at:at + 4 + length]
            at += 4 + length


def messages(stream):
    """(context id, command bytes, data bytes or None, [PDV items]) per message."""
    command, data, items_ = b"", None, []
    for pdv in pdvs(stream):
        ctx, control, fragment = pdv[4], pdv[5], pdv[6:]
        items_.append(pdv)
        if control & 1:
            command += fragment
            if control & 2:
                fields = command_fields(command)
                if fields.get(0x0800, 0x0101) == 0x0101:
                    yield ctx, command, None, items_
                    command, items_ = b"", []
                else:
                    data = b""
        else:
            data = (data or b"") + fragment
            if control & 2:
                yield ctx, command, data, items_
                command, data, items_ = b"", None, []


def command_fields(command):
    fields, at = {}, 0
    while len(command) - at >= 8:
        _, element, length = struct.unpack("<HHI", command[at:at + 8])
        value = command[at + 8:at + 8 + length]
        fields[element] = struct.unpack("<H", value)[0] if length == 2 else value.rstrip(b"\0 ")
        at += 8 + length
    return fields




class Seeds:
    def __init__(self, corpus):
        self.corpus = Path(corpus)
        self.added = {}

    def add(self, target, data):
        if not data or len(data) > MAX_SEED:
            return
        d = self.corpus / target
        d.mkdir(parents=True, exist_ok=True)
        p = d / hashlib.sha1(data).hexdigest()
        if not p.exists():
            p.write_bytes(data)
            self.added[target] = self.added.get(target, 0) + 1


def dicom_seeds(raw, seeds):
    for c2s_path in sorted(Path(raw).glob("dicom-*.c2s")):
        c2s = c2s_path.read_bytes()
        s2c = c2s_path.with_suffix(".s2c").read_bytes() if c2s_path.with_suffix(".s2c").exists() else b""
        ctx = contexts(c2s, s2c)
        # pdu: each control PDU alone, and the start of the stream (RQ + first PDUs)
        head = b""
        for kind, pdu in pdus(c2s):
            if kind != 4:
                seeds.add("pdu", pdu)
            if len(head) + len(pdu) <= 16 * 1024:
                head += pdu
        seeds.add("pdu", head)
        for stream in (c2s, s2c):
            film_box_format = {}
            for cid, command, data, pdv_items in messages(stream):
                seeds.add("dimse_command", command)
                seq = b"".join(pdv_items)
                if len(seq) <= MAX_SEED:
                    seeds.add("pdv_reassembly", seq)
                if data is None:
                    continue
                abstract, ts = ctx.get(cid, ("", IMPLICIT))
                explicit = 1 if ts == EXPLICIT else 0
                seeds.add("dataset", bytes([explicit]) + data)
                f = command_fields(command)
                field = f.get(0x0100)
                sop_class = (f.get(0x0003) or f.get(0x0002) or b"").decode(errors="replace")
                color = 2 if abstract == COLOR_META else 0
                if field == N_SET and sop_class in (GRAY_IMAGE_BOX, COLOR_IMAGE_BOX):
                    for box in range(4):
                        seeds.add("nset_image_box", bytes([explicit | color | box << 4]) + data)
                elif field == N_CREATE and sop_class == FILM_BOX:
                    seeds.add("nset_film_box", bytes([4 | explicit | color]) + data)
                    # the same attributes, as an N-SET of a film box (those not
                    # settable are answered with 0x0107, as a real SCU would get)
                    seeds.add("nset_film_box", bytes([explicit | color]) + data)
                elif field == N_SET and sop_class == FILM_BOX:
                    seeds.add("nset_film_box", bytes([explicit | color]) + data)
                elif field == N_SET and sop_class == ANNOTATION_BOX:
                    for fmt in range(len(ANNOTATION_FORMATS) or 1):
                        seeds.add("nset_annotation_box", bytes([explicit | fmt << 1]) + data)


# ---------------------------------------------------------------- IPP splitting
def http_bodies(stream):
    """Bodies of the HTTP responses in one direction of a connection."""
    at = 0
    while at < len(stream):
        end = stream.find(b"\r\n\r\n", at)
        if end < 0:
            return
        head = stream[at:end].decode("latin-1")
        at = end + 4
        status = int(head.split(" ", 2)[1]) if head.startswith("HTTP/") else 0
        headers = {k.strip().lower(): v.strip() for k, _, v in
                   (line.partition(":") for line in head.split("\r\n")[1:])}
        if 100 <= status < 200:
            continue
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            while True:
                line_end = stream.find(b"\r\n", at)
                if line_end < 0:
                    return
                size = int(stream[at:line_end].split(b";")[0], 16)
                at = line_end + 2
                body += stream[at:at + size]
                at += size + 2
                if size == 0:
                    break
        else:
            n = int(headers.get("content-length", "0"))
            body = stream[at:at + n]
            at += n
        yield body


def ipp_seeds(raw, seeds):
    for path in sorted(Path(raw).glob("ipp-*.s2c")):
        for body in http_bodies(path.read_bytes()):
            if len(body) >= 8:
                seeds.add("ipp_response", body)


def config_seeds(seeds):
    text = (ROOT / "src/config/file.rs").read_text()
    m = re.search(r'pub const DEFAULT_CONFIG: &str = r#"(.*?)"#;', text, re.S)
    if m:
        seeds.add("config", m.group(1).encode())
    # TOML blocks of the documentation and configurations written by the tests.
    for doc in [ROOT / "README.md", ROOT / "layouts/README.md", *ROOT.glob("docs/*.md")]:
        if doc.exists():
            for block in re.findall(r"```toml\n(.*?)```", doc.read_text(), re.S):
                seeds.add("config", block.encode())
    for rs in (ROOT / "tests/it").glob("*.rs"):
        for s in re.findall(r'"(\[server\][^"]*)"', rs.read_text()):
            s = s.replace("\\n\\\n", "\n").replace("\\n", "\n").replace('\\"', '"')
            s = re.sub(r"\n\s+", "\n", s)
            if "{" not in s:
                seeds.add("config", s.encode())
    seeds.add("custom_layouts", (ROOT / "layouts/custom.toml").read_bytes())
    seeds.add("annotations", (ROOT / "layouts/annotations.toml").read_bytes())


# ---------------------------------------------------------------- the session
def record(args, raw):
    work = Path(tempfile.mkdtemp(prefix="filmd-record-"))
    procs = []
    proxies = []
    try:
        # ippeveprinter with a private D-Bus
        dbus = subprocess.Popen(["dbus-daemon", "--session", "--nofork", "--nopidfile",
                                 f"--address=unix:path={work}/dbus.sock"],
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        procs.append(dbus)
        for _ in range(100):
            if (work / "dbus.sock").exists():
                break
            time.sleep(0.05)
        eve_port = free_port()
        (work / "spool").mkdir()
        eve = subprocess.Popen(
            ["ippeveprinter", "-n", "localhost", "-p", str(eve_port), "-d", str(work / "spool"),
             "-k", "-r", "off", "-f", "application/pdf,image/pwg-raster,image/jpeg,image/png",
             "Fuzz Seeds"],
            env={**os.environ, "DBUS_SYSTEM_BUS_ADDRESS": f"unix:path={work}/dbus.sock"},
            stdout=open(work / "eve.log", "wb"), stderr=subprocess.STDOUT)
        procs.append(eve)
        wait_port(eve_port, eve, "ippeveprinter")
        ipp_proxy = Proxy(eve_port, raw, "ipp")
        proxies.append(ipp_proxy)

        # filmd, delivering to the printer through the proxy
        config = work / "filmd.toml"
        config.write_text(
            '[server]\nae_title = "FILMD"\nlisten = "127.0.0.1:0"\n'
            f'data_dir = "{work}/data"\n\n[[queue]]\nname = "default"\ndpi = 300\n'
            f'ipp = "ipp://127.0.0.1:{ipp_proxy.port}/ipp/print"\nipp_poll_secs = 1\n'
            'color = true\n')
        filmd = subprocess.Popen([args.filmd, "serve", "--config", str(config)],
                                 stdout=subprocess.PIPE, stderr=open(work / "filmd.log", "wb"))
        procs.append(filmd)
        line = filmd.stdout.readline().decode()
        filmd_port = int(line.strip().rsplit(":", 1)[-1])
        dicom = Proxy(filmd_port, raw, "dicom")
        proxies.append(dicom)
        port = str(dicom.port)

        py = [sys.executable, str(ROOT / "tests/peers/pynet_print.py"), "--port", port,
              "--ae", "FILMD"]
        small = ["--rows", "8", "--cols", "8"]
        run(py + ["--scenario", "print", "--get-printer", "--format", "STANDARD\\2,2"] + small)
        run(py + ["--scenario", "print", "--ts", "implicit", "--bits", "12", "--plut", "identity",
                  "--format", "ROW\\2,1", "--polarity", "REVERSE", "--requested-size", "50",
                  "--magnification", "BILINEAR", "--border", "WHITE", "--empty", "BLACK",
                  "--min-density", "20", "--max-density", "280", "--trim", "YES",
                  "--decimate-crop", "CROP", "--configinfo", "x"] + small)
        run(py + ["--scenario", "print", "--color", "--format", "COL\\1,3"] + small)
        run(py + ["--scenario", "print", "--color", "--ts", "implicit"] + small)
        run(py + ["--scenario", "annotation", "--annotation-format", "CORNERS",
                  "--text", "left|right|lower left|lower right"] + small)
        run(py + ["--scenario", "annotation", "--ts", "implicit", "--annotation-format", "LABEL",
                  "--text", "Gr\u00fc\u00dfe"] + small)
        run(py + ["--scenario", "printer"])
        run(py + ["--scenario", "events", "--wait", "20"] + small)
        for case in ["short_pixels", "long_pixels", "huge_dims", "bad_format",
                     "bad_bits_stored", "nset_unknown", "second_session"]:
            run(py + ["--scenario", "bad", "--case", case] + small)
        run(["/usr/bin/echoscu", "-aec", "FILMD", "127.0.0.1", port])
        dcmtk = [sys.executable, str(ROOT / "tests/peers/dcmtk_print.py"), "--port", port,
                 "--ae", "FILMD", "--rows", "8", "--cols", "8", "--workdir"]
        run(dcmtk + [str(work / "dcmtk1"), "--layout", "2", "1", "--bits", "8",
                     "--annotation", "DCMTK"])
        run(dcmtk + [str(work / "dcmtk2"), "--layout", "1", "1", "--bits", "12",
                     "--implicit-only", "--plut", "lin-od", "--session-print"])

        # the films go to the printer: wait for Print-Job and the job polling
        time.sleep(8)
        uri = f"ipp://127.0.0.1:{ipp_proxy.port}/ipp/print"
        for test in ["get-printer-attributes.test", "get-jobs.test", "get-completed-jobs.test"]:
            run(["ipptool", "-T", "10", uri, test])
    finally:
        for p in proxies:
            p.close()
        for p in reversed(procs):
            stop(p)
        if not args.keep_work:
            shutil.rmtree(work, ignore_errors=True)
        else:
            log("work directory kept:", work)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__)
    ap.add_argument("--filmd", default=str(ROOT / "target/release/filmd"))
    ap.add_argument("--out", default=str(ROOT / "fuzz/corpus"), help="corpus root")
    ap.add_argument("--keep-raw", help="keep the raw recordings in this directory")
    ap.add_argument("--from-raw", help="split an earlier recording instead of recording")
    ap.add_argument("--keep-work", action="store_true")
    args = ap.parse_args()
    text = (ROOT / "layouts/annotations.toml").read_text()
    ANNOTATION_FORMATS.extend(re.findall(r'^id = "([^"]+)"', text, re.M))
    if args.from_raw:
        raw = Path(args.from_raw)
    else:
        raw = Path(args.keep_raw or tempfile.mkdtemp(prefix="filmd-raw-"))
        raw.mkdir(parents=True, exist_ok=True)
        record(args, raw)
    seeds = Seeds(args.out)
    dicom_seeds(raw, seeds)
    ipp_seeds(raw, seeds)
    config_seeds(seeds)
    if not args.keep_raw and not args.from_raw:
        shutil.rmtree(raw, ignore_errors=True)
    for target, n in sorted(seeds.added.items()):
        log(f"{target}: {n} new seed(s)")


if __name__ == "__main__":
    main()
