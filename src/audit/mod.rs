//! The audit trail: DICOM audit messages (PS3.15 A.5, the Audit Trail Message Format
//! Profile; IHE ITI ATNA's Record Audit Event) sent to an audit repository over syslog:
//! RFC 5424 messages over UDP (RFC 5426, PS3.15 A.7) or TLS (RFC 5425, PS3.15 A.6), or
//! appended to a file.
//!
//! filmd reports Application Activity (start, stop), Security Alerts (the configuration
//! loaded, an association refused by an access rule, a failed TLS handshake, an
//! operator's cancel or retry) and a Data Export for each job that reaches a printer or
//! the PDF archive. [`message`] builds the XML, [`events`] the messages, [`transport`]
//! sends them.
//!
//! Auditing never holds up printing: an [`Auditor`] puts each message on a bounded queue
//! and returns; one sender task empties it. When the queue is full (the repository is
//! unreachable for long) a message is dropped, counted, and a warning logged at most once
//! a second. At stop the sender is given a bounded time to send what is queued, so that
//! Application Stop goes out. An Auditor without a destination does nothing.

pub mod codes;
pub mod events;
pub mod message;
pub mod transport;

pub use codes::Outcome;
pub use events::{
    ExportDestination, ExportEvent, Local, OperatorAction, OperatorEvent, OperatorTarget,
};
pub use message::AuditMessage;
pub use transport::Destination;

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};
use tracing::warn;

/// How the audit trail is configured (`[audit]`, resolved).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditSettings {
    pub destination: Destination,
    /// PEM file of the CA(s) a `tls://` repository's certificate must chain to.
    pub ca_file: Option<PathBuf>,
    /// PEM certificate chain and private key filmd presents to a `tls://` repository.
    pub client_cert: Option<(PathBuf, PathBuf)>,
    /// Messages waiting to be sent before new ones are dropped.
    pub queue_size: usize,
    /// AuditSourceID (PS3.15 A.5.1): the server's AE title unless configured.
    pub source_id: String,
    pub enterprise_site_id: Option<String>,
}

/// Why the audit trail could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum AuditError {
    #[error("audit.ca_file {path}: {message}")]
    CaFile { path: PathBuf, message: String },
    #[error("audit.client_cert / audit.client_key: {0}")]
    ClientCert(String),
    #[error("a tls:// audit destination needs audit.ca_file")]
    NoTlsConfig,
    #[error("audit destination host {0:?}: {1}")]
    ServerName(String, String),
    #[error("audit file {path}: {source}")]
    File {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("audit TLS configuration: {0}")]
    Tls(#[from] rustls::Error),
}

/// Syslog severity of a message (RFC 5424 6.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Severity {
    Warning = 4,
    Notice = 5,
}

/// A message waiting to be sent.
#[derive(Debug, Clone)]
pub struct Entry {
    pub time: SystemTime,
    pub severity: Severity,
    pub xml: String,
}

/// What an [`Auditor`] and its sender share.
struct Shared {
    tx: tokio::sync::mpsc::Sender<Entry>,
    local: Local,
    /// Messages that never went out: queue full, too long, refused by the destination,
    /// or left when the sender had to stop.
    dropped: AtomicU64,
    /// Messages the sender has taken from the queue and not yet sent.
    in_hand: AtomicU64,
    /// When a lost message was last logged (ms since the epoch): at most once a second.
    last_warning_ms: AtomicU64,
}

impl Shared {
    fn lost(&self, why: &str) {
        let total = self.dropped.fetch_add(1, Ordering::Relaxed) + 1;
        let now = u64::try_from(crate::time::now_ms()).unwrap_or(0);
        let last = self.last_warning_ms.load(Ordering::Relaxed);
        if now.saturating_sub(last) >= 1000
            && self
                .last_warning_ms
                .compare_exchange(last, now, Ordering::Relaxed, Ordering::Relaxed)
                .is_ok()
        {
            warn!("audit message dropped ({why}); {total} dropped since start");
        }
    }
}

/// Sends audit messages; cheap to clone. Every method returns at once: the message is
/// queued, or dropped and counted when the queue is full. [`Auditor::off`] sends nothing.
#[derive(Clone, Default)]
pub struct Auditor {
    shared: Option<Arc<Shared>>,
}

impl std::fmt::Debug for Auditor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auditor")
            .field("on", &self.is_on())
            .field("dropped", &self.dropped())
            .finish()
    }
}

/// The sender task of an [`Auditor`]: stop it with [`AuditTask::stop`]; dropping it
/// aborts the task at once.
pub struct AuditTask {
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    shared: Arc<Shared>,
}

/// Starts the audit trail `settings` describe, as `local`: the TLS configuration and a
/// file destination are opened now, so that their errors stop the start. Must run on a
/// tokio runtime.
pub fn start(settings: &AuditSettings, local: Local) -> Result<(Auditor, AuditTask), AuditError> {
    let tls = match &settings.destination {
        Destination::Tls { .. } => Some(Arc::new(tls_config(settings)?)),
        _ => None,
    };
    let sink = transport::Sink::open(&settings.destination, tls)?;
    let syslog = transport::Syslog {
        hostname: local.hostname.clone(),
        pid: local.pid,
    };
    let (shared, rx) = shared_queue(local, settings.queue_size);
    let auditor = Auditor {
        shared: Some(shared.clone()),
    };
    let (stop, stopped) = tokio::sync::oneshot::channel();
    let task = tokio::spawn(transport::run(
        rx,
        sink,
        syslog,
        settings.destination.max_message(),
        shared.clone(),
        stopped,
    ));
    Ok((
        auditor,
        AuditTask {
            stop: Some(stop),
            task: Some(task),
            shared,
        },
    ))
}

/// The rustls client configuration of a `tls://` destination: the CA file's certificates
/// as the only roots, TLS 1.2 or 1.3 (PS3.15 A.6), and the client certificate if any.
fn tls_config(settings: &AuditSettings) -> Result<rustls::ClientConfig, AuditError> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let ca = settings.ca_file.as_ref().ok_or(AuditError::NoTlsConfig)?;
    let ca_error = |message: String| AuditError::CaFile {
        path: ca.clone(),
        message,
    };
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_file_iter(ca).map_err(|e| ca_error(e.to_string()))? {
        let cert = cert.map_err(|e| ca_error(e.to_string()))?;
        roots.add(cert).map_err(|e| ca_error(e.to_string()))?;
    }
    if roots.is_empty() {
        return Err(ca_error("no certificate in the file".into()));
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots);
    Ok(match &settings.client_cert {
        None => builder.with_no_client_auth(),
        Some((cert, key)) => {
            let chain = CertificateDer::pem_file_iter(cert)
                .and_then(|certs| certs.collect::<Result<Vec<_>, _>>())
                .map_err(|e| AuditError::ClientCert(format!("{}: {e}", cert.display())))?;
            if chain.is_empty() {
                return Err(AuditError::ClientCert(format!(
                    "no certificate in {}",
                    cert.display()
                )));
            }
            let key = PrivateKeyDer::from_pem_file(key)
                .map_err(|e| AuditError::ClientCert(format!("{}: {e}", key.display())))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| AuditError::ClientCert(e.to_string()))?
        }
    })
}

impl AuditTask {
    /// Lets the sender send what is queued, for at most `within`, then stops it; what is
    /// still queued then is counted as dropped and logged.
    pub async fn stop(mut self, within: Duration) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        let Some(mut task) = self.task.take() else {
            return;
        };
        if tokio::time::timeout(within, &mut task).await.is_err() {
            // Counted before the abort: once the aborted task is dropped, so is its
            // receiver with the messages still queued, and the channel's capacity no
            // longer shows them.
            let tx = &self.shared.tx;
            let queued = tx.max_capacity().saturating_sub(tx.capacity()) as u64;
            task.abort();
            let _ = task.await;
            let left = queued + self.shared.in_hand.swap(0, Ordering::Relaxed);
            self.shared.dropped.fetch_add(left, Ordering::Relaxed);
            warn!(
                "audit: the destination did not take the last {left} message(s) within {within:?}"
            );
        }
        let dropped = self.shared.dropped.load(Ordering::Relaxed);
        if dropped > 0 {
            warn!("audit: {dropped} message(s) dropped while filmd ran");
        }
    }
}

impl Drop for AuditTask {
    fn drop(&mut self) {
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

fn shared_queue(local: Local, size: usize) -> (Arc<Shared>, tokio::sync::mpsc::Receiver<Entry>) {
    let (tx, rx) = tokio::sync::mpsc::channel(size.max(1));
    let shared = Arc::new(Shared {
        tx,
        local,
        dropped: AtomicU64::new(0),
        in_hand: AtomicU64::new(0),
        last_warning_ms: AtomicU64::new(0),
    });
    (shared, rx)
}

impl Auditor {
    /// An auditor that sends nothing and costs nothing.
    pub fn off() -> Auditor {
        Auditor::default()
    }

    /// An auditor over a queue of `size` messages and the receiving end of that queue
    /// (what [`start`] hands to its sender task).
    pub fn queue(local: Local, size: usize) -> (Auditor, tokio::sync::mpsc::Receiver<Entry>) {
        let (shared, rx) = shared_queue(local, size);
        (
            Auditor {
                shared: Some(shared),
            },
            rx,
        )
    }

    pub fn is_on(&self) -> bool {
        self.shared.is_some()
    }

    /// Messages dropped since start.
    pub fn dropped(&self) -> u64 {
        self.shared
            .as_ref()
            .map_or(0, |s| s.dropped.load(Ordering::Relaxed))
    }

    /// Builds the message (only when on) and queues it, or drops it if the queue is full.
    fn submit(&self, build: impl FnOnce(&Local, SystemTime) -> AuditMessage) {
        let Some(shared) = &self.shared else {
            return;
        };
        let time = SystemTime::now();
        let message = build(&shared.local, time);
        let entry = Entry {
            time,
            severity: Severity::of(message.event.outcome),
            xml: message.to_xml(),
        };
        match shared.tx.try_send(entry) {
            Ok(()) => {}
            Err(tokio::sync::mpsc::error::TrySendError::Full(_)) => shared.lost("queue full"),
            Err(tokio::sync::mpsc::error::TrySendError::Closed(_)) => {
                shared.lost("the sender has stopped")
            }
        }
    }

    /// Application Activity, Application Start: once filmd accepts associations.
    pub fn application_start(&self) {
        self.submit(|local, time| events::application_activity(local, true, time));
    }

    /// Application Activity, Application Stop: when filmd stops.
    pub fn application_stop(&self) {
        self.submit(|local, time| events::application_activity(local, false, time));
    }

    /// Security Alert, Security Configuration: the configuration was loaded from
    /// `source` (a file, or `<embedded>`).
    pub fn configuration_loaded(&self, source: &Path) {
        self.submit(|local, time| events::configuration_loaded(local, source, time));
    }

    /// Security Alert, Node Authentication (minor failure): an association from `peer`
    /// with `calling` and `called` AE titles was refused by an access rule, for `reason`.
    pub fn association_refused(&self, peer: SocketAddr, calling: &str, called: &str, reason: &str) {
        self.submit(|local, time| {
            events::association_refused(local, peer, calling, called, reason, time)
        });
    }

    /// Security Alert, Node Authentication (minor failure): the TLS handshake with `peer`
    /// failed; `detail` says how.
    pub fn tls_failure(&self, peer: SocketAddr, detail: &str) {
        self.submit(|local, time| events::tls_failure(local, peer, detail, time));
    }

    /// Security Alert, Use of Restricted Function: an operator's action on a job or queue.
    pub fn operator_action(&self, event: &OperatorEvent) {
        self.submit(|local, time| events::operator_action(local, event, time));
    }

    /// Data Export: a job went to a printer or the PDF archive.
    pub fn data_export(&self, event: &ExportEvent) {
        self.submit(|local, time| events::data_export(local, event, time));
    }
}

/// This machine's host name (for the syslog HOSTNAME and filmd's network access point).
pub fn hostname() -> String {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname writes at most that many
    // bytes and the result is read up to the first NUL within the buffer.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return "localhost".into();
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let name = String::from_utf8_lossy(&buf[..end]).into_owned();
    if name.is_empty() {
        "localhost".into()
    } else {
        name
    }
}

/// The login name of user `uid`, from the password database.
pub fn user_name(uid: u32) -> Option<String> {
    let mut pwd: libc::passwd = unsafe { std::mem::zeroed() };
    let mut buf = vec![0u8; 4096];
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer is valid for the call; on success `result` points at `pwd`,
    // whose strings live in `buf`, which outlives their use below.
    let rc = unsafe {
        libc::getpwuid_r(
            uid,
            &mut pwd,
            buf.as_mut_ptr().cast(),
            buf.len(),
            &mut result,
        )
    };
    if rc != 0 || result.is_null() || pwd.pw_name.is_null() {
        return None;
    }
    // SAFETY: pw_name is a NUL-terminated string inside `buf`.
    let name = unsafe { std::ffi::CStr::from_ptr(pwd.pw_name) };
    Some(name.to_string_lossy().into_owned())
}

/// The account this process runs as: its login name, or `uid N`.
pub fn process_user() -> String {
    // SAFETY: geteuid cannot fail.
    let uid = unsafe { libc::geteuid() };
    user_name(uid).unwrap_or_else(|| format!("uid {uid}"))
}

#[cfg(test)]
mod tests;
