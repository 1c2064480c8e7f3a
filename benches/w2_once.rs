//! The W2 film, composed and encoded as a PDF N times, median printed:
//! the filmd side of scripts/bench-compare.sh, which also runs libvips and ImageMagick on
//! the same twenty images.
//!
//!     cargo bench --bench w2_once -- --runs 5 --dpi 300 [--color]
//!     w2_once --bench --write-pgm DIR            # the twenty images as 16-bit PGM files
//!     w2_once --bench --from-pgm DIR --out F.pdf # read them back, write the PDF
//!     w2_once --bench --runs 1 --write-raw F     # the composed page's raw pixels
//!
//! `--color` prints the twenty images as RGB on a colour page (three times the bytes).
//! Each run times the film's PDF made in memory as the server makes it for an N-ACTION:
//! composition and compression overlapped in strips (`compose_compressed`), then the
//! PDF/A document; `median_ms` is that. `compose_median_ms` and `encode_median_ms` time
//! `compose` and `encode_pdf` apart, to show where the time goes (their sum exceeds the
//! overlapped figure; with `--runs 1` they are not timed, and print as 0). Reading PGM files, when asked to, happens once before the runs. Without `--bench` or `--runs`
//! (as under `cargo test --benches`) it composes and encodes once at 300 dpi and checks
//! the result, as a smoke test.

mod common;

use anyhow::{Context, Result, bail, ensure};
use common::{
    W2_BITS, W2_COLUMNS, W2_IMAGE_SIZE, W2_ROWS, device, document_info, film, tiles, w2_color_film,
};
use filmd::backend::pdf::{PdfBuilder, encode_pdf};
use filmd::film::compose::compose;
use filmd::film::{Image, Magnification, Photometric, Pixels};
use filmd::outputs::archive::compose_compressed;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

#[derive(Debug)]
struct Options {
    runs: usize,
    dpi: u32,
    write_pgm: Option<PathBuf>,
    from_pgm: Option<PathBuf>,
    out: Option<PathBuf>,
    raw: Option<PathBuf>,
    color: bool,
}

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let measuring = args.iter().any(|a| a == "--bench" || a == "--runs");
    if !measuring {
        return smoke_test();
    }
    let options = parse(&args)?;
    if let Some(dir) = &options.write_pgm {
        return write_pgms(dir);
    }
    let images = match &options.from_pgm {
        Some(dir) => read_pgms(dir)?,
        None => tiles(W2_COLUMNS * W2_ROWS, W2_IMAGE_SIZE, W2_BITS),
    };
    measure(&options, &images)
}

fn parse(args: &[String]) -> Result<Options> {
    let mut options = Options {
        runs: 5,
        dpi: 300,
        write_pgm: None,
        from_pgm: None,
        out: None,
        raw: None,
        color: false,
    };
    let mut args = args.iter();
    while let Some(arg) = args.next() {
        let mut value = || args.next().with_context(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--bench" => {}
            "--runs" => options.runs = value()?.parse().context("--runs")?,
            "--dpi" => options.dpi = value()?.parse().context("--dpi")?,
            "--write-pgm" => options.write_pgm = Some(value()?.into()),
            "--from-pgm" => options.from_pgm = Some(value()?.into()),
            "--out" => options.out = Some(value()?.into()),
            "--write-raw" => options.raw = Some(value()?.into()),
            "--color" => options.color = true,
            other => bail!(
                "unknown argument {other}; use --runs N --dpi D [--color] [--from-pgm DIR] [--out FILE] [--write-raw FILE] | --write-pgm DIR"
            ),
        }
    }
    ensure!(options.runs > 0, "--runs must be at least 1");
    Ok(options)
}

/// Makes the film's PDF `runs` times as the server does (composition and compression
/// overlapped, [`compose_compressed`], then the PDF/A document); prints every run and the
/// medians. Then, for where the time goes, composition alone and `encode_pdf` of the
/// composed page alone, `runs` times each.
fn measure(options: &Options, images: &[Image]) -> Result<()> {
    let film = if options.color {
        w2_color_film(images)
    } else {
        film(W2_COLUMNS, W2_ROWS, images, Magnification::Cubic)
    };
    let device = device(options.dpi);
    let info = document_info("STANDARD\\4,5");
    let mut totals = Vec::with_capacity(options.runs);
    let mut last = (0, 0, Vec::new());
    for run in 1..=options.runs {
        let start = Instant::now();
        let (page, image) = compose_compressed(&film, &device);
        let mut pdf = PdfBuilder::new()?;
        pdf.add_compressed_page(&page, image)?;
        let pdf = pdf.finish(&info)?;
        let total = start.elapsed();
        println!("run {run}: compose + compress + PDF {:.1} ms", ms(total));
        totals.push(total);
        if let (Some(raw), 1) = (&options.raw, run) {
            // The PDF's page is never held whole: compose it again to write it.
            std::fs::write(raw, compose(&film, &device).pixels)
                .with_context(|| format!("writing {}", raw.display()))?;
        }
        last = (page.width_px, page.height_px, pdf);
    }
    // Where the time goes, when measuring: not in a single run, which is one film's whole
    // work as a process (bench-compare.sh times it against the other programs).
    let parts = if options.runs > 1 { options.runs } else { 0 };
    let mut composing = Vec::with_capacity(parts);
    let mut encoding = Vec::with_capacity(parts);
    for _ in 0..parts {
        let start = Instant::now();
        let page = compose(&film, &device);
        composing.push(start.elapsed());
        let start = Instant::now();
        encode_pdf(std::slice::from_ref(&page), &info)?;
        encoding.push(start.elapsed());
    }
    let (width, height, pdf) = last;
    if let Some(out) = &options.out {
        std::fs::write(out, &pdf).with_context(|| format!("writing {}", out.display()))?;
    }
    println!(
        "w2_once dpi={} color={} page={width}x{height} runs={} pdf_bytes={} median_ms={:.1} compose_median_ms={:.1} encode_median_ms={:.1}",
        options.dpi,
        options.color,
        options.runs,
        pdf.len(),
        ms(median(&mut totals)),
        ms(median(&mut composing)),
        ms(median(&mut encoding)),
    );
    Ok(())
}

fn smoke_test() -> Result<()> {
    let images = tiles(W2_COLUMNS * W2_ROWS, W2_IMAGE_SIZE, W2_BITS);
    let page = compose(
        &film(W2_COLUMNS, W2_ROWS, &images, Magnification::Cubic),
        &device(300),
    );
    ensure!(
        (page.width_px, page.height_px) == (4200, 5100),
        "W2 page size"
    );
    let pdf = encode_pdf(std::slice::from_ref(&page), &document_info("smoke"))?;
    ensure!(pdf.starts_with(b"%PDF-"), "encode_pdf wrote no PDF header");
    println!("w2_once smoke test: 1 passed, 0 failed");
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The median; for an even count, the mean of the middle two; zero for none.
fn median(times: &mut [Duration]) -> Duration {
    if times.is_empty() {
        return Duration::ZERO;
    }
    times.sort();
    let n = times.len();
    if n % 2 == 1 {
        times[n / 2]
    } else {
        (times[n / 2 - 1] + times[n / 2]) / 2
    }
}

fn pgm_path(dir: &Path, index: u32) -> PathBuf {
    dir.join(format!("w2_{index:02}.pgm"))
}

/// Writes the twenty W2 images as binary 16-bit PGM (big-endian samples, maxval 4095).
fn write_pgms(dir: &Path) -> Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let images = tiles(W2_COLUMNS * W2_ROWS, W2_IMAGE_SIZE, W2_BITS);
    for (index, image) in (1..).zip(&images) {
        let mut bytes = format!(
            "P5\n{} {}\n{}\n",
            image.columns,
            image.rows,
            image.max_value()
        )
        .into_bytes();
        for sample in image.pixels.as_slice().chunks_exact(2) {
            bytes.extend_from_slice(&[sample[1], sample[0]]);
        }
        let path = pgm_path(dir, index);
        std::fs::write(&path, bytes).with_context(|| format!("writing {}", path.display()))?;
    }
    println!("wrote {} PGM files to {}", images.len(), dir.display());
    Ok(())
}

fn read_pgms(dir: &Path) -> Result<Vec<Image>> {
    (1..=W2_COLUMNS * W2_ROWS)
        .map(|index| {
            let path = pgm_path(dir, index);
            let bytes =
                std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
            parse_pgm(&bytes).with_context(|| format!("parsing {}", path.display()))
        })
        .collect()
}

/// A binary 16-bit PGM (P5, maxval 256..=4095) as a 12-bit MONOCHROME2 image.
fn parse_pgm(bytes: &[u8]) -> Result<Image> {
    let mut fields = Vec::with_capacity(4);
    let mut at = 0;
    while fields.len() < 4 {
        while at < bytes.len() && (bytes[at].is_ascii_whitespace() || bytes[at] == b'#') {
            if bytes[at] == b'#' {
                while at < bytes.len() && bytes[at] != b'\n' {
                    at += 1;
                }
            }
            at += 1;
        }
        let start = at;
        while at < bytes.len() && !bytes[at].is_ascii_whitespace() {
            at += 1;
        }
        ensure!(at > start, "PGM header ends early");
        fields.push(std::str::from_utf8(&bytes[start..at])?);
    }
    ensure!(fields[0] == "P5", "not a binary PGM");
    let columns: u32 = fields[1].parse()?;
    let rows: u32 = fields[2].parse()?;
    let maxval: u32 = fields[3].parse()?;
    ensure!(
        (256..=4095).contains(&maxval),
        "maxval {maxval} is not 9 to 12 bits"
    );
    ensure!(at < bytes.len(), "PGM has no pixel data");
    let data = &bytes[at + 1..];
    let count = columns as usize * rows as usize;
    ensure!(
        data.len() >= 2 * count,
        "PGM holds fewer samples than its size"
    );
    let pixels = data[..2 * count]
        .chunks_exact(2)
        .flat_map(|s| [s[1], s[0]])
        .collect();
    Ok(Image {
        rows,
        columns,
        photometric: Photometric::Monochrome2,
        bits_stored: 12,
        pixel_aspect_ratio: (1, 1),
        pixels: Pixels::new(pixels),
    })
}
