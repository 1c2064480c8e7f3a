//! filmd's command line: parse the arguments, call one function per subcommand, and map
//! the outcome to an exit status once (0 done, 1 refused or failed, 2 no server).

use anyhow::Context;
use clap::{Parser, Subcommand};
use filmd::admin;
use filmd::config::{self, Loaded, Overrides};
use filmd::data_dir::DataDir;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

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
        /// Address and port of the web console ([admin] http_listen; "" turns it off).
        #[arg(long)]
        http_listen: Option<String>,
    },
    /// Compose a film from DICOM image files, without a network, to a PDF or PNG file.
    Render {
        #[command(flatten)]
        request: filmd::render::RenderRequest,
        /// Output file: .pdf or .png.
        #[arg(long, short)]
        output: PathBuf,
        /// Configuration whose queue supplies the device (density range, margins, dpi).
        #[arg(long)]
        config: Option<PathBuf>,
        /// Queue name in that configuration (default: the first).
        #[arg(long)]
        queue: Option<String>,
    },
    /// Print DICOM image files as films on a Print SCP (filmd or any other), reporting
    /// each DIMSE status: exit status 0 when every film printed.
    Print {
        #[command(flatten)]
        request: filmd::scu::job::PrintRequest,
    },
    /// List what each queue accepts (film sizes, display formats with their boxes,
    /// magnification and smoothing types, annotation formats): the conformance statement.
    Layouts {
        /// TOML configuration file (default: the embedded configuration).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Read a password on standard input and print its argon2id hash, for a line
    /// `NAME:HASH` of the web console's users_file.
    HashPassword,
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
        /// Only jobs in this state: received, composed, submitting, submitted, storing,
        /// done, failed, cancelled.
        #[arg(long)]
        state: Option<String>,
        /// Only jobs from this calling AE title.
        #[arg(long)]
        calling_ae: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Skip this many of the newest first (paging).
        #[arg(long, default_value_t = 0)]
        offset: usize,
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// One job: its details, films and history.
    Job {
        #[command(flatten)]
        server: ServerDir,
        /// Job ID, as `filmd jobs` lists it.
        id: String,
        /// JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Hold a received or composed job: it is not delivered until released, across
    /// restarts too.
    Hold {
        #[command(flatten)]
        server: ServerDir,
        /// Job ID, as `filmd jobs` lists it.
        id: String,
    },
    /// Release a held job.
    Release {
        #[command(flatten)]
        server: ServerDir,
        /// Job ID, as `filmd jobs` lists it.
        id: String,
    },
    /// Give a job the patient and study identity its PACS destinations get (merged into
    /// what was found in its texts or the worklist), and release it if it is held.
    Assign {
        #[command(flatten)]
        server: ServerDir,
        /// Job ID, as `filmd jobs` lists it.
        id: String,
        #[command(flatten)]
        identity: AssignIdentity,
    },
    /// Pause a queue: it accepts prints but delivers none until resumed.
    Pause {
        #[command(flatten)]
        server: ServerDir,
        /// Queue name, as `filmd queues` lists it.
        queue: String,
    },
    /// Resume a paused queue.
    Resume {
        #[command(flatten)]
        server: ServerDir,
        /// Queue name, as `filmd queues` lists it.
        queue: String,
    },
    /// Refuse new prints on a queue: modalities get "print queue full" (C601/C602) with
    /// the reason as Error Comment.
    Refuse {
        #[command(flatten)]
        server: ServerDir,
        /// Queue name, as `filmd queues` lists it.
        queue: String,
        /// Why, as modalities will show it (the first 64 characters reach them).
        #[arg(long)]
        reason: String,
    },
    /// Accept new prints again on a refusing queue.
    Accept {
        #[command(flatten)]
        server: ServerDir,
        /// Queue name, as `filmd queues` lists it.
        queue: String,
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

/// The identity `filmd assign` gives: at least one attribute, each checked against its
/// VR by the server (PS3.5 6.2).
#[derive(clap::Args)]
#[group(required = true, multiple = true)]
struct AssignIdentity {
    /// Patient ID (0010,0020), at most 64 characters.
    #[arg(long)]
    patient_id: Option<String>,
    /// Patient's Name (0010,0010), e.g. "Doe^Jane".
    #[arg(long)]
    patient_name: Option<String>,
    /// Accession Number (0008,0050), at most 16 characters.
    #[arg(long)]
    accession: Option<String>,
    /// Study Instance UID (0020,000D).
    #[arg(long)]
    study_uid: Option<String>,
    /// Patient's Birth Date (0010,0030), YYYYMMDD.
    #[arg(long)]
    birth_date: Option<String>,
    /// Patient's Sex (0010,0040): M, F or O.
    #[arg(long)]
    sex: Option<String>,
}

impl AssignIdentity {
    /// By DICOM keyword.
    fn identity(self) -> filmd::spool::Identity {
        [
            ("PatientID", self.patient_id),
            ("PatientName", self.patient_name),
            ("AccessionNumber", self.accession),
            ("StudyInstanceUID", self.study_uid),
            ("PatientBirthDate", self.birth_date),
            ("PatientSex", self.sex),
        ]
        .into_iter()
        .filter_map(|(k, v)| v.map(|v| (k.to_string(), v)))
        .collect()
    }
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
    fn data_dir(&self) -> Result<DataDir, Failure> {
        if let Some(dir) = &self.data_dir {
            return Ok(DataDir::new(dir));
        }
        // Only the file's own data directory: the layouts and fonts it names are the
        // server's business, and may be relative to another working directory.
        let file = match &self.config {
            Some(path) => config::ConfigFile::load(path)?,
            None => config::ConfigFile::embedded(),
        };
        Ok(DataDir::new(file.server.data_dir))
    }

    /// Sends `request` to the server: its answer if it did what was asked.
    fn ask(&self, request: &admin::Request) -> Result<admin::Answer, Failure> {
        let answer = admin::ask(&self.data_dir()?, request).map_err(Failure::no_server)?;
        accepted(answer)
    }
}

/// How a command failed, and so its exit status.
enum Failure {
    /// Refused, invalid, or failed: exit status 1.
    Failed(anyhow::Error),
    /// No server answers on the admin socket: exit status 2.
    NoServer(String),
}

impl Failure {
    fn no_server(e: impl std::fmt::Display) -> Failure {
        Failure::NoServer(e.to_string())
    }
}

impl<E: Into<anyhow::Error>> From<E> for Failure {
    fn from(e: E) -> Failure {
        Failure::Failed(e.into())
    }
}

/// The server's answer if it did what was asked; else its reason.
fn accepted(answer: admin::Answer) -> Result<admin::Answer, Failure> {
    if answer.ok {
        Ok(answer)
    } else {
        Err(Failure::Failed(anyhow::anyhow!(
            "{}",
            answer.error.as_deref().unwrap_or("the server refused")
        )))
    }
}

fn main() -> ExitCode {
    let outcome = match Cli::parse().command {
        Command::Serve {
            config,
            listen,
            ae_title,
            data_dir,
            ipp,
            http_listen,
        } => serve(
            config.as_deref(),
            &Overrides {
                listen,
                ae_title,
                data_dir,
                ipp,
                http_listen,
            },
        ),
        Command::Render {
            request,
            output,
            config,
            queue,
        } => render(&request, &output, config.as_deref(), queue.as_deref()),
        Command::Print { request } => print(&request),
        Command::Layouts { config } => layouts(config.as_deref()),
        Command::CheckConfig { file } => check_config(&file),
        Command::HashPassword => hash_password(),
        Command::Jobs {
            server,
            queue,
            state,
            calling_ae,
            limit,
            offset,
            json,
        } => jobs(
            &server,
            admin::JobQuery {
                queue,
                state,
                calling_ae,
                limit: Some(limit),
                offset,
            },
            json,
        ),
        Command::Job { server, id, json } => job(&server, &id, json),
        Command::Hold { server, id } => control(&server, admin::Request::Hold { id }),
        Command::Release { server, id } => control(&server, admin::Request::Release { id }),
        Command::Assign {
            server,
            id,
            identity,
        } => assign(&server, id, identity.identity()),
        Command::Pause { server, queue } => control(&server, admin::Request::Pause { queue }),
        Command::Resume { server, queue } => control(&server, admin::Request::Resume { queue }),
        Command::Refuse {
            server,
            queue,
            reason,
        } => control(&server, admin::Request::Refuse { queue, reason }),
        Command::Accept { server, queue } => control(&server, admin::Request::Accept { queue }),
        Command::Cancel { server, id } => cancel(&server, &id),
        Command::Retry { server, id, force } => retry(&server, &id, force),
        Command::Queues { server, json } => queues(&server, json),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failure::Failed(e)) => {
            // The library's errors name their cause in their own message.
            eprintln!("filmd: {e}");
            ExitCode::from(1)
        }
        Err(Failure::NoServer(e)) => {
            eprintln!("filmd: {e}");
            ExitCode::from(2)
        }
    }
}

fn load(path: Option<&Path>, overrides: &Overrides) -> Result<Loaded, Failure> {
    Ok(config::load(path, overrides)?)
}

/// Makes the configured fonts the process's, before anything composes a film.
fn install_fonts(loaded: &mut Loaded) {
    if !filmd::film::text::install(std::mem::take(&mut loaded.fonts)) {
        tracing::warn!("fonts were already in use: the configured fonts are not installed");
    }
}

fn serve(config: Option<&Path>, overrides: &Overrides) -> Result<(), Failure> {
    let mut loaded = load(config, overrides)?;
    init_logging();
    tracing::info!("configuration {}", loaded.source.display());
    tracing::info!("{}", loaded.files_summary);
    install_fonts(&mut loaded);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        // The handlers are installed before the listener is bound: a SIGTERM that arrives
        // as soon as "listening" is printed must stop filmd gracefully, not kill it.
        let shutdown = shutdown_signal();
        filmd::app::run(loaded.settings, shutdown, |addrs| {
            // The first line names the plain port (else the TLS one): scripts read it.
            for (addr, tls) in [(addrs.plain, ""), (addrs.tls, " with TLS")] {
                if let Some(addr) = addr {
                    println!("listening{tls} on {addr}");
                }
            }
            if let Some(console) = addrs.console {
                println!("console on {console}");
            }
        })
        .await
    })?;
    Ok(())
}

fn layouts(config: Option<&Path>) -> Result<(), Failure> {
    let loaded = load(config, &Overrides::default())?;
    print!("{}", filmd::conformance::describe(&loaded.settings));
    Ok(())
}

fn check_config(file: &Path) -> Result<(), Failure> {
    let loaded = load(Some(file), &Overrides::default())?;
    let settings = &loaded.settings;
    println!(
        "{}: OK ({} queue(s))",
        file.display(),
        settings.queues.len()
    );
    for q in &settings.queues {
        let archive = q.archive.as_ref().map_or_else(
            || "no PDF archive".to_string(),
            |a| format!("PDFs in {}", a.dir.display()),
        );
        let printer = q
            .ipp
            .as_ref()
            .map(|i| format!(", printer {}", i.uri))
            .unwrap_or_default();
        println!(
            "  queue {:?}: AE {:?}, {} dpi, {archive}{printer}",
            q.name, q.ae_titles, q.dpi
        );
    }
    let server = &settings.server;
    let tls = server.tls.as_ref().map(|t| {
        format!(
            "TLS on {} ({})",
            t.listen,
            match (&t.files.client_ca, t.files.require_client_cert) {
                (None, _) => "no client certificates asked for",
                (Some(_), false) => "client certificates verified when given",
                (Some(_), true) => "client certificates required",
            }
        )
    });
    let listeners: Vec<String> = server
        .listen
        .map(|a| format!("plain DICOM on {a}"))
        .into_iter()
        .chain(tls)
        .collect();
    println!("  listening: {}", listeners.join(", "));
    let o = &server.options;
    println!(
        "  limits: {} associations, {} per address, {} waiting for their A-ASSOCIATE-RQ \
         (within {} s), idle {} s, PDU {} bytes (up to {}), message {} MiB",
        o.max_associations,
        o.max_associations_per_host.min(o.max_associations),
        o.max_pending,
        o.limits.association_timeout.as_secs(),
        o.limits.idle_timeout.as_secs(),
        o.limits.max_pdu,
        o.limits.pdu_cap,
        o.limits.max_message >> 20
    );
    if let Some(audit) = &settings.audit {
        println!("  audit trail to {}", audit.destination);
    }
    match &settings.console {
        None => println!("  web console: off"),
        Some(c) => println!(
            "  web console on {}://{}/ ({})",
            if c.tls.is_some() { "https" } else { "http" },
            c.listen,
            match &c.users_file {
                Some(users) => format!("users from {}", users.display()),
                None => "no log-in: loopback only".into(),
            }
        ),
    }
    println!("  {}", loaded.files_summary);
    Ok(())
}

fn hash_password() -> Result<(), Failure> {
    let mut password = String::new();
    std::io::stdin().read_line(&mut password)?;
    let password = password.trim_end_matches(['\n', '\r']);
    if password.is_empty() {
        return Err(anyhow::anyhow!("no password on standard input").into());
    }
    println!("{}", admin::web::hash_password(password)?);
    Ok(())
}

fn render(
    request: &filmd::render::RenderRequest,
    output: &Path,
    config: Option<&Path>,
    queue: Option<&str>,
) -> Result<(), Failure> {
    let mut loaded = load(config, &Overrides::default())?;
    install_fonts(&mut loaded);
    let settings = &loaded.settings;
    let queue = match queue {
        Some(name) => settings
            .queue(name)
            .with_context(|| format!("no queue named {name:?}"))?,
        None => &settings.queues[0],
    };
    let page = filmd::render::render(
        request,
        queue,
        &settings.custom_layouts,
        &settings.annotation_formats,
        output,
    )?;
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

fn print(request: &filmd::scu::job::PrintRequest) -> Result<(), Failure> {
    use filmd::scu::job::{PrintError, print_files};
    match print_files(request, &mut std::io::stdout().lock()) {
        Ok(_) => Ok(()),
        Err(e @ PrintError::Unreachable { .. }) => Err(Failure::NoServer(e.to_string())),
        Err(e) => Err(Failure::Failed(e.into())),
    }
}

fn jobs(server: &ServerDir, query: admin::JobQuery, json: bool) -> Result<(), Failure> {
    let data_dir = server.data_dir()?;
    let request = admin::Request::Jobs {
        queue: query.queue.clone(),
        state: query.state.clone(),
        calling_ae: query.calling_ae.clone(),
        limit: query.limit,
        offset: Some(query.offset),
    };
    let jobs = match admin::ask(&data_dir, &request) {
        Err(admin::ClientError::NotRunning { .. }) => {
            // No server: read its spool database as it was left.
            let jobs = admin::jobs_offline(&data_dir, &query)
                .map_err(|e| Failure::NoServer(format!("no server is running, and {e}")))?;
            eprintln!(
                "filmd: no server is running on {}: jobs as the spool database holds them",
                data_dir.root().display()
            );
            jobs
        }
        Err(e) => return Err(Failure::no_server(e)),
        Ok(answer) => accepted(answer)?.jobs.unwrap_or_default(),
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&jobs)?);
    } else {
        print!("{}", admin::jobs_table(&jobs));
    }
    Ok(())
}

fn job(server: &ServerDir, id: &str, json: bool) -> Result<(), Failure> {
    let answer = server.ask(&admin::Request::Job { id: id.into() })?;
    let Some(detail) = answer.job else {
        return Err(Failure::Failed(anyhow::anyhow!("the server sent no job")));
    };
    if json {
        println!("{}", serde_json::to_string_pretty(&detail)?);
    } else {
        print!("{}", admin::job_text(&detail));
    }
    Ok(())
}

/// Hold, release, pause, resume, refuse or accept: says what was done, or that it
/// already was so.
fn control(server: &ServerDir, request: admin::Request) -> Result<(), Failure> {
    let (what, done) = match &request {
        admin::Request::Hold { id } => (format!("job {id}"), "held".to_string()),
        admin::Request::Release { id } => (format!("job {id}"), "released".into()),
        admin::Request::Pause { queue } => (format!("queue {queue}"), "paused".into()),
        admin::Request::Resume { queue } => (format!("queue {queue}"), "resumed".into()),
        admin::Request::Refuse { queue, reason } => (
            format!("queue {queue}"),
            format!("refusing new prints: {}", reason.trim()),
        ),
        admin::Request::Accept { queue } => {
            (format!("queue {queue}"), "accepting new prints".into())
        }
        _ => (String::new(), String::new()),
    };
    let answer = server.ask(&request)?;
    if answer.changed == Some(false) {
        println!("{what} was already {done}");
    } else {
        println!("{what} {done}");
    }
    Ok(())
}

fn assign(server: &ServerDir, id: String, identity: filmd::spool::Identity) -> Result<(), Failure> {
    let given: Vec<String> = identity.keys().cloned().collect();
    server.ask(&admin::Request::Assign {
        id: id.clone(),
        identity,
    })?;
    println!("job {id}: {} given; it goes on", given.join(", "));
    Ok(())
}

fn cancel(server: &ServerDir, id: &str) -> Result<(), Failure> {
    server.ask(&admin::Request::Cancel { id: id.into() })?;
    println!("cancelled {id}");
    Ok(())
}

fn retry(server: &ServerDir, id: &str, force: bool) -> Result<(), Failure> {
    let answer = server.ask(&admin::Request::Retry {
        id: id.into(),
        force,
    })?;
    println!(
        "{id} printed again as {}",
        answer.id.as_deref().unwrap_or("?")
    );
    Ok(())
}

fn queues(server: &ServerDir, json: bool) -> Result<(), Failure> {
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

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("FILMD_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only on a terminal: a journal or log file gets plain text.
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr)
        .init();
}

/// SIGTERM or SIGINT. The handlers are registered when this is called, not when the
/// future is first polled, so no signal between start-up and the first poll is lost.
fn shutdown_signal() -> impl Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let handlers = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    );
    async move {
        let (Ok(mut term), Ok(mut int)) = handlers else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    }
}
