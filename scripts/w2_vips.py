#!/usr/bin/env python3
"""The W2 film made by libvips (pyvips): the libvips side of scripts/bench-compare.sh.

    w2_vips.py DIR OUT.png [--runs N]

Reads the twenty 16-bit PGM files w2_once --write-pgm wrote into DIR (12-bit samples,
maxval 4095) into memory, then builds the page filmd composes for W2 at 300 dpi, as one lazy libvips
pipeline: each image scaled to 8 bits, resized 512 -> 1020 with the cubic kernel, centred
in a 1050 x 1020 black cell, the cells joined 4 x 5 into a 4200 x 5100 8-bit gray page,
written as a PNG with libvips' defaults (the same work as the montage command beside it).
The pipeline runs N times (--runs, 1 by default) in this process (a fresh pipeline each
time, the operation cache off) from the images in memory, and the median is printed as
`w2_vips median_ms=...`, so neither Python's start-up nor reading the files is counted; a
single run is what the process time measures. pyvips-binary (pip) brings its own libvips.
"""

import array
import statistics
import sys
import time

import pyvips

COLUMNS, ROWS = 4, 5
CELL_W, CELL_H = 1050, 1020
IMAGE = 1020


def read_pgm(path):
    """A binary 16-bit PGM (P5) as (width, height, native-endian samples): pyvips-binary
    has no PGM loader, so the file is parsed here."""
    data = open(path, "rb").read()
    fields, at = [], 0
    while len(fields) < 4:
        while data[at:at + 1].isspace():
            at += 1
        start = at
        while not data[at:at + 1].isspace():
            at += 1
        fields.append(data[start:at])
    if fields[0] != b"P5" or int(fields[3]) < 256:
        sys.exit(f"w2_vips: {path} is not a 16-bit binary PGM")
    width, height = int(fields[1]), int(fields[2])
    samples = array.array("H", data[at + 1:at + 1 + width * height * 2])
    if sys.byteorder == "little":
        samples.byteswap()
    return width, height, samples.tobytes()


def page(sources):
    cells = []
    for width, height, samples in sources:
        image = pyvips.Image.new_from_memory(samples, width, height, 1, "ushort")
        image = (image >> 4).cast("uchar")
        image = image.resize(IMAGE / image.width, kernel="cubic")
        image = image.embed((CELL_W - image.width) // 2, (CELL_H - image.height) // 2,
                            CELL_W, CELL_H, extend="black")
        cells.append(image)
    return pyvips.Image.arrayjoin(cells, across=COLUMNS)


def main():
    args = sys.argv[1:]
    runs = 1
    if "--runs" in args:
        at = args.index("--runs")
        runs = int(args[at + 1])
        del args[at:at + 2]
    if len(args) != 2:
        sys.exit("usage: w2_vips.py DIR OUT.png [--runs N]")
    directory, out = args
    sources = [read_pgm(f"{directory}/w2_{index:02}.pgm") for index in range(1, COLUMNS * ROWS + 1)]
    pyvips.cache_set_max(0)
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        result = page(sources)
        result.write_to_file(out)
        times.append((time.perf_counter() - start) * 1e3)
        if (result.width, result.height) != (COLUMNS * CELL_W, ROWS * CELL_H):
            sys.exit(f"w2_vips: page is {result.width}x{result.height}")
    print(f"w2_vips runs={runs} median_ms={statistics.median(times):.1f} "
          f"libvips={pyvips.version(0)}.{pyvips.version(1)}.{pyvips.version(2)}")


if __name__ == "__main__":
    main()
