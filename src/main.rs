//! filmd's command line: parse, load the configuration, run.

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use filmd::admin;
use filmd::config::{Config, ConfigError};
use filmd::net::association::Limits;
use filmd::net::server::{ServerOptions, serve};
use filmd::print::PrintService;
use filmd::spool::ipp_queue::IppQueue;
use filmd::spool::printers::PrinterBoard;
use filmd::spool::{PdfArchive, QueueOutputs, RetryPolicy, Spool, SpoolConfig};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

#[derive(Parser)]
#[command(name = "filmd", version, about = "DICOM Print SCP and film spooler")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
#[allow(clippy::large_enum_variant)] // parsed once, at start
enum Command {
    /// Run the Print SCP (the embedded default configuration unless --config is given).
    Serve {
        /// TOML configuration file.
        #[arg(long)]
        config: Option<PathBuf>,
        /// Address and port to listen on, e.g. 0.0.0.0:11112 (port 0 picks a free one).
        #[arg(long)]
        listen: Option<String>,
        /// Called AE title of the default queue.
        #[arg(long)]
        ae_title: Option<String>,
        /// Data directory (spool and PDFs).
        #[arg(long)]
        data_dir: Option<PathBuf>,
        /// IPP printer the default queue delivers to as well as writing its PDF archive,
        /// e.g. ipp://127.0.0.1:631/printers/films.
        #[arg(long)]
        ipp: Option<String>,
    },
    /// Compose a film from DICOM image files, without a network, to a PDF or PNG file.
    Render {
        /// Print-ready images (8 bits, or 12 in 16; MONOCHROME1/2 or RGB), in box order.
        #[arg(required = true)]
        images: Vec<PathBuf>,
        /// Output file: .pdf or .png.
        #[arg(long, short)]
        output: PathBuf,
        /// Image Display Format, e.g. 'STANDARD\2,2', 'ROW\1,2', 'COL\2,1', SLIDE, 'CUSTOM\1'.
        #[arg(long, default_value = r"STANDARD\1,1")]
        format: String,
        #[arg(long, default_value = "14INX17IN")]
        film_size: String,
        #[arg(long, default_value = "PORTRAIT")]
        orientation: String,
        /// REPLICATE, BILINEAR, CUBIC or NONE (default: the queue's).
        #[arg(long)]
        magnification: Option<String>,
        #[arg(long, default_value = "BLACK")]
        border: String,
        #[arg(long, default_value = "BLACK")]
        empty_image: String,
        /// Hundredths of OD.
        #[arg(long)]
        min_density: Option<u16>,
        /// Hundredths of OD.
        #[arg(long)]
        max_density: Option<u16>,
        #[arg(long, default_value = "NORMAL")]
        polarity: String,
        #[arg(long)]
        medium: Option<String>,
        #[arg(long)]
        trim: bool,
        /// Resolution (default: the queue's).
        #[arg(long)]
        dpi: Option<u32>,
        /// Annotation Display Format ID, e.g. TOP_BOTTOM (see layouts/annotations.toml).
        #[arg(long)]
        annotation_format: Option<String>,
        /// Text of the next annotation position (repeat: position 1, 2, …).
        #[arg(long = "annotation")]
        annotations: Vec<String>,
        /// Configuration whose queue supplies the device (density range, margins, dpi).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Queue name in that configuration (default: the first).
        #[arg(long)]
        queue: Option<String>,
    },
    /// List what each queue accepts (film sizes, display formats with their boxes,
    /// magnification and smoothing types, annotation formats): the conformance statement.
    Layouts {
        /// TOML configuration file (default: the embedded configuration).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Validate a configuration file and print what is wrong with it.
    CheckConfig {
        /// TOML configuration file.
        file: PathBuf,
    },
    /// List the running server's print jobs, newest first.
    Jobs {
        #[command(flatten)]
        server: ServerDir,
        /// Only this queue's jobs.
        #[arg(long)]
        queue: Option<String>,
        /// Only jobs in this state: received, composed, submitting, submitted, done,
        /// failed, cancelled.
        #[arg(long)]
        state: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Cancel an unfinished job (at the printer too).
    Cancel {
        #[command(flatten)]
        server: ServerDir,
        /// Job ID, as `filmd jobs` lists it.
        id: String,
    },
    /// Print a failed or cancelled job again, as a new job.
    Retry {
        #[command(flatten)]
        server: ServerDir,
        /// Job ID, as `filmd jobs` lists it.
        id: String,
        /// Also when it was printed again already, or reached its printer before it
        /// failed or was cancelled (it may have printed: check the printer first).
        #[arg(long)]
        force: bool,
    },
    /// Each queue's printer, its status and its jobs per state.
    Queues {
        #[command(flatten)]
        server: ServerDir,
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

/// Which running server an admin command asks: the one using this data directory.
#[derive(clap::Args)]
struct ServerDir {
    /// The server's data directory.
    #[arg(long)]
    data_dir: Option<PathBuf>,
    /// The server's configuration file, for its data directory (default: the embedded
    /// configuration's).
    #[arg(long)]
    config: Option<PathBuf>,
}

impl ServerDir {
    fn data_dir(&self) -> Result<PathBuf> {
        if let Some(dir) = &self.data_dir {
            return Ok(dir.clone());
        }
        let cfg = match &self.config {
            Some(path) => Config::load(path)?,
            None => Config::embedded(),
        };
        Ok(cfg.server.data_dir)
    }

    /// Sends `request` to the server; exits 1 with its error if it refuses, 2 when no
    /// server answers.
    fn ask(&self, request: &admin::Request) -> Result<admin::Answer> {
        let answer = match admin::ask(&self.data_dir()?, request) {
            Ok(a) => a,
            Err(e) => {
                eprintln!("filmd: {e}");
                std::process::exit(2);
            }
        };
        Ok(admin_answer(answer))
    }
}

/// The server's answer if it did what was asked; else its reason, and exit status 1.
fn admin_answer(answer: admin::Answer) -> admin::Answer {
    if !answer.ok {
        eprintln!(
            "filmd: {}",
            answer.error.as_deref().unwrap_or("the server refused")
        );
        std::process::exit(1);
    }
    answer
}

fn main() -> Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Jobs {
            server,
            queue,
            state,
            limit,
            json,
        } => {
            let data_dir = server.data_dir()?;
            let request = admin::Request::Jobs {
                queue: queue.clone(),
                state: state.clone(),
                limit: Some(limit),
            };
            let jobs = match admin::ask(&data_dir, &request) {
                Err(admin::ClientError::NotRunning { .. }) => {
                    // No server: read its spool database as it was left.
                    match admin::jobs_offline(&data_dir, queue, state, limit) {
                        Ok(jobs) => {
                            eprintln!(
                                "filmd: no server is running on {}: jobs as the spool \
                                 database holds them",
                                data_dir.display()
                            );
                            jobs
                        }
                        Err(e) => {
                            eprintln!("filmd: no server is running, and {e}");
                            std::process::exit(2);
                        }
                    }
                }
                Err(e) => {
                    eprintln!("filmd: {e}");
                    std::process::exit(2);
                }
                Ok(answer) => admin_answer(answer).jobs.unwrap_or_default(),
            };
            if json {
                println!("{}", serde_json::to_string_pretty(&jobs)?);
            } else {
                print!("{}", admin::jobs_table(&jobs));
            }
            Ok(())
        }
        Command::Cancel { server, id } => {
            server.ask(&admin::Request::Cancel { id: id.clone() })?;
            println!("cancelled {id}");
            Ok(())
        }
        Command::Retry { server, id, force } => {
            let answer = server.ask(&admin::Request::Retry {
                id: id.clone(),
                force,
            })?;
            println!(
                "{id} printed again as {}",
                answer.id.as_deref().unwrap_or("?")
            );
            Ok(())
        }
        Command::Queues { server, json } => {
            let queues = server
                .ask(&admin::Request::Queues)?
                .queues
                .unwrap_or_default();
            if json {
                println!("{}", serde_json::to_string_pretty(&queues)?);
            } else {
                print!("{}", admin::queues_table(&queues));
            }
            Ok(())
        }
        Command::Layouts { config } => {
            let mut cfg = match &config {
                Some(path) => Config::load(path)?,
                None => Config::embedded(),
            };
            cfg.load_custom_layouts()?;
            let annotations = filmd::annotation_files::load(&cfg.server)?;
            let formats: Vec<(String, usize)> = annotations
                .formats
                .iter()
                .map(|f| (f.id.clone(), f.positions.len()))
                .collect();
            print!("{}", filmd::conformance::describe(&cfg, &formats));
            Ok(())
        }
        Command::CheckConfig { file } => {
            match Config::load(&file).and_then(|mut cfg| cfg.load_custom_layouts().map(|()| cfg)) {
                Ok(cfg) => {
                    let annotations = match filmd::annotation_files::load(&cfg.server) {
                        Ok(setup) => setup,
                        Err(e) => {
                            eprintln!("{e}");
                            std::process::exit(1);
                        }
                    };
                    println!("{}: OK ({} queue(s))", file.display(), cfg.queues.len());
                    for (i, q) in cfg.queues.iter().enumerate() {
                        println!(
                            "  queue {:?}: AE {:?}, {} dpi, PDFs in {}",
                            q.name,
                            cfg.queue_ae_titles(i),
                            q.dpi,
                            cfg.pdf_dir(q).display()
                        );
                    }
                    println!("  {}", annotations.summary());
                    Ok(())
                }
                Err(e) => {
                    eprintln!("{e}");
                    std::process::exit(1);
                }
            }
        }
        Command::Render {
            images,
            output,
            format,
            film_size,
            orientation,
            magnification,
            border,
            empty_image,
            min_density,
            max_density,
            polarity,
            medium,
            trim,
            dpi,
            annotation_format,
            annotations,
            config,
            queue,
        } => {
            let mut cfg = match &config {
                Some(path) => Config::load(path)?,
                None => Config::embedded(),
            };
            cfg.load_custom_layouts()?;
            let q = match &queue {
                Some(name) => cfg
                    .queues
                    .iter()
                    .find(|q| &q.name == name)
                    .with_context(|| format!("no queue named {name:?}"))?,
                None => &cfg.queues[0],
            };
            let request = filmd::render::RenderRequest {
                images,
                display_format: format,
                film_size,
                orientation,
                magnification,
                border_density: border,
                empty_image_density: empty_image,
                min_density,
                max_density,
                polarity,
                medium,
                trim,
                dpi,
                annotation_format,
                annotations,
            };
            let setup = filmd::annotation_files::load(&cfg.server)?;
            filmd::film::text::install(setup.fonts);
            let page =
                filmd::render::render(&request, q, &cfg.custom_layouts, &setup.formats, &output)?;
            println!(
                "{}: {} x {} px, {:.1} x {:.1} pt, {} dpi",
                output.display(),
                page.width_px,
                page.height_px,
                page.width_pt,
                page.height_pt,
                page.dpi
            );
            Ok(())
        }
        Command::Serve {
            config,
            listen,
            ae_title,
            data_dir,
            ipp,
        } => {
            let mut cfg = match &config {
                Some(path) => Config::load(path)?,
                None => Config::embedded(),
            };
            if let Some(l) = listen {
                cfg.server.listen = l;
            }
            if let Some(ae) = ae_title {
                cfg.server.ae_title = ae.clone();
                if let Some(q) = cfg.queues.first_mut() {
                    q.ae_titles = vec![ae];
                }
            }
            if let Some(d) = data_dir {
                cfg.server.data_dir = d;
            }
            if let Some(uri) = ipp
                && let Some(q) = cfg.queues.first_mut()
            {
                q.ipp = uri;
            }
            let issues = cfg.validate();
            if !issues.is_empty() {
                return Err(ConfigError::Invalid {
                    path: config.unwrap_or_else(|| "<command line>".into()),
                    issues,
                }
                .into());
            }
            cfg.load_custom_layouts()?;
            let annotations = filmd::annotation_files::load(&cfg.server)?;
            init_logging();
            tracing::info!("{}", annotations.summary());
            filmd::film::text::install(annotations.fonts);
            run(cfg, annotations.formats)
        }
    }
}

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("FILMD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn run(cfg: Config, annotation_formats: filmd::film::AnnotationFormats) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let cfg = Arc::new(cfg);
        std::fs::create_dir_all(&cfg.server.data_dir)
            .with_context(|| format!("creating {}", cfg.server.data_dir.display()))?;
        let board = PrinterBoard::new(cfg.queues.iter().map(|q| q.name.as_str()));
        let mut outputs: HashMap<String, Arc<dyn QueueOutputs>> = HashMap::new();
        for q in &cfg.queues {
            let archive = (!q.pdf_dir.as_os_str().is_empty()).then(|| PdfArchive {
                name: q.pdf_name.clone(),
            });
            let output: Arc<dyn QueueOutputs> = if q.ipp.is_empty() {
                Arc::new(archive.unwrap_or_default())
            } else {
                let ca = if q.ipp_ca_file.as_os_str().is_empty() {
                    None
                } else {
                    Some(
                        std::fs::read(&q.ipp_ca_file)
                            .with_context(|| format!("reading {}", q.ipp_ca_file.display()))?,
                    )
                };
                let printer = IppQueue::new(&q.name, &q.ipp, ca, archive, board.clone())
                    .map_err(|e| anyhow::anyhow!("queue {}: printer {}: {e}", q.name, q.ipp))?;
                printer.spawn_poller(Duration::from_secs(q.ipp_poll_secs));
                tracing::info!(queue = %q.name, "delivering to IPP printer {}", q.ipp);
                printer
            };
            outputs.insert(q.name.clone(), output);
        }
        let _data_dir_lock = admin::lock_data_dir(&cfg.server.data_dir)
            .with_context(|| format!("locking {}", cfg.server.data_dir.display()))?;
        let sp = &cfg.spool;
        let spool_config = SpoolConfig {
            workers: if sp.compose_workers == 0 {
                SpoolConfig::default().workers
            } else {
                sp.compose_workers
            },
            min_free_mib: sp.min_free_mib,
            retention: Duration::from_secs(sp.retention_hours.saturating_mul(3600)),
            queue_limits: cfg
                .queues
                .iter()
                .map(|q| (q.name.clone(), q.max_jobs))
                .collect(),
            // Backoff between tries at an unreachable printer; when the printer poller
            // sees it back, waiting films go at once (Spool::follow_printers).
            retry: RetryPolicy {
                max_backoff: Duration::from_secs(60),
                ..RetryPolicy::default()
            },
            ..SpoolConfig::default()
        };
        let spool = Spool::open(&cfg.server.data_dir, spool_config, outputs)
            .context("opening the spool")?;
        spool.follow_printers(&board);
        admin::listen(
            &cfg.server.data_dir,
            Arc::new(admin::Admin {
                spool: spool.clone(),
                board: board.clone(),
                queues: cfg
                    .queues
                    .iter()
                    .map(|q| (q.name.clone(), (!q.ipp.is_empty()).then(|| q.ipp.clone())))
                    .collect(),
            }),
        )
        .await
        .context("opening the admin socket")?;
        let service = Arc::new(
            PrintService::new(cfg.clone(), spool.clone())
                .with_annotation_formats(annotation_formats)
                .with_printers(board),
        );
        let listener = tokio::net::TcpListener::bind(&cfg.server.listen)
            .await
            .with_context(|| format!("binding {}", cfg.server.listen))?;
        let addr = listener.local_addr()?;
        tracing::info!(
            "filmd {} listening on {addr}, data in {}",
            env!("CARGO_PKG_VERSION"),
            cfg.server.data_dir.display()
        );
        println!("listening on {addr}");
        let s = &cfg.server;
        let options = ServerOptions {
            max_associations: s.max_associations,
            limits: Limits {
                max_pdu: s.max_pdu,
                pdu_cap: s.pdu_cap,
                max_message: s.max_message_mib as usize * (1 << 20),
                association_timeout: Duration::from_secs(s.association_timeout_secs),
                idle_timeout: Duration::from_secs(s.idle_timeout_secs),
            },
            shutdown_grace: Duration::from_secs(s.shutdown_grace_secs),
        };
        let (tx, rx) = tokio::sync::watch::channel(false);
        tokio::spawn(async move {
            wait_for_signal().await;
            tracing::info!("shutdown requested");
            let _ = tx.send(true);
        });
        serve(listener, service, options, rx).await;
        let stopping = spool.clone();
        let _ = tokio::task::spawn_blocking(move || stopping.shutdown()).await;
        let _ = std::fs::remove_file(cfg.server.data_dir.join(admin::SOCKET_NAME));
        tracing::info!(
            "stopped; {} job(s) still queued resume at next start",
            spool.backlog()
        );
        Ok(())
    })
}

async fn wait_for_signal() {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        return std::future::pending().await;
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
    }
}
