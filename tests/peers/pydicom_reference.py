#!/usr/bin/env python3
"""pydicom's own decoding of a DICOM file at known places: the reference that
tests/it/modality.rs holds filmd's decoder and pipeline against.

    pydicom_reference.py FILE [--frame N] [--window C,W] [--voi N] [--points R,C ...]
    pydicom_reference.py --path NAME     # the path of pydicom's bundled test file NAME

Prints one JSON object: the file's transfer syntax, size and photometric
interpretation; and for each point (row, column) of the chosen frame (1-based,
default 1):
  raw       pydicom.pixels.pixel_array(..., raw=True): stored values, no colour change
  pixel     ds.pixel_array's frame (what pydicom shows by default: YBR as RGB)
  rgb       colour images only: RGB 0..255 (convert_color_space for YBR,
            apply_color_lut for PALETTE COLOR)
  modality  monochrome only: apply_modality_lut
  voi       monochrome only: apply_voi_lut(modality, ds, index=voi-1), or a window
            given with --window applied through pydicom's apply_windowing
  fraction  monochrome only: (voi - y_min) / (y_max - y_min), pydicom's output range
            measured by windowing two values far outside every window
Default points: the corners, the centre and the thirds of the frame.
Compressed files need pydicom's plugins (pylibjpeg with -libjpeg, -openjpeg, -rle,
and pyjpegls), scripts/install-peers.sh installs them.
"""

import argparse
import json
import sys

import numpy as np
import pydicom
from pydicom.pixels import (
    apply_color_lut,
    apply_modality_lut,
    apply_voi_lut,
    apply_windowing,
    convert_color_space,
    pixel_array,
)


def points_of(rows, columns):
    rs = sorted({0, rows // 3, rows // 2, (2 * rows) // 3, rows - 1})
    cs = sorted({0, columns // 3, columns // 2, (2 * columns) // 3, columns - 1})
    return [(r, c) for r in rs for c in cs]


def at(arr, r, c):
    v = arr[r, c]
    return [float(x) for x in np.atleast_1d(v)]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("file", nargs="?")
    ap.add_argument("--path")
    ap.add_argument("--frame", type=int, default=1)
    ap.add_argument("--window")
    ap.add_argument("--voi", type=int, default=1)
    ap.add_argument("--points", nargs="*")
    args = ap.parse_args()
    if args.path:
        from pydicom.data import get_testdata_file

        path = get_testdata_file(args.path)
        if path is None:
            sys.exit(f"pydicom has no bundled test file {args.path}")
        print(path)
        return
    ds = pydicom.dcmread(args.file)
    frames = int(ds.get("NumberOfFrames", 1) or 1)
    index = args.frame - 1
    pi = str(ds.PhotometricInterpretation)
    # From the file (frame by frame), except a deflated data set, which pydicom's file
    # reader for pixels does not inflate: from the data set read whole.
    deflated = str(ds.file_meta.TransferSyntaxUID) == "1.2.840.10008.1.2.1.99"
    raw = pixel_array(ds if deflated else args.file, index=index, raw=True)
    full = ds.pixel_array
    shown = full[index] if frames > 1 else full
    points = (
        [tuple(int(x) for x in p.split(",")) for p in args.points]
        if args.points
        else points_of(int(ds.Rows), int(ds.Columns))
    )
    out = {
        "transfer_syntax": str(ds.file_meta.TransferSyntaxUID),
        "rows": int(ds.Rows),
        "columns": int(ds.Columns),
        "samples": int(ds.SamplesPerPixel),
        "frames": frames,
        "photometric": pi,
        "points": [],
    }
    monochrome = pi in ("MONOCHROME1", "MONOCHROME2")
    if monochrome:
        modality = apply_modality_lut(raw, ds)
        if args.window:
            c, w = (float(x) for x in args.window.split(","))
            ds.WindowCenter, ds.WindowWidth = c, w
            voi = apply_windowing(modality, ds)
            far = apply_windowing(np.array([-1e12, 1e12]), ds)
        elif "WindowCenter" in ds or "VOILUTSequence" in ds:
            voi = apply_voi_lut(modality, ds, index=args.voi - 1)
            far = apply_voi_lut(np.array([-1e12, 1e12]), ds, index=args.voi - 1)
        else:
            voi, far = None, None
        if far is not None:
            out["y_range"] = [float(far[0]), float(far[1])]
    elif pi == "PALETTE COLOR":
        rgb = apply_color_lut(raw, ds)
    elif pi.startswith("YBR") and shown.ndim == 3 and np.array_equal(shown, raw):
        rgb = convert_color_space(raw, pi, "RGB")
    else:
        rgb = shown
    for r, c in points:
        p = {"row": r, "column": c, "raw": at(raw, r, c), "pixel": at(shown, r, c)}
        if monochrome:
            p["modality"] = at(modality, r, c)
            if voi is not None:
                p["voi"] = at(voi, r, c)
                lo, hi = out["y_range"]
                p["fraction"] = [(v - lo) / (hi - lo) for v in p["voi"]]
        else:
            px = at(rgb, r, c)
            # A 16-bit palette gives 16-bit RGB: scale to 8 bits as a print would.
            if pi == "PALETTE COLOR" and max(px) > 255:
                px = [v / 257.0 for v in px]
            p["rgb"] = px
        out["points"].append(p)
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
