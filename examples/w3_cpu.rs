//! The CPU limits of W3: the film `filmd-loadgen` sends in scripts/bench-w3.sh (8INX10IN
//! `STANDARD\1,1`, one 512² 12-bit image, the load generator's own test image), made into
//! its archive PDF and preview the way the spool's compose thread makes it
//! (`outputs::archive::job_pdf_copies`, on the default queue's device), many times in one
//! process, one film per core at a time as the spool composes under load. CPU time is read
//! with getrusage(2) (RUSAGE_SELF: every thread of the process, so a composition that uses
//! both cores counts both, and the kernel's time in its threads' system calls; not the
//! kernel's own threads), so the figure does not depend on what else the machine runs; a
//! limit is then `cores / CPU seconds per film`.
//!
//! Two figures, from rounds taken in turn in the same minute:
//! - **compose+encode** (`cpu_ms_per_film`, `limit_films_per_s`): the PDF's bytes in
//!   memory, and the preview written to its file (the same file every film: the job is
//!   the same, where the server makes one per job); W3's target is stated against it.
//! - **written** (`cpu_ms_per_film_written`, `limit_written_films_per_s`): the same, and
//!   each PDF then written durably under a new name as the archive writes it (temp file,
//!   fsync, rename: `spool::payload::write_synced`), the directory fsynced once a round
//!   as the spool's retirement does for a batch (engine/compose.rs). No server that keeps
//!   every PDF can exceed this rate, whatever its intake costs. What a write costs depends
//!   on the file system's state: on ext4 without a journal, files deleted in the last
//!   seconds beside it (the server's payloads, just before in scripts/bench-w3.sh) make
//!   finding a free inode dearer.
//!
//!     cargo run --release --example w3_cpu -- --films 40
//!
//! Prints one line: `w3_cpu films=N rounds=5 cpu_ms_per_film=… (the median round's)
//! cpu_ms_per_film_min=… cpu_ms_per_film_max=… wall_ms_per_film=… pdf_bytes=… cores=…
//! limit_films_per_s=… cpu_ms_per_film_written=… limit_written_films_per_s=…`.

use anyhow::{Context, Result, bail};
use filmd::film::{
    AreaDensity, DisplayFormat, Film, FilmSize, Image, ImageBox, Magnification, Medium,
    Orientation, Photometric, Pixels, PresentationLut,
};
use filmd::spool::PrintJob;
use std::time::{Duration, Instant};

/// Rounds measured; the median one is the figure.
const ROUNDS: usize = 5;

fn main() -> Result<()> {
    let mut films = 40usize;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--films" => {
                films = args
                    .next()
                    .context("--films needs a value")?
                    .parse()
                    .context("--films")?
            }
            "--bench" => {}
            other => bail!("unknown argument {other}; use --films N"),
        }
    }
    let loaded = filmd::config::load(None, &filmd::config::Overrides::default())
        .context("the embedded default configuration")?;
    let queue = loaded
        .settings
        .queues
        .first()
        .context("the default configuration has no queue")?;
    let device = queue.device(false);
    let magnification = queue.default_magnification;
    let previews = tempfile::tempdir()?;
    let data = filmd::data_dir::DataDir::new(previews.path());
    let job = w3_job(device, magnification);
    // Warm-up: page buffers, the font cache, the allocator.
    let mut pdf_bytes = 0;
    for _ in 0..2 {
        pdf_bytes = filmd::outputs::archive::job_pdf_copies(&job, 1, Some(&data))
            .map_err(|e| anyhow::anyhow!("{e}"))?
            .len();
    }
    // Rounds of `films` each, the median round taken: a single round of a second on a
    // shared machine moved by a quarter from one run to the next. The written rounds
    // alternate with the others, so that both see the same minute, and which of the two
    // goes first alternates too (an order effect lands on neither side).
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let pdfs = previews.path().join("pdf");
    std::fs::create_dir_all(&pdfs)?;
    let mut rounds = Vec::with_capacity(ROUNDS);
    let mut written = Vec::with_capacity(ROUNDS);
    let mut wall = Duration::ZERO;
    let mut serial = 0;
    for pair in 0..ROUNDS {
        if pair % 2 == 1 {
            written.push(round(&job, &data, films, cores, Some((&pdfs, serial)))?);
            serial += films;
        }
        let started = Instant::now();
        rounds.push(round(&job, &data, films, cores, None)?);
        wall += started.elapsed();
        if pair % 2 == 0 {
            written.push(round(&job, &data, films, cores, Some((&pdfs, serial)))?);
            serial += films;
        }
    }
    let per_film = median(&mut rounds);
    let per_film_written = median(&mut written);
    println!(
        "w3_cpu films={films} rounds={ROUNDS} cpu_ms_per_film={:.1} cpu_ms_per_film_min={:.1} cpu_ms_per_film_max={:.1} wall_ms_per_film={:.1} pdf_bytes={pdf_bytes} cores={cores} limit_films_per_s={:.2} cpu_ms_per_film_written={:.1} limit_written_films_per_s={:.2}",
        per_film * 1e3,
        rounds[0] * 1e3,
        rounds[ROUNDS - 1] * 1e3,
        wall.as_secs_f64() * 1e3 / (films * ROUNDS).max(1) as f64,
        cores as f64 / per_film.max(1e-9),
        per_film_written * 1e3,
        cores as f64 / per_film_written.max(1e-9),
    );
    Ok(())
}

/// One round: `films` films composed and encoded, one per core at a time, as the spool
/// composes under load (a composition then keeps to its own core: the cheapest way to
/// use the cores, so the limit is the highest they could sustain). With `write`, each
/// PDF is then written durably into its directory as `<serial>.pdf`, serials counting up
/// from the one given (new files, as the archive makes, none replaced), and the
/// directory fsynced at the end. Returns the CPU seconds per film.
fn round(
    job: &PrintJob,
    data: &filmd::data_dir::DataDir,
    films: usize,
    cores: usize,
    write: Option<(&std::path::Path, usize)>,
) -> Result<f64> {
    let cpu_before = cpu_time()?;
    std::thread::scope(|scope| -> Result<()> {
        let workers: Vec<_> = (0..cores)
            .map(|w| {
                scope.spawn(move || -> Result<()> {
                    for n in (w..films).step_by(cores) {
                        let pdf = filmd::outputs::archive::job_pdf_copies(job, 1, Some(data))
                            .map_err(|e| anyhow::anyhow!("{e}"))?;
                        match write {
                            Some((dir, first)) => {
                                let path = dir.join(format!("{}.pdf", first + n));
                                filmd::spool::payload::write_synced(&path, &pdf)
                                    .with_context(|| format!("writing {}", path.display()))?
                            }
                            None => {
                                std::hint::black_box(&pdf);
                            }
                        }
                    }
                    Ok(())
                })
            })
            .collect();
        for worker in workers {
            worker
                .join()
                .map_err(|_| anyhow::anyhow!("a composition panicked"))??;
        }
        Ok(())
    })?;
    if let Some((dir, _)) = write {
        filmd::spool::sync_dir(dir)?;
    }
    Ok((cpu_time()? - cpu_before).as_secs_f64() / films.max(1) as f64)
}

/// The median of `rounds`, sorted in place.
fn median(rounds: &mut [f64]) -> f64 {
    rounds.sort_by(f64::total_cmp);
    rounds[rounds.len() / 2]
}

/// The job of one W3 film as the spool holds it.
fn w3_job(device: filmd::film::Device, magnification: Magnification) -> PrintJob {
    let samples = filmd::scu::load::test_image(512, 512, 12, 1);
    let image = Image {
        rows: 512,
        columns: 512,
        photometric: Photometric::Monochrome2,
        bits_stored: 12,
        pixel_aspect_ratio: (1, 1),
        pixels: Pixels::new(samples.iter().flat_map(|s| s.to_le_bytes()).collect()),
    };
    let film = Film {
        display_format: DisplayFormat::Standard {
            columns: 1,
            rows: 1,
        },
        size: FilmSize::from_id("8INX10IN").expect("8INX10IN is a standard film size"),
        orientation: Orientation::Portrait,
        magnification,
        border_density: AreaDensity::Black,
        empty_image_density: AreaDensity::Black,
        min_density: device.min_density,
        max_density: device.max_density,
        trim: false,
        medium: Medium::ClearFilm,
        illumination: 2000,
        reflected_ambient_light: 10,
        presentation_lut: PresentationLut::Identity,
        color: false,
        image_boxes: vec![ImageBox {
            image: Some(image),
            ..ImageBox::empty(1)
        }],
        annotations: vec![],
    };
    PrintJob {
        id: "0000000000000-000000-w3".into(),
        uid: "2.25.3".into(),
        queue: "default".into(),
        calling_ae_title: "LOADGEN".into(),
        film_session_label: String::new(),
        owner_id: String::new(),
        priority: "MED".into(),
        copies: 1,
        created_unix: 0,
        device,
        films: vec![film],
    }
}

/// User plus system CPU time of every thread of this process so far.
fn cpu_time() -> Result<Duration> {
    let mut usage = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: usage points to writable memory of the right type; getrusage fills it
    // when it returns 0.
    if unsafe { libc::getrusage(libc::RUSAGE_SELF, usage.as_mut_ptr()) } != 0 {
        return Err(std::io::Error::last_os_error().into());
    }
    // SAFETY: getrusage returned 0, so the struct is initialised.
    let usage = unsafe { usage.assume_init() };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    Ok(tv(usage.ru_utime) + tv(usage.ru_stime))
}
