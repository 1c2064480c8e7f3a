#!/usr/bin/env python3
"""Write DICOM image files (pydicom) for filmd's print tests.

Usage:
  make_images.py OUT.dcm [--rows 256] [--cols 256] [--bits 8|12]
                 [--photometric MONOCHROME1|MONOCHROME2|RGB]
                 [--pattern uniform:V | hsplit:A,B | ramp] [--sop sc|cr]
                 [--planar 0|1]

Patterns (values are *stored* pixel values, whatever the photometric
interpretation; for MONOCHROME1 a high value is dark):
  uniform:V    every pixel is V
  hsplit:A,B   left half (cols // 2 columns) A, right half B
  ramp         horizontal ramp from 0 (first column) to max (last column),
               max = 2**bits - 1; the same on every row
For RGB, V/A/B may be one number (gray: R=G=B) or R/G/B, e.g.
`uniform:255/0/0` or `hsplit:0/0/255,255/255/0`. RGB is always 8 bits.

Bits: 8 -> Bits Allocated/Stored/High Bit 8/8/7; 12 -> 16/12/11 (unsigned).

The file is Explicit VR Little Endian with a File Meta header, Secondary
Capture (default, `--sop sc`) or Computed Radiography (`--sop cr`) Image
Storage, and carries the Patient / General Study / General Series / SC
Equipment attributes that DCMTK's dcmpsprt needs.

Library use (from other test scripts):
  from make_images import make_image, write_image
  ds = make_image(rows=64, cols=64, bits=12, photometric="MONOCHROME2",
                  pattern="uniform:2048")
  write_image(ds, "/tmp/x.dcm")
"""

import argparse
import datetime
import sys

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, PYDICOM_IMPLEMENTATION_UID, generate_uid

SC_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.7"
CR_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.1"
PHOTOMETRICS = ("MONOCHROME1", "MONOCHROME2", "RGB")


def _parse_value(text, photometric, maxval):
    """One pattern value: int, or R/G/B triple for RGB. Returns a tuple."""
    parts = [int(p, 0) for p in text.split("/")]
    if photometric == "RGB":
        if len(parts) == 1:
            parts = parts * 3
        if len(parts) != 3:
            raise ValueError(f"RGB value must be V or R/G/B, got {text!r}")
    elif len(parts) != 1:
        raise ValueError(f"grayscale value must be one number, got {text!r}")
    for p in parts:
        if not 0 <= p <= maxval:
            raise ValueError(f"value {p} out of range 0..{maxval}")
    return tuple(parts)


def pixel_array(rows, cols, bits=8, photometric="MONOCHROME2", pattern="ramp"):
    """Return a numpy array (rows, cols) or (rows, cols, 3) for the pattern."""
    if bits not in (8, 12):
        raise ValueError("bits must be 8 or 12")
    if photometric not in PHOTOMETRICS:
        raise ValueError(f"photometric must be one of {PHOTOMETRICS}")
    if photometric == "RGB" and bits != 8:
        raise ValueError("RGB images are 8 bits")
    if rows < 1 or cols < 1:
        raise ValueError("rows and cols must be >= 1")
    maxval = (1 << bits) - 1
    dtype = np.uint8 if bits == 8 else np.uint16
    nsamp = 3 if photometric == "RGB" else 1
    arr = np.zeros((rows, cols, nsamp), dtype=dtype)
    kind, _, arg = pattern.partition(":")
    if kind == "uniform":
        arr[:, :, :] = _parse_value(arg, photometric, maxval)
    elif kind == "hsplit":
        a, sep, b = arg.partition(",")
        if not sep:
            raise ValueError("hsplit needs A,B")
        half = cols // 2
        arr[:, :half, :] = _parse_value(a, photometric, maxval)
        arr[:, half:, :] = _parse_value(b, photometric, maxval)
    elif kind == "ramp":
        if cols == 1:
            line = np.zeros(1)
        else:
            line = np.round(np.arange(cols) * maxval / (cols - 1))
        arr[:, :, :] = line.astype(dtype)[None, :, None]
    else:
        raise ValueError(f"unknown pattern {pattern!r} (uniform:V, hsplit:A,B, ramp)")
    return arr if nsamp == 3 else arr[:, :, 0]


def make_image(rows=256, cols=256, bits=8, photometric="MONOCHROME2", pattern="ramp",
               sop="sc", planar=0, patient_name="Test^Film", patient_id="FILMD-TEST"):
    """Build a pydicom Dataset (with file_meta) holding the image."""
    arr = pixel_array(rows, cols, bits, photometric, pattern)
    sop_class = {"sc": SC_IMAGE_STORAGE, "cr": CR_IMAGE_STORAGE}[sop]
    now = datetime.datetime.now()
    date, time = now.strftime("%Y%m%d"), now.strftime("%H%M%S")

    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.ImageType = ["DERIVED", "SECONDARY"] if sop == "sc" else ["ORIGINAL", "PRIMARY"]
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = generate_uid()
    ds.StudyDate = date
    ds.SeriesDate = date
    ds.ContentDate = date
    ds.StudyTime = time
    ds.SeriesTime = time
    ds.ContentTime = time
    ds.AccessionNumber = ""
    ds.Modality = "OT" if sop == "sc" else "CR"
    ds.ConversionType = "WSD"  # SC Equipment module (type 1 for SC; harmless for CR)
    ds.Manufacturer = "filmd tests"
    ds.ReferringPhysicianName = ""
    ds.StudyDescription = "filmd print test"
    ds.SeriesDescription = f"{photometric} {bits}-bit {pattern}"
    ds.PatientName = patient_name
    ds.PatientID = patient_id
    ds.PatientBirthDate = ""
    ds.PatientSex = "O"
    if sop == "cr":
        ds.BodyPartExamined = "CHEST"
        ds.ViewPosition = "PA"
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.StudyID = "1"
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.PatientOrientation = ""
    ds.SamplesPerPixel = 3 if photometric == "RGB" else 1
    ds.PhotometricInterpretation = photometric
    if photometric == "RGB":
        ds.PlanarConfiguration = planar
    ds.Rows = rows
    ds.Columns = cols
    ds.BitsAllocated = 8 if bits == 8 else 16
    ds.BitsStored = bits
    ds.HighBit = bits - 1
    ds.PixelRepresentation = 0
    if photometric != "RGB":
        ds.WindowCenter = str((1 << bits) // 2)
        ds.WindowWidth = str(1 << bits)
    if photometric == "RGB" and planar == 1:
        data = np.ascontiguousarray(arr.transpose(2, 0, 1)).tobytes()
    else:
        data = arr.astype("<u2" if bits == 12 else np.uint8).tobytes()
    if len(data) % 2:
        data += b"\0"
    ds.PixelData = data
    ds["PixelData"].VR = "OB" if bits == 8 else "OW"

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.file_meta = meta
    return ds


def write_image(ds, path):
    """Write ds as a DICOM Part 10 file, Explicit VR Little Endian."""
    try:  # pydicom >= 3
        ds.save_as(path, enforce_file_format=True, implicit_vr=False, little_endian=True)
    except TypeError:  # pydicom 2.x
        ds.is_little_endian = True
        ds.is_implicit_VR = False
        ds.preamble = b"\0" * 128
        ds.save_as(path, write_like_original=False)
    return path


def make_file(path, **kw):
    """make_image(**kw) and write it to path; returns path."""
    return write_image(make_image(**kw), path)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split("\n\n", 1)[1])
    ap.add_argument("out", help="output DICOM file")
    ap.add_argument("--rows", type=int, default=256, help="Rows (default 256)")
    ap.add_argument("--cols", "--columns", type=int, default=256, help="Columns (default 256)")
    ap.add_argument("--bits", type=int, choices=(8, 12), default=8,
                    help="8 (8/8/7) or 12 (16/12/11); default 8")
    ap.add_argument("--photometric", choices=PHOTOMETRICS, default="MONOCHROME2",
                    help="photometric interpretation (default MONOCHROME2)")
    ap.add_argument("--pattern", default="ramp",
                    help="uniform:V | hsplit:A,B | ramp (default ramp)")
    ap.add_argument("--sop", choices=("sc", "cr"), default="sc",
                    help="sc = Secondary Capture (default), cr = Computed Radiography")
    ap.add_argument("--planar", type=int, choices=(0, 1), default=0,
                    help="RGB Planar Configuration (default 0, color-by-pixel)")
    a = ap.parse_args(argv)
    try:
        make_file(a.out, rows=a.rows, cols=a.cols, bits=a.bits, photometric=a.photometric,
                  pattern=a.pattern, sop=a.sop, planar=a.planar)
    except ValueError as e:
        ap.error(str(e))
    return 0


if __name__ == "__main__":
    sys.exit(main())
