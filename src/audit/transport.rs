//! Getting audit messages out: each as an RFC 5424 syslog message, over UDP (RFC 5426,
//! PS3.15 A.7), over TLS (RFC 5425, PS3.15 A.6) or appended to a file.
//!
//! The syslog HEADER is what PS3.15 A.6/A.7 ask: PRI with facility 10
//! (security/authorization) and severity 5 (notice), or 4 (warning) for a message
//! reporting a failure, so `<85>` or `<84>`; VERSION 1; the event's TIMESTAMP in UTC with
//! milliseconds; HOSTNAME; APP-NAME `filmd`; PROCID the process ID; MSGID
//! `DICOM+RFC3881`; no STRUCTURED-DATA (`-`); then the XML, UTF-8 after a BOM (RFC 5424
//! 6.4, MSG-UTF8).
//!
//! - `udp://host[:514]`: one datagram per message (RFC 5426 3.1), at most
//!   [`MAX_DATAGRAM`] octets; a longer message is not sent (a cut one would be broken XML).
//!   The host is resolved again after a send fails.
//! - `tls://host[:6514]`: octet-counting framing, `MSG-LEN SP SYSLOG-MSG` (RFC 5425 4.3),
//!   TLS 1.2 or later; the repository's certificate must chain to the configured CA file
//!   and name the host; a client certificate is presented when configured (ATNA's mutual
//!   node authentication). A broken connection is made again with a backoff of 1 s
//!   doubling to 60 s, and the message that failed is sent again. RFC 5425 has no
//!   acknowledgement: a message written just as the repository drops the connection may
//!   be lost without filmd knowing.
//! - `file:///path`: one line per message (the XML holds no line break), appended; the
//!   file is synced (fdatasync) after each batch of messages taken from the queue, so a
//!   message is on disk before filmd takes the next ones.

use super::message::MAX_TEXT;
use super::{Entry, Severity, Shared};
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::io::AsyncWriteExt;
use tracing::{debug, warn};

/// Largest datagram sent to a `udp://` destination, octets: RFC 5426 3.2 lets receivers
/// take less than this, RFC 5425 recommends at least this for syslog in general.
pub const MAX_DATAGRAM: usize = 8192;
/// Largest message sent over TLS or to a file: what PS3.15 A.6 requires of receivers.
pub const MAX_MESSAGE: usize = 32768;
/// RFC 5424 MSGID of a DICOM audit message (PS3.15 A.6, A.7).
pub const MSGID: &str = "DICOM+RFC3881";
/// RFC 5424 APP-NAME.
pub const APP_NAME: &str = "filmd";
/// Syslog facility 10, security/authorization messages (PS3.15 A.6).
const FACILITY_AUTHPRIV: u8 = 10;
/// Between two connection attempts to a TLS destination.
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// A TCP connection and TLS handshake that take longer have failed.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Messages taken from the queue at once (then a file is synced).
const BATCH: usize = 64;

/// Where audit messages go: `[audit] destination`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Destination {
    Udp { host: String, port: u16 },
    Tls { host: String, port: u16 },
    File { path: PathBuf },
}

impl Destination {
    /// Parses `udp://HOST[:PORT]`, `tls://HOST[:PORT]` (IPv6 in brackets) or
    /// `file:///ABSOLUTE/PATH`; the error says what is wrong.
    pub fn parse(text: &str) -> Result<Destination, String> {
        let usage = "use udp://HOST:PORT, tls://HOST:PORT or file:///PATH";
        let Some((scheme, rest)) = text.split_once("://") else {
            return Err(format!("{text:?} is not a URL: {usage}"));
        };
        match scheme {
            "file" => {
                let path = rest.strip_prefix("localhost").unwrap_or(rest);
                if !path.starts_with('/') {
                    return Err(format!(
                        "{text:?}: a file URL names an absolute path, as file:///var/log/filmd/audit.log"
                    ));
                }
                if path.ends_with('/') {
                    return Err(format!("{text:?} names a directory, not a file"));
                }
                Ok(Destination::File {
                    path: PathBuf::from(path),
                })
            }
            "udp" | "tls" => {
                let default_port = if scheme == "udp" { 514 } else { 6514 };
                let authority = rest.strip_suffix('/').unwrap_or(rest);
                if authority.contains(['/', '@', '?', '#']) {
                    return Err(format!("{text:?}: only a host and a port, no path"));
                }
                let (host, port) = split_host_port(authority)
                    .ok_or_else(|| format!("{text:?}: the port is not a number from 1 to 65535"))?;
                if host.is_empty() {
                    return Err(format!("{text:?} names no host"));
                }
                let port = port.unwrap_or(default_port);
                Ok(if scheme == "udp" {
                    Destination::Udp { host, port }
                } else {
                    Destination::Tls { host, port }
                })
            }
            other => Err(format!(
                "{text:?}: scheme {other:?} is not one filmd sends to: {usage}"
            )),
        }
    }

    /// Largest message this destination takes, octets.
    pub fn max_message(&self) -> usize {
        match self {
            Destination::Udp { .. } => MAX_DATAGRAM,
            _ => MAX_MESSAGE,
        }
    }
}

impl std::fmt::Display for Destination {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let bracketed = |host: &str| {
            if host.contains(':') {
                format!("[{host}]")
            } else {
                host.to_string()
            }
        };
        match self {
            Destination::Udp { host, port } => write!(f, "udp://{}:{port}", bracketed(host)),
            Destination::Tls { host, port } => write!(f, "tls://{}:{port}", bracketed(host)),
            Destination::File { path } => write!(f, "file://{}", path.display()),
        }
    }
}

/// `host`, `host:port`, `[v6]` or `[v6]:port`; None for a bad port.
fn split_host_port(authority: &str) -> Option<(String, Option<u16>)> {
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (host, after) = v6.split_once(']')?;
        (host, after.strip_prefix(':'))
    } else {
        match authority.rsplit_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (authority, None),
        }
    };
    let port = match port {
        None => None,
        Some(p) => Some(p.parse::<u16>().ok().filter(|&p| p > 0)?),
    };
    Some((host.to_string(), port))
}

/// The RFC 5424 HEADER fields that do not change between messages.
#[derive(Debug, Clone)]
pub struct Syslog {
    pub hostname: String,
    pub pid: u32,
}

impl Syslog {
    /// The SYSLOG-MSG of `entry`: HEADER, STRUCTURED-DATA `-`, and the XML as MSG-UTF8.
    pub fn message(&self, entry: &Entry) -> Vec<u8> {
        let pri = FACILITY_AUTHPRIV * 8 + entry.severity as u8;
        let header = format!(
            "<{pri}>1 {} {} {APP_NAME} {} {MSGID} - ",
            crate::time::rfc3339_utc(entry.time),
            header_field(&self.hostname, 255),
            self.pid
        );
        let mut bytes = Vec::with_capacity(header.len() + 3 + entry.xml.len());
        bytes.extend_from_slice(header.as_bytes());
        bytes.extend_from_slice(b"\xEF\xBB\xBF");
        bytes.extend_from_slice(entry.xml.as_bytes());
        bytes
    }
}

/// A HEADER field: printable US-ASCII (RFC 5424 PRINTUSASCII, %d33-126), at most `max`
/// octets; `-` (NILVALUE) when nothing is left.
fn header_field(value: &str, max: usize) -> String {
    let field: String = value
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .take(max)
        .collect();
    if field.is_empty() { "-".into() } else { field }
}

/// RFC 5425 4.3 octet-counting: `MSG-LEN SP SYSLOG-MSG`.
pub fn octet_counted(message: &[u8]) -> Vec<u8> {
    let mut frame = format!("{} ", message.len()).into_bytes();
    frame.extend_from_slice(message);
    frame
}

/// An open destination.
pub(super) enum Sink {
    Udp(UdpSink),
    Tls(Box<TlsSink>),
    File(FileSink),
}

pub(super) struct UdpSink {
    host: String,
    port: u16,
    socket: Option<tokio::net::UdpSocket>,
}

pub(super) struct TlsSink {
    host: String,
    port: u16,
    connector: tokio_rustls::TlsConnector,
    server_name: rustls::pki_types::ServerName<'static>,
    stream: Option<tokio_rustls::client::TlsStream<tokio::net::TcpStream>>,
    backoff: Duration,
}

pub(super) struct FileSink {
    path: PathBuf,
    file: Option<std::fs::File>,
    unsynced: bool,
}

impl Sink {
    /// Opens `destination` (a file now, so that a path filmd cannot write stops the
    /// start; networks at the first message).
    pub(super) fn open(
        destination: &Destination,
        tls: Option<Arc<rustls::ClientConfig>>,
    ) -> Result<Sink, super::AuditError> {
        Ok(match destination {
            Destination::Udp { host, port } => Sink::Udp(UdpSink {
                host: host.clone(),
                port: *port,
                socket: None,
            }),
            Destination::Tls { host, port } => {
                let config = tls.ok_or(super::AuditError::NoTlsConfig)?;
                let server_name = rustls::pki_types::ServerName::try_from(host.clone())
                    .map_err(|e| super::AuditError::ServerName(host.clone(), e.to_string()))?;
                Sink::Tls(Box::new(TlsSink {
                    host: host.clone(),
                    port: *port,
                    connector: tokio_rustls::TlsConnector::from(config),
                    server_name,
                    stream: None,
                    backoff: FIRST_BACKOFF,
                }))
            }
            Destination::File { path } => Sink::File(FileSink {
                file: Some(open_log(path).map_err(|source| super::AuditError::File {
                    path: path.clone(),
                    source,
                })?),
                path: path.clone(),
                unsynced: false,
            }),
        })
    }

    /// Sends one SYSLOG-MSG; false if it was given up (counted as dropped by the caller).
    /// Over TLS it is tried until it goes (the caller bounds the time at stop).
    async fn send(&mut self, message: &[u8]) -> bool {
        match self {
            Sink::Udp(s) => s.send(message).await,
            Sink::Tls(s) => {
                s.send(&octet_counted(message)).await;
                true
            }
            Sink::File(s) => s.append(message),
        }
    }

    /// After a batch: a file is synced, a TLS stream flushed.
    async fn end_batch(&mut self) {
        match self {
            Sink::File(s) => s.sync(),
            Sink::Tls(s) => {
                if let Some(stream) = &mut s.stream
                    && stream.flush().await.is_err()
                {
                    s.stream = None;
                }
            }
            Sink::Udp(_) => {}
        }
    }

    /// At stop: a TLS stream says close_notify.
    async fn close(&mut self) {
        if let Sink::Tls(s) = self
            && let Some(mut stream) = s.stream.take()
        {
            let _ = tokio::time::timeout(Duration::from_secs(1), stream.shutdown()).await;
        }
    }
}

impl UdpSink {
    async fn send(&mut self, message: &[u8]) -> bool {
        if self.socket.is_none() {
            match udp_socket(&self.host, self.port).await {
                Ok(socket) => self.socket = Some(socket),
                Err(e) => {
                    warn!("audit: udp://{}:{}: {e}", self.host, self.port);
                    return false;
                }
            }
        }
        let Some(socket) = &self.socket else {
            return false;
        };
        match socket.send(message).await {
            Ok(_) => true,
            Err(e) => {
                // Perhaps an ICMP error for an earlier datagram: resolve and connect again.
                debug!("audit: udp://{}:{}: {e}", self.host, self.port);
                self.socket = None;
                false
            }
        }
    }
}

async fn udp_socket(host: &str, port: u16) -> std::io::Result<tokio::net::UdpSocket> {
    let target = tokio::net::lookup_host((host, port))
        .await?
        .next()
        .ok_or_else(|| std::io::Error::other("the host has no address"))?;
    let any: SocketAddr = if target.is_ipv4() {
        ([0, 0, 0, 0], 0).into()
    } else {
        (std::net::Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let socket = tokio::net::UdpSocket::bind(any).await?;
    socket.connect(target).await?;
    Ok(socket)
}

impl TlsSink {
    /// Sends `frame`, connecting first if need be; waits out the backoff between failed
    /// attempts, for ever (the queue behind it fills and drops instead).
    async fn send(&mut self, frame: &[u8]) {
        let mut reported = false;
        loop {
            let result = match self.stream.as_mut() {
                Some(stream) => stream.write_all(frame).await.map_err(|e| e.to_string()),
                None => match self.connect().await {
                    Ok(mut stream) => {
                        let sent = stream.write_all(frame).await.map_err(|e| e.to_string());
                        self.stream = Some(stream);
                        sent
                    }
                    Err(e) => Err(e),
                },
            };
            match result {
                Ok(()) => {
                    if reported {
                        warn!("audit: tls://{}:{} reached again", self.host, self.port);
                    }
                    self.backoff = FIRST_BACKOFF;
                    return;
                }
                Err(e) => {
                    self.stream = None;
                    if !reported {
                        warn!(
                            "audit: tls://{}:{}: {e}; trying again, every {:?} at most",
                            self.host, self.port, MAX_BACKOFF
                        );
                        reported = true;
                    }
                    tokio::time::sleep(self.backoff).await;
                    self.backoff = (self.backoff * 2).min(MAX_BACKOFF);
                }
            }
        }
    }

    async fn connect(
        &self,
    ) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, String> {
        let connect = async {
            let tcp = tokio::net::TcpStream::connect((self.host.as_str(), self.port))
                .await
                .map_err(|e| format!("connecting: {e}"))?;
            let _ = tcp.set_nodelay(true);
            self.connector
                .connect(self.server_name.clone(), tcp)
                .await
                .map_err(|e| format!("TLS handshake: {e}"))
        };
        tokio::time::timeout(CONNECT_TIMEOUT, connect)
            .await
            .unwrap_or_else(|_| Err(format!("no connection within {CONNECT_TIMEOUT:?}")))
    }
}

/// Opens the audit file for appending, creating it readable by its owner and group only.
fn open_log(path: &std::path::Path) -> std::io::Result<std::fs::File> {
    use std::os::unix::fs::OpenOptionsExt;
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o640)
        .open(path)
}

impl FileSink {
    fn append(&mut self, message: &[u8]) -> bool {
        if self.file.is_none() {
            self.file = open_log(&self.path)
                .map_err(|e| warn!("audit: {}: {e}", self.path.display()))
                .ok();
        }
        let Some(file) = &mut self.file else {
            return false;
        };
        let mut line = Vec::with_capacity(message.len() + 1);
        line.extend_from_slice(message);
        line.push(b'\n');
        // One write of the whole line: O_APPEND keeps lines whole.
        match file.write_all(&line) {
            Ok(()) => {
                self.unsynced = true;
                true
            }
            Err(e) => {
                warn!("audit: writing {}: {e}", self.path.display());
                self.file = None;
                false
            }
        }
    }

    fn sync(&mut self) {
        if self.unsynced
            && let Some(file) = &self.file
            && let Err(e) = file.sync_data()
        {
            warn!("audit: syncing {}: {e}", self.path.display());
        }
        self.unsynced = false;
    }
}

/// The sender task: takes messages from the queue and sends them until `stop` says so,
/// then sends what is still queued and closes the destination.
pub(super) async fn run(
    mut rx: tokio::sync::mpsc::Receiver<Entry>,
    mut sink: Sink,
    syslog: Syslog,
    max_message: usize,
    shared: Arc<Shared>,
    mut stop: tokio::sync::oneshot::Receiver<()>,
) {
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        tokio::select! {
            n = rx.recv_many(&mut batch, BATCH) => {
                if n == 0 {
                    break;
                }
            }
            _ = &mut stop => break,
        }
        deliver(&mut sink, &syslog, max_message, &shared, &mut batch).await;
    }
    // Stopping: whatever was queued before now still goes (the caller bounds the time).
    rx.close();
    let started = Instant::now();
    while rx.recv_many(&mut batch, BATCH).await > 0 {
        deliver(&mut sink, &syslog, max_message, &shared, &mut batch).await;
    }
    sink.close().await;
    debug!(
        "audit: sender stopped after {:?} of draining",
        started.elapsed()
    );
}

async fn deliver(
    sink: &mut Sink,
    syslog: &Syslog,
    max_message: usize,
    shared: &Shared,
    batch: &mut Vec<Entry>,
) {
    shared.in_hand.store(batch.len() as u64, Ordering::Relaxed);
    for entry in batch.drain(..) {
        let message = syslog.message(&entry);
        if message.len() > max_message {
            shared.lost(&format!(
                "a {}-octet message is over the destination's {max_message}",
                message.len()
            ));
        } else if !sink.send(&message).await {
            shared.lost("the destination did not take it");
        }
        shared.in_hand.fetch_sub(1, Ordering::Relaxed);
    }
    sink.end_batch().await;
}

const _: () = assert!(MAX_TEXT * 4 < MAX_DATAGRAM);

impl Severity {
    /// Of an event with this outcome: notice for a success, warning otherwise (PS3.15 A.7).
    pub fn of(outcome: super::codes::Outcome) -> Severity {
        match outcome {
            super::codes::Outcome::Success => Severity::Notice,
            _ => Severity::Warning,
        }
    }
}
