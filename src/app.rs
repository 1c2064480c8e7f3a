//! The wiring of a running server: [`start`] opens the data directory, the spool, each
//! queue's outputs and printer poller, the admin socket and the DICOM listener;
//! [`Running::run_until`] serves until its shutdown future completes and then stops every
//! one of them. Each background task has an owner here, so a test can run a whole server
//! inside its own process on a free port and stop it again. With an audit trail
//! configured, its sender is one of those tasks: it hears the configuration loaded, the
//! start once associations are accepted, each job exported, and the stop, which it is
//! given [`AUDIT_DRAIN`] to deliver.

use crate::admin;
use crate::audit::{
    self, AuditTask, Auditor, ExportDestination, ExportEvent, Local, Outcome, message::AuditSource,
};
use crate::config::{QueueSettings, Settings};
use crate::metrics::Metrics;
use crate::net::Observers;
use crate::net::journal::AssociationJournal;
use crate::net::server::{Endpoint, serve};
use crate::net::tls::{self, Transport};
use crate::outputs::archive::PdfArchive;
use crate::outputs::board::{PrinterBoard, follow_recoveries};
use crate::outputs::ipp::IppQueue;
use crate::outputs::pacs::{PacsOutput, ReportsElsewhere, WithPacs};
use crate::outputs::timed::Timed;
use crate::print::commitment::CommitmentInbox;
use crate::print::{PrintService, PrintSettings};
use crate::spool::{CommitmentResult, FinishedHook, JobRow, QueueOutputs, Spool, State};
use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;
use tokio::task::JoinHandle;
use tracing::info;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    #[error("creating the data directory {path}: {source}")]
    DataDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("locking the data directory: {0}")]
    Lock(#[source] std::io::Error),
    #[error("queue {queue}: reading the printer's CA file {path}: {source}")]
    CaFile {
        queue: String,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("queue {queue} has neither a PDF archive nor a printer")]
    NoOutput { queue: String },
    #[error("queue {queue}: PACS output: {message}")]
    Pacs { queue: String, message: String },
    #[error("queue {queue}: printer {uri}: {message}")]
    Printer {
        queue: String,
        uri: String,
        message: String,
    },
    #[error("opening the spool: {0}")]
    Spool(#[source] std::io::Error),
    #[error("opening the admin socket: {0}")]
    Admin(#[source] std::io::Error),
    #[error("binding {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("DICOM TLS: {0}")]
    Tls(#[source] tls::TlsSetupError),
    #[error("neither server.listen nor tls.listen is set")]
    NoListener,
    #[error(transparent)]
    Audit(#[from] audit::AuditError),
    #[error(transparent)]
    Console(#[from] admin::web::ConsoleError),
}

/// Where the DICOM listeners accept associations.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Addresses {
    /// The plain TCP listener, if any.
    pub plain: Option<SocketAddr>,
    /// The DICOM TLS listener, if any.
    pub tls: Option<SocketAddr>,
    /// The web console, if `[admin] http_listen` is set.
    pub console: Option<admin::web::ConsoleAddr>,
}

/// How long the audit sender may take at stop to deliver what is queued (Application Stop
/// last) before it is stopped and the rest counted as dropped.
pub const AUDIT_DRAIN: Duration = Duration::from_secs(5);

/// A started server. [`Running::run_until`] stops it in order; dropping it instead aborts
/// its tasks at once, and its spool stops when the last association lets go of it.
pub struct Running {
    addrs: Addresses,
    spool: Arc<Spool>,
    shutdown: tokio::sync::watch::Sender<bool>,
    /// The DICOM listener's accept loop; taken by [`Running::run_until`].
    listener: Option<JoinHandle<()>>,
    /// Printer pollers and the printer-recovery followers.
    tasks: Tasks,
    admin: Option<admin::Listening>,
    /// The web console; stops with the admin socket.
    console: Option<admin::web::Console>,
    /// Whether the DICOM listeners accept (the console's `/readyz`).
    accepting: Arc<AtomicBool>,
    auditor: Auditor,
    /// The association journal and the metrics, for the console and `/metrics`.
    observers: Observers,
    /// The audit trail's sender, stopped last.
    audit: Option<AuditTask>,
    /// Held while the server runs: the data directory is this process's.
    _lock: std::fs::File,
}

/// Background tasks that are aborted when their owner drops them (a tokio handle only
/// detaches its task), so that a start that fails half way leaves nothing running.
#[derive(Default)]
struct Tasks(Vec<JoinHandle<()>>);

impl Tasks {
    fn abort_all(&mut self) {
        for task in self.0.drain(..) {
            task.abort();
        }
    }
}

impl Drop for Tasks {
    fn drop(&mut self) {
        self.abort_all();
    }
}

/// Starts everything `settings` describe; the listener accepts associations when this
/// returns. Must run on a multi-threaded tokio runtime.
pub async fn start(settings: Settings) -> Result<Running, StartError> {
    if settings.server.listen.is_none() && settings.server.tls.is_none() {
        return Err(StartError::NoListener);
    }
    let data_dir = settings.server.data_dir.clone();
    data_dir.create().map_err(|source| StartError::DataDir {
        path: data_dir.root().to_path_buf(),
        source,
    })?;
    let lock = data_dir.lock().map_err(StartError::Lock)?;
    let (auditor, audit_task) = match &settings.audit {
        None => (Auditor::off(), None),
        Some(a) => {
            let (auditor, task) = audit::start(a, audit_identity(&settings, a))?;
            info!("audit trail to {}", a.destination);
            (auditor, Some(task))
        }
    };
    auditor.configuration_loaded(&settings.source);
    let board = PrinterBoard::new(settings.queues.iter().map(|q| q.name.as_str()));
    let observers = Observers {
        journal: AssociationJournal::default(),
        metrics: Arc::new(Metrics::new(
            settings.queues.iter().map(|q| q.name.as_str()),
        )),
    };
    let mut tasks = Tasks::default();
    let mut outputs: HashMap<String, Arc<dyn QueueOutputs>> = HashMap::new();
    let reports_elsewhere = Arc::new(ReportsElsewhere::default());
    for queue in &settings.queues {
        let (output, poller) = queue_outputs(
            queue,
            &settings,
            &board,
            &observers.metrics,
            &reports_elsewhere,
        )?;
        tasks.0.extend(poller);
        let timed = Timed::new(&queue.name, output, observers.metrics.clone());
        outputs.insert(queue.name.clone(), Arc::new(timed));
    }
    let spool = Spool::open_with(
        &data_dir,
        settings.spool.clone(),
        outputs,
        finished_hook(&settings, &auditor, &observers.metrics),
    )
    .map_err(StartError::Spool)?;
    let serving = serve_spool(
        &settings,
        spool.clone(),
        board,
        &mut tasks,
        &auditor,
        &observers,
        reports_elsewhere,
    );
    match serving.await {
        Ok(Serving {
            addrs,
            shutdown,
            listener,
            admin,
            console,
            accepting,
        }) => {
            auditor.application_start();
            Ok(Running {
                addrs,
                spool,
                shutdown,
                listener: Some(listener),
                tasks,
                admin: Some(admin),
                console,
                accepting,
                auditor,
                observers,
                audit: audit_task,
                _lock: lock,
            })
        }
        Err(e) => {
            // Recovery may have started composing: the spool stops (off the runtime's
            // threads) before the data directory's lock is let go.
            tasks.abort_all();
            let _ = tokio::task::spawn_blocking(move || spool.shutdown()).await;
            Err(e)
        }
    }
}

/// What [`serve_spool`] started.
struct Serving {
    addrs: Addresses,
    shutdown: tokio::sync::watch::Sender<bool>,
    listener: JoinHandle<()>,
    admin: admin::Listening,
    console: Option<admin::web::Console>,
    accepting: Arc<AtomicBool>,
}

/// The printer-recovery followers, the admin socket, the DICOM listener and the web
/// console, over an open spool.
async fn serve_spool(
    settings: &Settings,
    spool: Arc<Spool>,
    board: Arc<PrinterBoard>,
    tasks: &mut Tasks,
    auditor: &Auditor,
    observers: &Observers,
    reports_elsewhere: Arc<ReportsElsewhere>,
) -> Result<Serving, StartError> {
    let data_dir = &settings.server.data_dir;
    let back = Arc::downgrade(&spool);
    tasks.0.extend(follow_recoveries(
        &board,
        spool.printer_queues(),
        Arc::new(move |queue: &str| {
            if let Some(spool) = back.upgrade() {
                spool.printer_back(queue);
            }
        }),
    ));
    let operator_side = Arc::new(admin::Admin {
        spool: spool.clone(),
        board: board.clone(),
        queues: settings
            .queues
            .iter()
            .map(|q| (q.name.clone(), q.ipp.as_ref().map(|i| i.uri.clone())))
            .collect(),
        auditor: auditor.clone(),
    });
    let admin = admin::listen(data_dir, operator_side.clone()).map_err(StartError::Admin)?;
    let mut service = PrintService::new(PrintSettings::of(settings), spool.clone(), board)
        .with_auditor(auditor.clone())
        .with_metrics(observers.metrics.clone());
    // The listener takes Storage Commitment reports only when some queue asks for them,
    // from the destinations asked.
    let reporters: Vec<String> = settings
        .queues
        .iter()
        .filter_map(|q| q.pacs.as_ref().filter(|p| p.commit))
        .flat_map(|p| p.destinations.iter().map(|d| d.ae_title.trim().to_string()))
        .collect();
    if !reporters.is_empty() {
        service = service.with_commitment_inbox(Arc::new(SpoolInbox {
            spool,
            elsewhere: reports_elsewhere,
            reporters,
        }));
    }
    let service = Arc::new(service);
    let mut endpoints = Vec::new();
    let mut addrs = Addresses {
        plain: None,
        tls: None,
        console: None,
    };
    if let Some(listen) = settings.server.listen {
        let (listener, addr) = bind(listen).await?;
        endpoints.push(Endpoint {
            listener,
            transport: Transport::Plain,
        });
        addrs.plain = Some(addr);
    }
    if let Some(t) = &settings.server.tls {
        let acceptor = tls::acceptor(&t.files).map_err(StartError::Tls)?;
        let (listener, addr) = bind(t.listen).await?;
        endpoints.push(Endpoint {
            listener,
            transport: Transport::Tls(acceptor),
        });
        addrs.tls = Some(addr);
    }
    info!(
        "filmd {} listening on {}{}, data in {}",
        env!("CARGO_PKG_VERSION"),
        addrs
            .plain
            .map_or("no plain port".into(), |a| a.to_string()),
        addrs
            .tls
            .map_or(String::new(), |a| format!(" and with TLS on {a}")),
        data_dir.root().display()
    );
    let accepting = Arc::new(AtomicBool::new(false));
    let console = match &settings.console {
        None => None,
        Some(console) => Some(
            admin::web::start(
                console,
                admin::web::Context {
                    admin: operator_side,
                    data_dir: data_dir.clone(),
                    min_free_mib: settings.spool.min_free_mib,
                    archives: settings
                        .queues
                        .iter()
                        .filter_map(|q| Some((q.name.clone(), q.archive.as_ref()?.dir.clone())))
                        .collect(),
                    started: std::time::SystemTime::now(),
                    accepting: accepting.clone(),
                    journal: observers.journal.clone(),
                    metrics: observers.metrics.clone(),
                },
            )
            .await?,
        ),
    };
    addrs.console = console.as_ref().map(admin::web::Console::address);
    let (shutdown, stop) = tokio::sync::watch::channel(false);
    let options = settings.server.options.clone();
    let listener = tokio::spawn(serve(endpoints, service, options, observers.clone(), stop));
    accepting.store(true, Ordering::Relaxed);
    Ok(Serving {
        addrs,
        shutdown,
        listener,
        admin,
        console,
        accepting,
    })
}

async fn bind(addr: SocketAddr) -> Result<(tokio::net::TcpListener, SocketAddr), StartError> {
    let err = |source| StartError::Bind { addr, source };
    let listener = tokio::net::TcpListener::bind(addr).await.map_err(err)?;
    let local = listener.local_addr().map_err(err)?;
    Ok((listener, local))
}

/// Who filmd is in its audit messages: the configured source ID and site, every called
/// AE title, this host and process, and the account it runs as.
fn audit_identity(settings: &Settings, audit: &audit::AuditSettings) -> Local {
    Local {
        source: AuditSource {
            id: audit.source_id.clone(),
            enterprise_site_id: audit.enterprise_site_id.clone(),
        },
        ae_titles: settings
            .queues
            .iter()
            .flat_map(|q| q.ae_titles.iter().cloned())
            .collect(),
        hostname: audit::hostname(),
        pid: std::process::id(),
        user: Some(audit::process_user()),
    }
}

/// The spool's hook for each finished job: its films counted as printed or failed, and,
/// when auditing is on, its exports reported (Data Export).
fn finished_hook(
    settings: &Settings,
    auditor: &Auditor,
    metrics: &Arc<Metrics>,
) -> Option<FinishedHook> {
    let export = export_hook(settings, auditor);
    let metrics = metrics.clone();
    Some(Arc::new(move |row: &JobRow| {
        metrics.job_finished(row);
        if let Some(export) = &export {
            export(row);
        }
    }))
}

/// The spool's hook that reports each finished job's exports (Data Export), when
/// auditing is on.
fn export_hook(settings: &Settings, auditor: &Auditor) -> Option<FinishedHook> {
    if !auditor.is_on() {
        return None;
    }
    let outputs: HashMap<String, QueueDestinations> = settings
        .queues
        .iter()
        .map(|q| {
            let destinations = QueueDestinations {
                archive: q.archive.as_ref().map(|a| a.dir.clone()),
                printer: q.ipp.as_ref().map(|i| i.uri.clone()),
            };
            (q.name.clone(), destinations)
        })
        .collect();
    let auditor = auditor.clone();
    Some(Arc::new(move |row: &JobRow| {
        let Some(queue) = outputs.get(&row.queue) else {
            return;
        };
        for (destination, outcome, description) in queue.exports(row) {
            auditor.data_export(&ExportEvent {
                job_id: row.id.clone(),
                print_job_uid: row.uid.clone(),
                calling_ae: row.calling_ae.clone(),
                // The spool does not keep the caller's address.
                calling_address: None,
                destination,
                outcome,
                description,
            });
        }
    }))
}

/// Where a queue's jobs go.
struct QueueDestinations {
    archive: Option<PathBuf>,
    printer: Option<String>,
}

impl QueueDestinations {
    /// What a job that ended as `row` says exported: the archive got the PDF of a done job
    /// (or, on a printer queue, of any job composed, since composition writes it); the
    /// printer got a done job, or failed one it had accepted (which may have printed).
    fn exports(&self, row: &JobRow) -> Vec<(ExportDestination, Outcome, Option<String>)> {
        let done = row.state == State::Done;
        let mut exports = Vec::new();
        if let Some(dir) = &self.archive
            && (done || (self.printer.is_some() && row.document.is_some()))
        {
            let dir = dir.clone();
            exports.push((ExportDestination::Archive { dir }, Outcome::Success, None));
        }
        if let Some(uri) = &self.printer {
            let uri = uri.clone();
            if done {
                exports.push((ExportDestination::Printer { uri }, Outcome::Success, None));
            } else if row.remote_id.is_some() {
                let why = row.last_error.clone();
                exports.push((
                    ExportDestination::Printer { uri },
                    Outcome::SeriousFailure,
                    why,
                ));
            }
        }
        exports
    }
}

/// A queue's outputs, and the poller of its printer if it has one.
type Outputs = (Arc<dyn QueueOutputs>, Option<JoinHandle<()>>);

fn queue_outputs(
    queue: &QueueSettings,
    settings: &Settings,
    board: &Arc<PrinterBoard>,
    metrics: &Arc<Metrics>,
    reports_elsewhere: &Arc<ReportsElsewhere>,
) -> Result<Outputs, StartError> {
    let archive = queue.archive.as_ref().map(|a| PdfArchive {
        dir: a.dir.clone(),
        name: a.name.clone(),
        previews: settings.server.data_dir.clone(),
        metrics: metrics.clone(),
    });
    let (inner, poller) = match &queue.ipp {
        Some(ipp) => {
            let (printer, poller) = ipp_queue(queue, ipp, archive, board, metrics)?;
            (Some(printer), Some(poller))
        }
        None => (archive.map(|a| Arc::new(a) as Arc<dyn QueueOutputs>), None),
    };
    let Some(pacs) = &queue.pacs else {
        // check-config refuses a queue without output; a hand-made Settings may have one.
        let inner = inner.ok_or_else(|| StartError::NoOutput {
            queue: queue.name.clone(),
        })?;
        return Ok((inner, poller));
    };
    let output =
        PacsOutput::new(&queue.name, pacs.clone(), reports_elsewhere.clone()).map_err(|e| {
            StartError::Pacs {
                queue: queue.name.clone(),
                message: e.to_string(),
            }
        })?;
    info!(
        queue = %queue.name,
        "storing in {}{}",
        pacs.destinations
            .iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", "),
        if pacs.commit { ", with Storage Commitment" } else { "" }
    );
    let previews = inner.is_none().then(|| settings.server.data_dir.clone());
    Ok((
        Arc::new(WithPacs {
            inner,
            pacs: Arc::new(output),
            previews,
        }),
        poller,
    ))
}

/// A queue's IPP printer (with its archive, if any) and the poller of its state.
fn ipp_queue(
    queue: &QueueSettings,
    ipp: &crate::config::IppSettings,
    archive: Option<PdfArchive>,
    board: &Arc<PrinterBoard>,
    metrics: &Arc<Metrics>,
) -> Result<(Arc<dyn QueueOutputs>, JoinHandle<()>), StartError> {
    let ca = match &ipp.ca_file {
        None => None,
        Some(path) => Some(std::fs::read(path).map_err(|source| StartError::CaFile {
            queue: queue.name.clone(),
            path: path.clone(),
            source,
        })?),
    };
    let printer = IppQueue::new(
        &queue.name,
        &ipp.uri,
        ca,
        archive,
        board.clone(),
        metrics.clone(),
    )
    .map_err(|e| StartError::Printer {
        queue: queue.name.clone(),
        uri: ipp.uri.clone(),
        message: e.to_string(),
    })?;
    let poller = printer.spawn_poller(ipp.poll_interval);
    info!(queue = %queue.name, "delivering to IPP printer {}", ipp.uri);
    Ok((printer, poller))
}

impl Running {
    /// The association journal (the console's associations page).
    pub fn journal(&self) -> &AssociationJournal {
        &self.observers.journal
    }

    /// The metrics (`GET /metrics`).
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.observers.metrics
    }

    /// Where the DICOM listeners accept associations.
    pub fn addresses(&self) -> Addresses {
        self.addrs
    }

    /// The plain listener's address, else the TLS listener's.
    pub fn local_addr(&self) -> SocketAddr {
        self.addrs
            .plain
            .or(self.addrs.tls)
            .expect("start binds at least one listener")
    }

    /// Serves until `shutdown` completes, then stops: new associations are refused,
    /// running ones get the configured grace period, the spool's workers finish the film
    /// they are composing, pollers and the admin socket stop. Jobs still queued resume at
    /// the next start.
    pub async fn run_until(mut self, shutdown: impl Future<Output = ()>) {
        if let Some(mut listener) = self.listener.take() {
            tokio::select! {
                () = shutdown => {
                    info!("shutdown requested");
                    self.accepting.store(false, Ordering::Relaxed);
                    let _ = self.shutdown.send(true);
                    let _ = (&mut listener).await;
                }
                _ = &mut listener => {}
            }
        }
        self.stop().await;
    }

    async fn stop(mut self) {
        self.tasks.abort_all();
        let spool = self.spool.clone();
        let _ = tokio::task::spawn_blocking(move || spool.shutdown()).await;
        // Last, so that an operator can still cancel while the spool drains.
        self.admin.take();
        if let Some(console) = self.console.take() {
            console.stop().await;
        }
        info!(
            "stopped; {} job(s) still queued resume at next start",
            self.spool.backlog()
        );
        self.auditor.application_stop();
        if let Some(audit) = self.audit.take() {
            audit.stop(AUDIT_DRAIN).await;
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.shutdown.send(true);
        if let Some(listener) = &self.listener {
            listener.abort();
        }
    }
}

/// [`start`], then [`Running::run_until`] `shutdown`; `listening` hears the bound addresses
/// once associations are accepted.
pub async fn run(
    settings: Settings,
    shutdown: impl Future<Output = ()>,
    listening: impl FnOnce(Addresses),
) -> Result<(), StartError> {
    let running = start(settings).await?;
    listening(running.addresses());
    running.run_until(shutdown).await;
    Ok(())
}

/// Storage Commitment reports that a PACS sends on an association of its own (PS3.4
/// J.3.3) go to the spool, which knows the transactions it waits for.
/// A store still waiting for the report on its own association stops waiting. Only a
/// destination asked for commitment may report: its AE title is the calling AE title of
/// the association it opens (Orthanc calls from the AE title filmd called).
struct SpoolInbox {
    spool: Arc<Spool>,
    elsewhere: Arc<ReportsElsewhere>,
    reporters: Vec<String>,
}

impl CommitmentInbox for SpoolInbox {
    fn report(&self, calling_ae: &str, result: CommitmentResult) -> Result<(), String> {
        if !self.reporters.iter().any(|ae| ae == calling_ae.trim()) {
            return Err(format!(
                "{} is not the AE title of a destination asked for Storage Commitment",
                calling_ae.trim()
            ));
        }
        match self.spool.commitment_report(&result) {
            Ok(true) => {
                self.elsewhere.arrived(&result.transaction_uid);
                Ok(())
            }
            Ok(false) => Err(format!(
                "Transaction UID {} from {calling_ae} is not one filmd waits for",
                result.transaction_uid
            )),
            Err(e) => Err(format!("spool: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Overrides, load};
    use crate::scu::{FilmSpec, GRAY_META, Scu, ScuOptions, gray_image, print_film};
    use std::time::{Duration, Instant};

    fn settings(data_dir: &std::path::Path) -> Settings {
        load(
            None,
            &Overrides {
                listen: Some("127.0.0.1:0".into()),
                data_dir: Some(data_dir.into()),
                http_listen: Some("127.0.0.1:0".into()),
                ..Overrides::default()
            },
        )
        .expect("embedded configuration")
        .settings
    }

    /// The multi-threaded runtime a server needs (as `filmd serve` builds one).
    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
    }

    fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
        let start = Instant::now();
        while !done() {
            assert!(start.elapsed() < Duration::from_secs(60), "{what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// A whole server in this process: a film printed to it lands in its archive, and
    /// once its shutdown future completes every part has stopped: the port refuses, the
    /// admin socket is gone and the data directory can be taken again.
    #[test]
    fn a_server_runs_in_process_and_stops_everything_on_shutdown() {
        let tmp = tempfile::tempdir().unwrap();
        let runtime = runtime();
        let running = runtime
            .block_on(start(settings(tmp.path())))
            .expect("started");
        let addr = running.local_addr();
        assert_eq!(addr.ip(), std::net::Ipv4Addr::LOCALHOST);
        let console = running.addresses().console.expect("the console is on").addr;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = runtime.spawn(running.run_until(async {
            let _ = stopped.await;
        }));
        let data = crate::data_dir::DataDir::new(tmp.path());
        assert!(data.admin_socket().exists());
        assert!(
            std::net::TcpStream::connect(console).is_ok(),
            "the console answers"
        );

        let mut scu = Scu::connect(addr, &ScuOptions::default()).expect("associated");
        let pixels: Vec<u16> = (0..16 * 16).map(|p| (p % 16 * 16) as u16).collect();
        let spec = FilmSpec::gray(
            "STANDARD\\1,1",
            vec![Some(gray_image(16, 16, 8, "MONOCHROME2", &pixels))],
        );
        assert_eq!(spec.meta, GRAY_META);
        let printed = print_film(&mut scu, &spec).expect("printed");
        assert_eq!(printed.action.status(), 0);
        scu.release().expect("released");
        let pdf_dir = tmp.path().join("pdf");
        wait_for("the job's PDF", || pdf(&pdf_dir).is_some());
        let job_id = pdf(&pdf_dir).unwrap();
        assert!(data.preview(&job_id, 1).exists(), "its preview");

        stop.send(()).unwrap();
        runtime.block_on(served).unwrap();
        assert!(
            std::net::TcpStream::connect(addr).is_err(),
            "the port is closed"
        );
        assert!(!data.admin_socket().exists(), "the admin socket is gone");
        assert!(
            std::net::TcpStream::connect(console).is_err(),
            "the console is closed"
        );
        let again = runtime
            .block_on(start(settings(tmp.path())))
            .expect("the data directory is free again");
        drop(again);
    }

    /// What the console shows of a modality's visits: an association refused by a queue's
    /// access rule is journaled and counted under its reason; one that prints a film is
    /// journaled with its film and how it ended, and the film counters move by exactly
    /// that film.
    #[test]
    fn associations_and_films_reach_the_journal_and_the_metrics() {
        use crate::net::access::{AccessRules, AeGlob};
        use crate::net::journal::{Outcome, Rejection};
        let tmp = tempfile::tempdir().unwrap();
        let runtime = runtime();
        let mut s = settings(tmp.path());
        Arc::make_mut(&mut s.queues[0]).access = AccessRules {
            allow_calling: vec![AeGlob::parse("CT*").unwrap()],
            allow_from: Vec::new(),
        };
        let queue = s.queues[0].name.clone();
        let running = runtime.block_on(start(s)).expect("started");
        let addr = running.local_addr();
        let (journal, metrics) = (running.journal().clone(), running.metrics().clone());
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let served = runtime.spawn(running.run_until(async {
            let _ = stopped.await;
        }));
        let sample = |series: &str| -> Option<f64> {
            metrics
                .encode(&crate::metrics::Scrape::default())
                .lines()
                .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
        };
        let refused = ScuOptions {
            calling_ae: "MR1".into(),
            ..ScuOptions::default()
        };
        assert!(Scu::connect(addr, &refused).is_err(), "refused");
        assert_eq!(
            sample("filmd_associations_rejected_total{reason=\"access_calling_ae\"}"),
            Some(1.0)
        );
        assert_eq!(
            sample("filmd_associations_rejected_total{reason=\"access_address\"}"),
            Some(0.0)
        );

        let ct = ScuOptions {
            calling_ae: "CT1".into(),
            ..ScuOptions::default()
        };
        let mut scu = Scu::connect(addr, &ct).expect("associated");
        let pixels: Vec<u16> = (0..16 * 16).map(|p| (p % 16 * 16) as u16).collect();
        let spec = FilmSpec::gray(
            "STANDARD\\1,1",
            vec![Some(gray_image(16, 16, 8, "MONOCHROME2", &pixels))],
        );
        let printed = print_film(&mut scu, &spec).expect("printed");
        assert_eq!(printed.action.status(), 0);
        scu.release().expect("released");
        wait_for("the association's end in the journal", || {
            journal
                .snapshot(1)
                .first()
                .is_some_and(|r| r.outcome == Outcome::Released)
        });
        let records = journal.snapshot(10);
        assert_eq!(records.len(), 2);
        assert_eq!(
            (records[0].calling_ae.as_str(), records[0].films),
            ("CT1", 1)
        );
        assert!(matches!(
            &records[1].outcome,
            Outcome::Rejected {
                reason: Rejection::AccessCallingAe,
                ..
            }
        ));
        assert_eq!(records[1].calling_ae, "MR1");
        assert_eq!(journal.open(), 0);
        let films = |name: &str| sample(&format!("{name}{{queue=\"{queue}\"}}"));
        assert_eq!(films("filmd_films_received_total"), Some(1.0));
        wait_for("the film printed", || {
            films("filmd_films_printed_total") == Some(1.0)
        });
        assert_eq!(films("filmd_films_failed_total"), Some(0.0));
        assert_eq!(sample("filmd_associations_accepted_total"), Some(1.0));
        assert_eq!(sample("filmd_associations_open"), Some(0.0));
        assert_eq!(
            sample("filmd_dimse_requests_total{operation=\"n_action\",status_class=\"success\"}"),
            Some(1.0)
        );
        assert_eq!(
            sample(&format!(
                "filmd_compose_duration_seconds_count{{queue=\"{queue}\"}}"
            )),
            Some(1.0)
        );
        assert_eq!(
            sample("filmd_encode_duration_seconds_count{format=\"pdf\"}"),
            Some(1.0)
        );

        stop.send(()).unwrap();
        runtime.block_on(served).unwrap();
    }

    /// A start that fails half way (its port is taken) stops what it had started and lets
    /// go of the data directory.
    #[test]
    fn a_failed_start_leaves_nothing_behind() {
        let tmp = tempfile::tempdir().unwrap();
        let runtime = runtime();
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let mut busy = settings(tmp.path());
        busy.server.listen = Some(taken.local_addr().unwrap());
        let Err(e) = runtime.block_on(start(busy)) else {
            panic!("started on a port in use")
        };
        assert!(matches!(e, StartError::Bind { .. }), "{e}");
        let data = crate::data_dir::DataDir::new(tmp.path());
        assert!(!data.admin_socket().exists(), "no admin socket left");
        let again = runtime
            .block_on(start(settings(tmp.path())))
            .expect("the data directory was let go");
        drop(again);
    }

    /// What a finished job reports as exported, per queue kind and end.
    #[test]
    fn finished_jobs_report_the_exports_that_happened() {
        let row = |state: State, document: bool, remote: bool| JobRow {
            attempts: 1,
            last_error: Some("printer: media jam".into()),
            remote_id: remote.then(|| "7".into()),
            document: document.then(|| "/d.pdf".into()),
            ..JobRow::sample(state)
        };
        let archive = Some(PathBuf::from("/pdf"));
        let printer = Some("ipp://p:631/ipp/print".to_string());
        let kinds = |q: &QueueDestinations, r: &JobRow| -> Vec<(&'static str, Outcome)> {
            q.exports(r)
                .into_iter()
                .map(|(d, o, _)| match d {
                    ExportDestination::Archive { .. } => ("archive", o),
                    ExportDestination::Printer { .. } => ("printer", o),
                })
                .collect()
        };
        let archive_only = QueueDestinations {
            archive: archive.clone(),
            printer: None,
        };
        assert_eq!(
            kinds(&archive_only, &row(State::Done, false, false)),
            [("archive", Outcome::Success)]
        );
        assert!(kinds(&archive_only, &row(State::Failed, false, false)).is_empty());
        let both = QueueDestinations {
            archive,
            printer: printer.clone(),
        };
        assert_eq!(
            kinds(&both, &row(State::Done, true, true)),
            [("archive", Outcome::Success), ("printer", Outcome::Success)]
        );
        let failed = row(State::Failed, true, true);
        assert_eq!(
            kinds(&both, &failed),
            [
                ("archive", Outcome::Success),
                ("printer", Outcome::SeriousFailure)
            ]
        );
        assert_eq!(
            both.exports(&failed)[1].2.as_deref(),
            Some("printer: media jam")
        );
        let printer_only = QueueDestinations {
            archive: None,
            printer,
        };
        assert!(kinds(&printer_only, &row(State::Failed, true, false)).is_empty());
    }

    /// The job ID of a PDF in `dir` (the default template names it `{job}.pdf`).
    fn pdf(dir: &std::path::Path) -> Option<String> {
        std::fs::read_dir(dir).ok()?.find_map(|e| {
            let path = e.ok()?.path();
            let name = path.file_name()?.to_str()?;
            (!name.starts_with('.'))
                .then(|| name.strip_suffix(".pdf").map(str::to_string))
                .flatten()
        })
    }
}
