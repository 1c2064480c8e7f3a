#!/usr/bin/env python3
r"""Print through DCMTK's own print client (dcmpsprt + dcmprscu) to a Print SCP.

Writes a dcmpstat-style client config in a work directory, composes a Stored
Print object with `dcmpsprt` from DICOM images (given with --images, or
generated with make_images.py), sends it with `dcmprscu --debug` to the Print
SCP at 127.0.0.1:PORT (called AE title --ae), and judges the outcome from the
dcmprscu log, because dcmprscu exits 0 even when printing failed.

Prints one JSON object on stdout:
  {"ok": bool, "n_action_status": "0x0000"|null,
   "statuses": [{"op": "N-CREATE", "sop_class": "BasicFilmBoxSOPClass",
                 "status": "0x0000", "ok": true, ...}, ...],
   "errors": [E:/F: lines], "warnings": [W: lines], "n_set_count": N,
   "log": "/path/dcmprscu.log", "workdir": ..., "reason": "why not ok"}
and exits 0 when ok, 1 when not (2 on bad usage).

"ok" means: dcmpsprt succeeded and wrote a Stored Print object; dcmprscu ran
and exited 0 within --timeout; its log has "Association accepted"; no "E:" or
"F:" line; every DIMSE response status is success (0x0000) or a warning
(0x0001, 0x0107, 0x0116, 0xBxxx); and (unless --noprint) an N-ACTION-RSP with
a success/warning status was seen.

What DCMTK's print client does (DCMTK 3.6.7, found by running it):
  * dcmpsprt renders every input image into a "Hardcopy Grayscale" image:
    Bits Allocated/Stored 16/12 when the target has Supports12Bit = true,
    8/8 otherwise, always MONOCHROME2 (MONOCHROME1 input is inverted).  So
    the bit depth filmd receives is chosen by --bits (which sets
    Supports12Bit), not by the input file; --photometric MONOCHROME1 makes
    dcmprscu transmit MONOCHROME1 (its --monochrome1 option).
  * Pixel values: MONOCHROME2 input reaches the SCP bit-exact (8 and 12
    bits, checked with uniform 0/100/200/255 and 0/1000/2000/4095 and a
    ramp); the MONOCHROME1 path (inverted twice) can be off by one (0 -> 1,
    10 -> 11). 8-bit pixel data is sent with VR OW.
  * Images smaller than [PRINT] MinPrintResolution are enlarged by an
    integer factor; this script leaves MinPrintResolution unset unless
    --min-print-resolution is given, so image sizes pass through unchanged.
  * It is grayscale only: dcmpsprt refuses RGB input ("Wrong image
    photometric interpretation - not MONOCHROME1/2"), and dcmprscu only
    proposes Basic Grayscale Print Management Meta (+ Presentation LUT,
    + Basic Annotation Box when the target has `Annotation = pos\ID`).
    --photometric RGB is accepted here only to demonstrate that failure.
  * Layouts are only STANDARD\C,R (-l C R).
  * With SupportsPresentationLUT = true dcmprscu always N-CREATEs a
    Presentation LUT (IDENTITY unless --plut lin-od) and references it from
    the film box (or the film session with --plut-in-session).
  * Order on the wire: N-GET Printer, [N-CREATE Presentation LUT], N-CREATE
    film session, N-CREATE film box, N-SET image boxes (only those that got
    an image), [N-SET annotation boxes], N-ACTION (film box, or film session
    with --session-print), N-DELETE film box, film session, Presentation LUT.

Validation recipe against DCMTK's own Print SCP (dcmprscp binds 0.0.0.0, so
run it in a private network namespace, as root, from the repository root):

  export W=$(mktemp -d); mkdir -p $W/srv/db $W/srv/spool $W/srv/log
  cat > $W/srv/scp.cfg <<'EOF'
  [[GENERAL]]
  [PRINT]
  Directory = spool
  [DATABASE]
  Directory = db
  [[COMMUNICATION]]
  [PRINTSCP]
  Type = LOCALPRINTER
  Aetitle = PRINTSCP
  Hostname = localhost
  Port = 10400
  MaxPDU = 32768
  DisplayFormat = 1,1\1,2\2,1\2,2\2,3\3,3\3,4\4,4\4,5
  FilmSizeID = 8INX10IN\10INX12IN\11INX14IN\14INX14IN\14INX17IN\24CMX30CM\A4
  MediumType = PAPER\CLEAR FILM\BLUE FILM
  FilmDestination = MAGAZINE\PROCESSOR
  MagnificationType = REPLICATE\BILINEAR\CUBIC\NONE
  BorderDensity = 150\20\BLACK\WHITE
  EmptyImageDensity = 20\BLACK\WHITE
  MaxDensity = 320
  MinDensity = 20
  Supports12Bit = true
  SupportsPresentationLUT = true
  SupportsTrim = true
  EOF
  unshare --net bash -c 'ip link set lo up
      (cd $W/srv && exec dcmprscp -d -c scp.cfg -p PRINTSCP > $W/scp.log 2>&1) &
      P=$!; sleep 1
      python3 tests/peers/dcmtk_print.py --port 10400 --ae PRINTSCP \
          --layout 2 2 --bits 12 --workdir $W/cli; echo "exit $?"
      kill $P'

  Expected: {"ok": true, "n_action_status": "0x0000", ...} and "exit 0".
  Add --session-print, --bits 8, --photometric MONOCHROME1, --filmsize
  14INX17IN --landscape, --border BLACK, ... to exercise the other paths.
  dcmprscp serves one association at a time, supports STANDARD\C,R and
  grayscale only, answers a film session N-ACTION with success, and fails
  an unknown Film Size ID / layout with 0x0106 (this script: ok=false).
  Its DisplayFormat list is for PORTRAIT: in LANDSCAPE it wants C,R swapped
  (--layout 3 4 --landscape fails with 0x0106 unless 4,3 is listed). It has
  no Basic Annotation Box (dcmprscu logs "W: printer does not support
  Annotation Box, ignoring annotation." and still prints), and answers a
  Presentation LUT reference in the film session (--plut-in-session) with
  0x0105 unless its own PresentationLUTinFilmSession = true.
"""

import argparse
import glob
import json
import os
import re
import subprocess
import sys
import tempfile

sys.dont_write_bytecode = True  # keep tests/peers free of __pycache__
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

FILM_SIZES = ["8INX10IN", "8_5INX11IN", "10INX12IN", "10INX14IN", "11INX14IN", "11INX17IN",
              "14INX14IN", "14INX17IN", "24CMX24CM", "24CMX30CM", "A4", "A3"]
DISPLAY_FORMATS = [f"{c},{r}" for r in range(1, 6) for c in range(1, 6)]
WARNING_CODES = {0x0001, 0x0107, 0x0116}


def is_success_or_warning(code):
    return code == 0 or code in WARNING_CODES or (code & 0xF000) == 0xB000


def write_config(path, a):
    """Write the dcmpstat client config for target TARGET."""
    layouts = list(DISPLAY_FORMATS)
    if a.layout:
        want = f"{a.layout[0]},{a.layout[1]}"
        if want not in layouts:
            layouts.append(want)
    sizes = list(FILM_SIZES)
    if a.filmsize and a.filmsize not in sizes:
        sizes.append(a.filmsize)

    def b(v):
        return "true" if v else "false"

    general = [
        "[[GENERAL]]",
        "[APPLICATION]",
        "LogDirectory = log",
        "LogFile = dcmpstat.log",
        "LogLevel = DEBUG",
        "[PRINT]",
        "Spooler = dcmprscu",
        "Directory = spool",
        "DetailedLog = true",
        "BinaryLog = false",
        "DeletePrintJobs = false",
        "AlwaysDeleteTerminateJobs = false",
        f"MaxPrintResolution = {a.max_print_resolution}",
        f"DefaultIllumination = {a.illumination if a.illumination is not None else 2000}",
        f"DefaultReflection = {a.reflection if a.reflection is not None else 10}",
    ]
    if a.min_print_resolution:
        general.append(f"MinPrintResolution = {a.min_print_resolution}")
    if a.tls_ca:
        # DCMTK reads trusted CAs from a directory of files named by their subject
        # hash (openssl x509 -hash), and the target's certificate and key by name
        # from TLSDirectory
        general += [
            "[TLS]",
            f"TLSDirectory = {tls_dir(a)}",
            "CACertificateDirectory = " + os.path.join(a.workdir, "cacerts"),
            "UsePEMFormat = true",
        ]
    general += [
        "[DATABASE]",
        "Directory = db",
        "[LUT]",
        "Directory = lut",
        "[NETWORK]",
        f"aetitle = {a.calling_ae}",
    ]
    target = [
        "[[COMMUNICATION]]",
        "[TARGET]",
        "Type = PRINTER",
        "Description = filmd test target",
        "Hostname = 127.0.0.1",
        f"Port = {a.port}",
        f"Aetitle = {a.ae}",
        f"Timeout = {a.timeout}",
        f"MaxPDU = {a.max_pdu}",
        f"ImplicitOnly = {b(a.implicit_only)}",
        "DisableNewVRs = false",
        f"Supports12Bit = {b(a.bits == 12)}",
        f"SupportsPresentationLUT = {b(a.supports_plut == 'true')}",
        f"PresentationLUTinFilmSession = {b(a.plut_in_session)}",
        "SupportsTrim = true",
        "SupportsDecimateCrop = true",
        "SupportsImageSize = true",
        "BorderDensity = 150\\20\\BLACK\\WHITE",
        "EmptyImageDensity = 20\\BLACK\\WHITE",
        "DisplayFormat = " + "\\".join(layouts),
        "FilmSizeID = " + "\\".join(sizes),
        "MagnificationType = REPLICATE\\BILINEAR\\CUBIC\\NONE",
        "SmoothingType = NONE",
        "MediumType = PAPER\\CLEAR FILM\\BLUE FILM\\MAMMO CLEAR FILM\\MAMMO BLUE FILM",
        "FilmDestination = MAGAZINE\\PROCESSOR\\BIN_1\\BIN_2",
        "ResolutionID = STANDARD\\HIGH",
        "MaxDensity = 320",
        "MinDensity = 20",
    ]
    if a.tls_ca:
        target += ["UseTLS = true", "PeerAuthentication = REQUIRE"]
        if a.tls_profile:
            target.append(f"TLSProfile = {a.tls_profile}")
        if a.tls_cert:
            target += [f"Certificate = {os.path.basename(a.tls_cert)}",
                       f"PrivateKey = {os.path.basename(a.tls_key)}"]
    if a.annotation is not None:
        target.append(f"Annotation = {a.annotation_position}\\{a.annotation_format}")
    for kv in a.extra:
        if "=" not in kv:
            raise SystemExit(f"--extra needs KEY=VALUE, got {kv!r}")
        k, v = kv.split("=", 1)
        target.append(f"{k.strip()} = {v.strip()}")
    with open(path, "w") as f:
        f.write("\n".join(general + target) + "\n")


def tls_dir(a):
    """TLSDirectory: the client certificate's directory, else the work directory."""
    return os.path.dirname(os.path.abspath(a.tls_cert)) if a.tls_cert else a.workdir


def install_ca(a, workdir):
    """Copy --tls-ca into workdir/cacerts as HASH.0, the name OpenSSL looks up."""
    cacerts = os.path.join(workdir, "cacerts")
    os.makedirs(cacerts, exist_ok=True)
    h = subprocess.run(["openssl", "x509", "-hash", "-noout", "-in", a.tls_ca],
                       stdout=subprocess.PIPE, check=True).stdout.decode().strip()
    with open(a.tls_ca, "rb") as src, open(os.path.join(cacerts, f"{h}.0"), "wb") as dst:
        dst.write(src.read())


def generate_images(a, outdir):
    """Generate input images with make_images.py; returns file paths."""
    from make_images import make_file  # noqa: E402 (same directory)

    if a.values:
        vals = [v.strip() for v in a.values.split(",") if v.strip()]
        patterns = [f"uniform:{v}" for v in vals]
    else:
        n = a.count if a.count is not None else (a.layout[0] * a.layout[1] if a.layout else 1)
        patterns = [a.pattern] * n
    files = []
    for i, pat in enumerate(patterns):
        path = os.path.join(outdir, f"img{i + 1:03d}.dcm")
        make_file(path, rows=a.rows, cols=a.cols, bits=a.bits, photometric=a.photometric,
                  pattern=pat, sop=a.sop)
        files.append(path)
    return files


_FIELD = re.compile(r"^D: (Message Type|Message ID Being Responded To|Message ID|"
                    r"Affected SOP Class UID|Requested SOP Class UID|"
                    r"Affected SOP Instance UID|Requested SOP Instance UID|"
                    r"Action Type ID|Event Type ID|DIMSE Status)\s*: (.*)$")


def parse_log(text):
    """Parse a dcmprscu --debug log.

    Returns dict with statuses (one per response message, in order), errors
    (E:/F: lines), warnings (W: lines) and association flags.
    """
    lines = text.splitlines()
    errors = [ln for ln in lines if ln.startswith(("E: ", "F: "))]
    warnings = [ln for ln in lines if ln.startswith("W: ")]
    requests = {}
    statuses = []
    cur = None
    for ln in lines:
        if "===== OUTGOING DIMSE MESSAGE" in ln or "===== INCOMING DIMSE MESSAGE" in ln:
            cur = {"dir": "out" if "OUTGOING" in ln else "in"}
            continue
        if "END DIMSE MESSAGE" in ln:
            if cur is not None:
                mtype = cur.get("Message Type", "")
                if cur["dir"] == "out" and mtype.endswith(" RQ"):
                    requests[cur.get("Message ID")] = cur
                elif cur["dir"] == "in" and mtype.endswith(" RSP"):
                    rq = requests.get(cur.get("Message ID Being Responded To"), {})
                    raw = cur.get("DIMSE Status", "")
                    m = re.match(r"0x([0-9a-fA-F]{4})", raw)
                    code = int(m.group(1), 16) if m else None
                    sop_class = cur.get("Affected SOP Class UID", "none")
                    if sop_class in ("none", ""):
                        sop_class = rq.get("Requested SOP Class UID") or \
                            rq.get("Affected SOP Class UID", "")
                    statuses.append({
                        "op": mtype[:-4],
                        "sop_class": sop_class,
                        "status": f"0x{code:04X}" if code is not None else None,
                        "status_text": raw,
                        "message_id": cur.get("Message ID Being Responded To"),
                        "ok": code is not None and is_success_or_warning(code),
                    })
                elif cur["dir"] == "in" and mtype.endswith(" RQ"):
                    statuses.append({"op": mtype[:-3] + " (incoming RQ)",
                                     "sop_class": cur.get("Affected SOP Class UID", ""),
                                     "event_type": cur.get("Event Type ID"),
                                     "status": None, "ok": True})
            cur = None
            continue
        if cur is not None:
            m = _FIELD.match(ln)
            if m:
                cur.setdefault(m.group(1), m.group(2).strip())
    return {
        "statuses": statuses,
        "errors": errors,
        "warnings": warnings,
        "association_accepted": any("Association accepted" in ln for ln in lines),
        "association_rejected": any("association rejected" in ln.lower() for ln in lines),
    }


def run(cmd, cwd, log_path, timeout):
    """Run cmd, appending stdout+stderr to log_path. Returns (rc, output)."""
    try:
        p = subprocess.run(cmd, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           timeout=timeout)
        out, rc = p.stdout.decode("utf-8", "replace"), p.returncode
    except subprocess.TimeoutExpired as e:
        out = (e.stdout or b"").decode("utf-8", "replace") + \
            f"\nF: [dcmtk_print.py] timed out after {timeout}s\n"
        rc = None
    with open(log_path, "a") as f:
        f.write(f"### {' '.join(cmd)}\n{out}\n### exit code: {rc}\n")
    return rc, out


def main(argv=None):
    ap = argparse.ArgumentParser(
        description="Print with DCMTK (dcmpsprt + dcmprscu) to a Print SCP on 127.0.0.1; "
                    "JSON summary on stdout, exit 1 if not ok.",
        formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    g = ap.add_argument_group("connection")
    g.add_argument("--port", type=int, required=True, help="Print SCP port on 127.0.0.1")
    g.add_argument("--ae", default="FILMD", help="called AE title (default FILMD)")
    g.add_argument("--calling-ae", default="DCMPRSCU", help="calling AE title (default DCMPRSCU)")
    g.add_argument("--max-pdu", type=int, default=32768, help="MaxPDU (default 32768)")
    g.add_argument("--implicit-only", action="store_true",
                   help="propose Implicit VR Little Endian only")
    g.add_argument("--timeout", type=int, default=60,
                   help="seconds for each DCMTK command and the network timeout (default 60)")
    g = ap.add_argument_group("DICOM TLS (target UseTLS = true)")
    g.add_argument("--tls-ca", metavar="CA.pem",
                   help="print over TLS, verifying the SCP against this CA certificate")
    g.add_argument("--tls-cert", metavar="CERT.pem",
                   help="client certificate (TLSDirectory is its directory)")
    g.add_argument("--tls-key", metavar="KEY.pem",
                   help="client private key, in the certificate's directory")
    g.add_argument("--tls-profile", help="TLSProfile, e.g. BCP195-ND (default: DCMTK's)")
    g = ap.add_argument_group("film box / session (dcmpsprt, dcmprscu)")
    g.add_argument("--layout", type=int, nargs=2, metavar=("COLS", "ROWS"),
                   help="STANDARD\\COLS,ROWS (dcmpsprt -l); default 1 1")
    g.add_argument("--filmsize", help="Film Size ID, e.g. 14INX17IN")
    g.add_argument("--landscape", action="store_true", help="Film Orientation LANDSCAPE")
    g.add_argument("--portrait", action="store_true", help="Film Orientation PORTRAIT")
    g.add_argument("--session-print", action="store_true",
                   help="N-ACTION on the film session instead of the film box")
    g.add_argument("--noprint", action="store_true", help="no N-ACTION at all (dcmprscu --noprint)")
    g.add_argument("--border", help="Border Density: BLACK, WHITE or hundredths of OD")
    g.add_argument("--empty-image", help="Empty Image Density: BLACK, WHITE or hundredths of OD")
    g.add_argument("--max-density", help="Max Density (hundredths of OD)")
    g.add_argument("--min-density", help="Min Density (hundredths of OD)")
    g.add_argument("--magnification", help="film box Magnification Type")
    g.add_argument("--smoothing", help="film box Smoothing Type")
    g.add_argument("--resolution", help="Requested Resolution ID (STANDARD/HIGH)")
    g.add_argument("--configinfo", help="film box Configuration Information")
    g.add_argument("--trim", choices=("yes", "no"), help="Trim YES/NO")
    g.add_argument("--decimate-crop", choices=("decimate", "crop", "fail"),
                   help="Requested Decimate/Crop Behavior")
    g.add_argument("--polarity", choices=("NORMAL", "REVERSE"), help="image box Polarity")
    g.add_argument("--img-request-size", help="image box Requested Image Size (mm)")
    g.add_argument("--img-magnification", help="image box Magnification Type")
    g.add_argument("--copies", type=int, help="Number of Copies")
    g.add_argument("--medium-type", help="Medium Type")
    g.add_argument("--destination", help="Film Destination")
    g.add_argument("--label", help="Film Session Label")
    g.add_argument("--priority", help="Print Priority")
    g.add_argument("--owner", help="Owner ID")
    g = ap.add_argument_group("presentation LUT and annotation")
    g.add_argument("--supports-plut", choices=("true", "false"), default="true",
                   help="target SupportsPresentationLUT (default true: dcmprscu creates one)")
    g.add_argument("--plut", choices=("identity", "lin-od"),
                   help="Presentation LUT Shape (dcmpsprt --identity / --lin-od)")
    g.add_argument("--plut-in-session", action="store_true",
                   help="reference the Presentation LUT from the film session (old SCPs)")
    g.add_argument("--illumination", type=int, help="Illumination cd/m2 (default 2000)")
    g.add_argument("--reflection", type=int, help="Reflected Ambient Light cd/m2 (default 10)")
    g.add_argument("--annotation", metavar="TEXT",
                   help="annotation text; enables Basic Annotation Box (target Annotation=)")
    g.add_argument("--annotation-format", default="ANNOTATION",
                   help="Annotation Display Format ID for --annotation (default ANNOTATION)")
    g.add_argument("--annotation-position", type=int, default=1,
                   help="Annotation Position for --annotation (default 1)")
    g = ap.add_argument_group("images")
    g.add_argument("--images", nargs="+", metavar="FILE.dcm",
                   help="input images; default: generate with make_images.py")
    g.add_argument("--bits", type=int, choices=(8, 12), default=12,
                   help="bits of generated images AND of the transmitted images "
                        "(sets Supports12Bit); default 12")
    g.add_argument("--photometric", choices=("MONOCHROME1", "MONOCHROME2", "RGB"),
                   default="MONOCHROME2",
                   help="photometric of generated images; MONOCHROME1 also transmits "
                        "MONOCHROME1 (dcmprscu --monochrome1); RGB fails in dcmpsprt")
    g.add_argument("--pattern", default="ramp",
                   help="make_images pattern for generated images (default ramp)")
    g.add_argument("--values", help="v1,v2,...: one uniform image per value (overrides --pattern)")
    g.add_argument("--count", type=int, help="number of generated images (default COLS*ROWS)")
    g.add_argument("--rows", type=int, default=256, help="generated image rows (default 256)")
    g.add_argument("--cols", type=int, default=256, help="generated image columns (default 256)")
    g.add_argument("--sop", choices=("sc", "cr"), default="sc", help="generated image SOP class")
    g = ap.add_argument_group("other")
    g.add_argument("--workdir", help="work directory (created; default: a new temp dir, kept)")
    g.add_argument("--min-print-resolution", help="[PRINT] MinPrintResolution, e.g. 512\\512")
    g.add_argument("--max-print-resolution", default="8192\\8192",
                   help="[PRINT] MaxPrintResolution (default 8192\\8192)")
    g.add_argument("--extra", action="append", default=[], metavar="KEY=VALUE",
                   help="extra key for the [TARGET] section (repeatable)")
    a = ap.parse_args(argv)
    if a.layout and (a.layout[0] < 1 or a.layout[1] < 1):
        ap.error("--layout needs positive COLS ROWS")

    workdir = a.workdir or tempfile.mkdtemp(prefix="dcmtk_print.")
    workdir = os.path.abspath(workdir)
    a.workdir = workdir
    if bool(a.tls_cert) != bool(a.tls_key) or (a.tls_cert and not a.tls_ca):
        ap.error("--tls-cert and --tls-key go together, with --tls-ca")
    if a.tls_key and os.path.dirname(os.path.abspath(a.tls_key)) != tls_dir(a):
        ap.error("--tls-key must be in the directory of --tls-cert")
    for d in ("db", "spool", "log", "lut", "images"):
        os.makedirs(os.path.join(workdir, d), exist_ok=True)
    for old in glob.glob(os.path.join(workdir, "db", "*")):
        os.remove(old)
    cfg = os.path.join(workdir, "client.cfg")
    if a.tls_ca:
        install_ca(a, workdir)
    write_config(cfg, a)
    log = os.path.join(workdir, "dcmprscu.log")
    open(log, "w").close()

    result = {"ok": False, "n_action_status": None, "statuses": [], "errors": [],
              "log": log, "workdir": workdir, "config": cfg}

    def finish(ok, reason=None):
        result["ok"] = ok
        if reason:
            result["reason"] = reason
        print(json.dumps(result, indent=1))
        return 0 if ok else 1

    try:
        images = [os.path.abspath(p) for p in a.images] if a.images else \
            generate_images(a, os.path.join(workdir, "images"))
    except (ValueError, OSError) as e:
        return finish(False, f"image generation failed: {e}")
    result["images"] = images

    cmd = ["dcmpsprt", "-v", "-c", cfg, "-p", "TARGET"]
    if a.layout:
        cmd += ["-l", str(a.layout[0]), str(a.layout[1])]
    for opt, val in (("--filmsize", a.filmsize), ("--border", a.border),
                     ("--empty-image", a.empty_image), ("--max-density", a.max_density),
                     ("--min-density", a.min_density), ("--magnification", a.magnification),
                     ("--smoothing", a.smoothing), ("--resolution", a.resolution),
                     ("--configinfo", a.configinfo), ("--img-polarity", a.polarity),
                     ("--img-request-size", a.img_request_size),
                     ("--img-magnification", a.img_magnification)):
        if val is not None:
            cmd += [opt, str(val)]
    if a.landscape:
        cmd.append("--landscape")
    if a.portrait:
        cmd.append("--portrait")
    if a.trim:
        cmd.append("--trim" if a.trim == "yes" else "--no-trim")
    if a.decimate_crop:
        cmd.append("--request-" + a.decimate_crop)
    if a.plut:
        cmd.append("--" + a.plut)
    if a.illumination is not None:
        cmd += ["--illumination", str(a.illumination)]
    if a.reflection is not None:
        cmd += ["--reflection", str(a.reflection)]
    if a.annotation is not None:
        cmd += ["--annotation", a.annotation, "-pd", "-pn", "-pl"]
    cmd += images
    prt_log = os.path.join(workdir, "dcmpsprt.log")
    open(prt_log, "w").close()
    rc, out = run(cmd, workdir, prt_log, a.timeout)
    result["dcmpsprt_log"] = prt_log
    sp = sorted(glob.glob(os.path.join(workdir, "db", "SP_*.dcm")), key=os.path.getmtime)
    if rc != 0 or not sp:
        result["errors"] = [ln for ln in out.splitlines() if ln.startswith(("E: ", "F: "))]
        return finish(False, f"dcmpsprt failed (exit {rc}); see {prt_log}")
    result["stored_print"] = sp[-1]

    cmd = ["dcmprscu", "--debug", "-c", cfg, "-p", "TARGET"]
    if a.session_print:
        cmd.append("--session-print")
    if a.noprint:
        cmd.append("--noprint")
    if a.photometric == "MONOCHROME1":
        cmd.append("--monochrome1")
    for opt, val in (("--copies", a.copies), ("--medium-type", a.medium_type),
                     ("--destination", a.destination), ("--label", a.label),
                     ("--priority", a.priority), ("--owner", a.owner)):
        if val is not None:
            cmd += [opt, str(val)]
    cmd.append(sp[-1])
    rc, out = run(cmd, workdir, log, a.timeout + 10)
    parsed = parse_log(out)
    result["dcmprscu_exit"] = rc
    result["statuses"] = parsed["statuses"]
    result["errors"] = parsed["errors"]
    result["warnings"] = parsed["warnings"]
    result["association_accepted"] = parsed["association_accepted"]
    actions = [s for s in parsed["statuses"] if s["op"] == "N-ACTION"]
    if actions:
        result["n_action_status"] = actions[-1]["status"]
    result["n_set_count"] = sum(1 for s in parsed["statuses"] if s["op"] == "N-SET")

    bad = [s for s in parsed["statuses"] if not s["ok"]]
    if rc != 0:
        return finish(False, f"dcmprscu exit code {rc}")
    if not parsed["association_accepted"]:
        return finish(False, "association not accepted")
    if parsed["errors"]:
        return finish(False, "E:/F: lines in dcmprscu log")
    if bad:
        return finish(False, "failure status: " +
                      ", ".join(f"{s['op']} {s['sop_class']} {s['status']}" for s in bad))
    if not a.noprint:
        if not actions:
            return finish(False, "no N-ACTION response")
        if not actions[-1]["ok"]:
            return finish(False, f"N-ACTION status {actions[-1]['status']}")
    return finish(True)


if __name__ == "__main__":
    sys.exit(main())
