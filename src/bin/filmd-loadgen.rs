//! filmd-loadgen: drives any DICOM Print SCP with N concurrent associations × M films and
//! reports films/s, MB/s of pixel data and N-ACTION latency percentiles.
//!
//! One OS thread per association, each printing its films one after another with
//! filmd's own Print SCU ([`filmd::scu`]), as a modality does (PS3.4 H.4: one film
//! session per association at a time). The images are generated once and their image
//! box N-SET data sets encoded once, so the client spends its CPU on sending, not on
//! building data sets, and the figures are the SCP's. Every non-success status is
//! counted and reported; the exit status is 1 if any film failed. With `--tls-ca` it
//! connects over DICOM TLS (the BCP 195 profile filmd's listener has), so TLS's cost
//! can be measured beside plain TCP.

use clap::Parser;
use filmd::net::tls::{ClientTlsFiles, client_config};
use filmd::net::{dataset, status};
use filmd::scu::load::{FilmResult, Report, RunParams, boxes_of_format, test_image};
use filmd::scu::{
    FilmSpec, GRAY_META, Scu, ScuError, ScuOptions, ScuTls, encode_image_boxes, gray_image,
    print_film_encoded,
};
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(Parser, Debug)]
#[command(
    name = "filmd-loadgen",
    version,
    about = "Load generator for DICOM Print SCPs: N associations x M films, films/s, MB/s, N-ACTION latency"
)]
struct Args {
    /// Address of the Print SCP.
    #[arg(long, default_value = "127.0.0.1")]
    host: String,
    #[arg(long)]
    port: u16,
    #[arg(long, default_value = "FILMD")]
    called_ae: String,
    #[arg(long, default_value = "LOADGEN")]
    calling_ae: String,
    /// Concurrent associations (one thread each).
    #[arg(long, short = 'n', default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1024))]
    associations: u32,
    /// Films printed by each association, one after another.
    #[arg(long, short = 'm', default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    films: u32,
    /// Image Display Format (2010,0010).
    #[arg(long, default_value = r"STANDARD\2,2")]
    format: String,
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u16).range(1..))]
    rows: u16,
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u16).range(1..))]
    cols: u16,
    /// Bits Stored: 8 (Bits Allocated 8) or 12 (Bits Allocated 16).
    #[arg(long, default_value_t = 12, value_parser = parse_bits)]
    bits: u16,
    /// Film Size ID (2010,0050).
    #[arg(long, default_value = "14INX17IN")]
    film_size: String,
    #[arg(long, default_value = "PORTRAIT")]
    orientation: String,
    /// Images per film, in boxes 1..=K (default: every box of --format; required for
    /// SLIDE and SUPERSLIDE, whose count depends on the film size).
    #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1024))]
    images_per_film: Option<u32>,
    /// Print with N-ACTION on the film session instead of the film box.
    #[arg(long)]
    session_print: bool,
    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
    /// Seconds to wait for each DIMSE response.
    #[arg(long, default_value_t = 60.0)]
    timeout: f64,
    /// Seconds to wait for TCP connect and A-ASSOCIATE-AC (default: --timeout). An SCP
    /// serving one association at a time keeps the others waiting for this long.
    #[arg(long)]
    connect_timeout: Option<f64>,
    /// DICOM TLS (PS3.15 B.9, BCP 195): PEM file of the CAs the SCP's certificate is
    /// verified against. Setting it connects over TLS.
    #[arg(long)]
    tls_ca: Option<PathBuf>,
    /// PEM file of our client certificate (with --tls-key), for SCPs that ask for one.
    #[arg(long, requires_all = ["tls_key", "tls_ca"])]
    tls_cert: Option<PathBuf>,
    /// PEM file of the client certificate's private key.
    #[arg(long, requires_all = ["tls_cert", "tls_ca"])]
    tls_key: Option<PathBuf>,
    /// Name the SCP's certificate must carry (default: --host).
    #[arg(long, requires = "tls_ca")]
    tls_server_name: Option<String>,
    /// Maximum PDU length we receive.
    #[arg(long, default_value_t = 16384, value_parser = clap::value_parser!(u32).range(4096..=(16 << 20)))]
    max_pdu: u32,
}

fn parse_bits(s: &str) -> Result<u16, String> {
    match s {
        "8" => Ok(8),
        "12" => Ok(12),
        _ => Err("must be 8 or 12".into()),
    }
}

fn seconds(s: f64, what: &str) -> Result<Duration, String> {
    if s.is_finite() && s > 0.0 && s <= 86_400.0 {
        Ok(Duration::from_secs_f64(s))
    } else {
        Err(format!("{what} must be between 0 and 86400 seconds"))
    }
}

/// The image box data sets, encoded once per transfer syntax the SCP may pick.
type Encoded = HashMap<String, Arc<Vec<Option<Vec<u8>>>>>;

/// What one association did.
struct AssociationRun {
    associate_time: Option<Duration>,
    films: Vec<FilmResult>,
    /// Errors outside any film (release).
    errors: Vec<String>,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(report) => {
            if args.json {
                match serde_json::to_string_pretty(&report) {
                    Ok(j) => println!("{j}"),
                    Err(e) => {
                        eprintln!("filmd-loadgen: {e}");
                        return ExitCode::from(2);
                    }
                }
            } else {
                print!("{}", report.text());
            }
            if report.films_failed > 0 {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("filmd-loadgen: {e}");
            ExitCode::from(2)
        }
    }
}

fn run(args: &Args) -> Result<Report, String> {
    let dimse_timeout = seconds(args.timeout, "--timeout")?;
    let connect_timeout = match args.connect_timeout {
        Some(s) => seconds(s, "--connect-timeout")?,
        None => dimse_timeout,
    };
    let images_per_film = match (args.images_per_film, boxes_of_format(&args.format)) {
        (Some(n), _) => n,
        (None, Some(n)) => n,
        (None, None) => {
            return Err(format!(
                "cannot count the boxes of {:?}: give --images-per-film",
                args.format
            ));
        }
    };
    // One image per box position (seeds 1..), generated once and shared by all films.
    let images: Vec<_> = (1..=images_per_film)
        .map(|seed| {
            let pixels = test_image(args.rows, args.cols, args.bits, seed);
            Some(gray_image(
                args.rows,
                args.cols,
                args.bits,
                "MONOCHROME2",
                &pixels,
            ))
        })
        .collect();
    let spec = FilmSpec {
        size: &args.film_size,
        orientation: &args.orientation,
        session_print: args.session_print,
        ..FilmSpec::gray(&args.format, images)
    };
    let mut encoded = Encoded::new();
    for ts in [dataset::EXPLICIT_VR_LE, dataset::IMPLICIT_VR_LE] {
        let boxes = encode_image_boxes(&spec, ts).map_err(|e| e.to_string())?;
        encoded.insert(ts.to_string(), Arc::new(boxes));
    }
    // The threads need only the film box parameters.
    let spec = FilmSpec {
        images: Vec::new(),
        ..spec
    };
    let options = ScuOptions {
        calling_ae: args.calling_ae.clone(),
        called_ae: args.called_ae.clone(),
        abstract_syntaxes: vec![GRAY_META.into()],
        max_pdu: args.max_pdu,
        connect_timeout,
        dimse_timeout,
        tls: tls(args)?,
    };

    let start = Instant::now();
    let runs: Vec<AssociationRun> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..args.associations)
            .map(|_| {
                let (spec, encoded, options) = (&spec, &encoded, &options);
                s.spawn(move || association(args, spec, encoded, options))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or_else(|_| AssociationRun {
                    associate_time: None,
                    films: vec![
                        FilmResult::Failed {
                            reason: "load generator thread panicked".into(),
                            action_time: None,
                        };
                        args.films as usize
                    ],
                    errors: Vec::new(),
                })
            })
            .collect()
    });
    let wall = start.elapsed();

    let mut results = Vec::new();
    let mut associate_times = Vec::new();
    let mut errors: BTreeMap<String, u64> = BTreeMap::new();
    for r in runs {
        results.extend(r.films);
        associate_times.extend(r.associate_time);
        for e in r.errors {
            *errors.entry(e).or_insert(0) += 1;
        }
    }
    let params = RunParams {
        server: format!("{}:{}", args.host, args.port),
        transport: if args.tls_ca.is_some() { "TLS" } else { "TCP" },
        called_ae: args.called_ae.clone(),
        associations: args.associations,
        films_per_association: args.films,
        format: args.format.clone(),
        film_size: args.film_size.clone(),
        images_per_film,
        rows: args.rows,
        cols: args.cols,
        bits: args.bits,
        session_print: args.session_print,
    };
    let mut report = Report::new(params, &results, &associate_times, wall);
    report.association_errors = errors;
    Ok(report)
}

/// The TLS client configuration the flags ask for, built once for every association.
fn tls(args: &Args) -> Result<Option<ScuTls>, String> {
    let Some(ca) = &args.tls_ca else {
        return Ok(None);
    };
    let files = ClientTlsFiles {
        ca: ca.clone(),
        identity: args.tls_cert.clone().zip(args.tls_key.clone()),
    };
    let config = client_config(&files).map_err(|e| format!("TLS: {e}"))?;
    Ok(Some(ScuTls {
        config,
        server_name: args
            .tls_server_name
            .clone()
            .unwrap_or_else(|| args.host.clone()),
    }))
}

/// One association: connect, print `args.films` films, release.
fn association(
    args: &Args,
    spec: &FilmSpec,
    encoded: &Encoded,
    options: &ScuOptions,
) -> AssociationRun {
    let films = args.films as usize;
    let failed_all = |reason: String| AssociationRun {
        associate_time: None,
        films: vec![
            FilmResult::Failed {
                reason,
                action_time: None,
            };
            films
        ],
        errors: Vec::new(),
    };
    let t0 = Instant::now();
    let mut scu = match Scu::connect((args.host.as_str(), args.port), options) {
        Ok(scu) => scu,
        Err(e) => return failed_all(format!("associate: {e}")),
    };
    let associate_time = t0.elapsed();
    let Some((_, ts)) = scu.context(spec.meta) else {
        scu.abort();
        return AssociationRun {
            associate_time: Some(associate_time),
            ..failed_all(format!("presentation context {} not accepted", spec.meta))
        };
    };
    let boxes = match encoded.get(&ts) {
        Some(b) => Arc::clone(b),
        // A transfer syntax we did not expect: encode for it here, once.
        None => match encode_image_boxes(spec, &ts) {
            Ok(b) => Arc::new(b),
            Err(e) => {
                scu.abort();
                return failed_all(format!("encode for {ts}: {e}"));
            }
        },
    };
    let mut results = Vec::with_capacity(films);
    let mut lost = false;
    for _ in 0..films {
        if lost {
            results.push(FilmResult::Failed {
                reason: "not attempted: the association was lost".into(),
                action_time: None,
            });
            continue;
        }
        let start = Instant::now();
        match print_film_encoded(&mut scu, spec, &boxes) {
            Ok(p) => {
                let mut warnings: Vec<String> = p
                    .warnings
                    .iter()
                    .map(|(step, s)| format!("{step} 0x{s:04X}"))
                    .collect();
                let s = p.action.status();
                if status::is_success(s) || status::is_warning(s) {
                    if s != status::SUCCESS {
                        warnings.push(format!("N-ACTION 0x{s:04X}"));
                    }
                    results.push(FilmResult::Printed {
                        action_time: p.action_time,
                        film_time: start.elapsed(),
                        warnings,
                    });
                } else {
                    results.push(FilmResult::Failed {
                        reason: format!("N-ACTION 0x{s:04X}"),
                        action_time: Some(p.action_time),
                    });
                }
            }
            Err(e) => {
                lost = e.is_fatal();
                results.push(FilmResult::Failed {
                    reason: reason(&e),
                    action_time: None,
                });
            }
        }
    }
    let mut errors = Vec::new();
    if lost {
        scu.abort();
    } else if let Err(e) = scu.release() {
        errors.push(format!("release: {e}"));
    }
    AssociationRun {
        associate_time: Some(associate_time),
        films: results,
        errors,
    }
}

/// A failure reason that groups alike failures: step and status without the comment.
fn reason(e: &ScuError) -> String {
    match e {
        ScuError::Status { step, status, .. } => format!("{step} 0x{status:04X}"),
        other => other.to_string(),
    }
}
