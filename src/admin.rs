//! The operator's door into a running server: a Unix socket in the data directory
//! (`admin.sock`, mode 0600, so only the service's user and root) on which `filmd jobs`,
//! `filmd cancel`, `filmd retry` and `filmd queues` ask the server, which alone changes
//! the spool. One JSON request line in, one JSON answer line out, then the connection
//! closes.
//!
//! The socket is local, but its input is still bounded: a request line is at most
//! [`MAX_REQUEST`] bytes and must arrive within [`REQUEST_TIMEOUT`]; a bad request gets an
//! error answer and a log line, never more.

use crate::backend::pdfa::utc_fields;
use crate::spool::Spool;
use crate::spool::printers::PrinterBoard;
use crate::spool::store::{JobFilter, JobRow, State};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tracing::{info, warn};

/// The socket's file name in the data directory.
pub const SOCKET_NAME: &str = "admin.sock";
/// Longest request line.
pub const MAX_REQUEST: usize = 64 * 1024;
/// Longest answer the client reads (a job list of the largest `limit`).
pub const MAX_ANSWER: usize = 64 << 20;
/// How long a client may take to send its request.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client may take to read its answer.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);
/// Most rows one `jobs` request returns.
pub const MAX_LIMIT: usize = 10_000;

/// What an operator asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// Jobs, newest first.
    Jobs {
        #[serde(default)]
        queue: Option<String>,
        /// received, composed, submitting, submitted, done, failed or cancelled.
        #[serde(default)]
        state: Option<String>,
        /// At most this many (default 100, at most [`MAX_LIMIT`]).
        #[serde(default)]
        limit: Option<usize>,
    },
    /// Cancels an unfinished job, at the printer too.
    Cancel { id: String },
    /// Prints a failed or cancelled job again, as a new job; `force` also when it was
    /// printed again already or had reached its printer.
    Retry {
        id: String,
        #[serde(default)]
        force: bool,
    },
    /// Each queue: its printer, the printer's status and the jobs per state.
    Queues,
}

/// The server's answer: `ok` and what was asked for, or `error`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jobs: Option<Vec<JobView>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queues: Option<Vec<QueueView>>,
    /// Retry: the new job's ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
}

impl Answer {
    fn error(message: impl Into<String>) -> Answer {
        Answer {
            ok: false,
            error: Some(message.into()),
            ..Answer::default()
        }
    }
}

/// A job as an operator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobView {
    pub id: String,
    pub queue: String,
    pub state: String,
    pub priority: String,
    pub films: u32,
    pub copies: u32,
    pub label: String,
    pub calling_ae: String,
    pub attempts: u32,
    /// UTC, `YYYY-MM-DD HH:MM:SS`.
    pub created: String,
    pub updated: String,
    pub remote_id: Option<String>,
    pub last_error: Option<String>,
    pub note: Option<String>,
    /// The job it was printed again as (`filmd retry`).
    pub retried_as: Option<String>,
}

impl From<&JobRow> for JobView {
    fn from(r: &JobRow) -> JobView {
        JobView {
            id: r.id.clone(),
            queue: r.queue.clone(),
            state: r.state.as_str().into(),
            priority: r.priority.as_str().into(),
            films: r.films,
            copies: r.copies,
            label: r.label.clone(),
            calling_ae: r.calling_ae.clone(),
            attempts: r.attempts,
            created: utc(r.created_ms),
            updated: utc(r.updated_ms),
            remote_id: r.remote_id.clone(),
            last_error: r.last_error.clone(),
            note: r.note.clone(),
            retried_as: r.retried_as.clone().filter(|s| !s.is_empty()),
        }
    }
}

/// A queue as an operator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueView {
    pub name: String,
    /// The IPP printer's URI, if the queue has one.
    pub printer: Option<String>,
    /// NORMAL, WARNING or FAILURE (PS3.3 C.13.9.1 Printer Status).
    pub status: String,
    pub status_info: String,
    pub detail: String,
    /// Jobs per state.
    pub jobs: BTreeMap<String, u64>,
}

fn utc(ms: i64) -> String {
    let (y, m, d, h, mi, s) = utc_fields(u64::try_from(ms / 1000).unwrap_or(0));
    format!("{y:04}-{m:02}-{d:02} {h:02}:{mi:02}:{s:02}")
}

/// What the server answers from: the spool, the printers' status and the queues.
pub struct Admin {
    pub spool: Arc<Spool>,
    pub board: Arc<PrinterBoard>,
    /// Queue names in configuration order, with their printer URI if any.
    pub queues: Vec<(String, Option<String>)>,
}

impl Admin {
    /// Carries out one request (blocking: the spool database commits with fsync).
    pub fn answer(&self, request: Request) -> Answer {
        match request {
            Request::Jobs {
                queue,
                state,
                limit,
            } => {
                let state = match state.as_deref().map(|s| (s, State::parse(s))) {
                    None => None,
                    Some((_, Some(st))) => Some(st),
                    Some((s, None)) => return Answer::error(format!("no job state {s:?}")),
                };
                let filter = JobFilter {
                    queue,
                    state,
                    limit: limit.unwrap_or(100).clamp(1, MAX_LIMIT),
                };
                match self.spool.jobs(&filter) {
                    Ok(rows) => Answer {
                        ok: true,
                        jobs: Some(rows.iter().map(JobView::from).collect()),
                        ..Answer::default()
                    },
                    Err(e) => Answer::error(e.to_string()),
                }
            }
            Request::Cancel { id } => match self.spool.cancel(&id) {
                Ok(true) => {
                    info!(job = %id, "cancelled by the operator");
                    Answer {
                        ok: true,
                        id: Some(id),
                        ..Answer::default()
                    }
                }
                Ok(false) => Answer::error(match self.spool.job(&id) {
                    Ok(Some(row)) => format!("job {id} is already {}", row.state.as_str()),
                    _ => format!("no job {id}"),
                }),
                Err(e) => Answer::error(e.to_string()),
            },
            Request::Retry { id, force } => match self.spool.retry(&id, force) {
                Ok(new) => Answer {
                    ok: true,
                    id: Some(new),
                    ..Answer::default()
                },
                Err(e) => Answer::error(e.to_string()),
            },
            Request::Queues => {
                let counts = match self.spool.counts() {
                    Ok(c) => c,
                    Err(e) => return Answer::error(e.to_string()),
                };
                let queues = self
                    .queues
                    .iter()
                    .map(|(name, printer)| {
                        let status = self.board.get(name);
                        QueueView {
                            name: name.clone(),
                            printer: printer.clone(),
                            status: status.level.term().into(),
                            status_info: status.info,
                            detail: status.detail,
                            jobs: counts
                                .get(name)
                                .map(|m| m.iter().map(|(s, n)| (s.as_str().into(), *n)).collect())
                                .unwrap_or_default(),
                        }
                    })
                    .collect();
                Answer {
                    ok: true,
                    queues: Some(queues),
                    ..Answer::default()
                }
            }
        }
    }
}

/// The lock file that makes a data directory one server's.
pub const LOCK_NAME: &str = "filmd.lock";

/// Takes the data directory for this process, for as long as the returned file is open
/// (the kernel lets go when the process ends, however it ends). Two servers on one
/// spool would each recover and deliver its jobs: the second is refused at start.
pub fn lock_data_dir(data_dir: &Path) -> std::io::Result<std::fs::File> {
    let path = data_dir.join(LOCK_NAME);
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(std::io::Error::new(
            std::io::ErrorKind::AddrInUse,
            format!(
                "another filmd is using {} (it holds {})",
                data_dir.display(),
                path.display()
            ),
        )),
        Err(std::fs::TryLockError::Error(e)) => Err(e),
    }
}

/// Listens on `data_dir/admin.sock` until the runtime stops. Call with the data
/// directory locked ([`lock_data_dir`]): a socket file left by a server that died is
/// replaced.
pub async fn listen(data_dir: &Path, admin: Arc<Admin>) -> std::io::Result<()> {
    let path = data_dir.join(SOCKET_NAME);
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    // Bound under a temporary name, made 0600, then moved into place: the socket is never
    // reachable at its known path with looser permissions.
    let staging = data_dir.join(format!(".{SOCKET_NAME}.{}", std::process::id()));
    let _ = std::fs::remove_file(&staging);
    let listener = tokio::net::UnixListener::bind(&staging)?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&staging, std::fs::Permissions::from_mode(0o600))?;
    }
    std::fs::rename(&staging, &path)?;
    info!("admin socket {}", path.display());
    tokio::spawn(async move {
        loop {
            match listener.accept().await {
                Ok((stream, _)) => {
                    tokio::spawn(handle(stream, admin.clone()));
                }
                Err(e) => {
                    warn!("admin socket: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    });
    Ok(())
}

async fn handle(stream: tokio::net::UnixStream, admin: Arc<Admin>) {
    let (read, mut write) = stream.into_split();
    let mut line = Vec::new();
    let mut reader = tokio::io::BufReader::new(read).take(MAX_REQUEST as u64 + 1);
    let read = tokio::time::timeout(REQUEST_TIMEOUT, reader.read_until(b'\n', &mut line)).await;
    let answer = match read {
        Err(_) => Answer::error(format!("no request within {REQUEST_TIMEOUT:?}")),
        Ok(Err(e)) => Answer::error(format!("reading the request: {e}")),
        Ok(Ok(_)) if line.len() > MAX_REQUEST => {
            Answer::error(format!("request longer than {MAX_REQUEST} bytes"))
        }
        Ok(Ok(_)) => match serde_json::from_slice::<Request>(&line) {
            Err(e) => Answer::error(format!("bad request: {e}")),
            Ok(request) => {
                let admin = admin.clone();
                tokio::task::spawn_blocking(move || admin.answer(request))
                    .await
                    .unwrap_or_else(|e| Answer::error(format!("request failed: {e}")))
            }
        },
    };
    if let Some(e) = &answer.error {
        warn!("admin request refused: {e}");
    }
    let mut bytes = serde_json::to_vec(&answer).unwrap_or_else(|_| b"{\"ok\":false}".to_vec());
    bytes.push(b'\n');
    // A client that asks and never reads must not hold the task for ever.
    let sent = tokio::time::timeout(ANSWER_TIMEOUT, async {
        write.write_all(&bytes).await?;
        write.shutdown().await
    })
    .await;
    if !matches!(sent, Ok(Ok(()))) {
        warn!("admin answer not delivered (client gone or not reading)");
    }
}

/// Why a client request did not get an answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(
        "no filmd server answers on {path}: is it running with this data directory? ({source})"
    )]
    NotRunning {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("talking to {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("answer from {path}: {message}")]
    BadAnswer { path: PathBuf, message: String },
}

/// Asks the server that owns `data_dir`.
pub fn ask(data_dir: &Path, request: &Request) -> Result<Answer, ClientError> {
    let path = data_dir.join(SOCKET_NAME);
    let io = |source| ClientError::Io {
        path: path.clone(),
        source,
    };
    let mut stream = std::os::unix::net::UnixStream::connect(&path).map_err(|source| {
        ClientError::NotRunning {
            path: path.clone(),
            source,
        }
    })?;
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .map_err(io)?;
    stream
        .set_write_timeout(Some(Duration::from_secs(30)))
        .map_err(io)?;
    let mut line = serde_json::to_vec(request).map_err(|e| ClientError::BadAnswer {
        path: path.clone(),
        message: e.to_string(),
    })?;
    line.push(b'\n');
    stream.write_all(&line).map_err(io)?;
    let mut answer = Vec::new();
    BufReader::new(stream)
        .take(MAX_ANSWER as u64)
        .read_until(b'\n', &mut answer)
        .map_err(io)?;
    serde_json::from_slice(&answer).map_err(|e| ClientError::BadAnswer {
        path: path.clone(),
        message: e.to_string(),
    })
}

/// The jobs of a server that is not running, read from its spool database without
/// changing it (`filmd jobs` when no server answers on the socket).
pub fn jobs_offline(
    data_dir: &Path,
    queue: Option<String>,
    state: Option<String>,
    limit: usize,
) -> Result<Vec<JobView>, String> {
    let path = data_dir.join("spool").join("jobs.sqlite");
    if !path.exists() {
        return Err(format!("no spool database at {}", path.display()));
    }
    let state = match state.as_deref().map(|s| (s, State::parse(s))) {
        None => None,
        Some((_, Some(st))) => Some(st),
        Some((s, None)) => return Err(format!("no job state {s:?}")),
    };
    let store = crate::spool::store::JobStore::open_read_only(&path)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let rows = store
        .list(&JobFilter {
            queue,
            state,
            limit: limit.clamp(1, MAX_LIMIT),
        })
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(rows.iter().map(JobView::from).collect())
}

/// The job list as a table, for a terminal.
pub fn jobs_table(jobs: &[JobView]) -> String {
    let mut rows = vec![
        [
            "ID",
            "QUEUE",
            "STATE",
            "PRI",
            "FILMS",
            "COPIES",
            "UPDATED (UTC)",
            "LABEL",
            "DETAIL",
        ]
        .map(String::from),
    ];
    for j in jobs {
        let detail = [j.last_error.as_deref(), j.note.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("; ");
        rows.push([
            j.id.clone(),
            j.queue.clone(),
            j.state.clone(),
            j.priority.clone(),
            j.films.to_string(),
            j.copies.to_string(),
            j.updated.clone(),
            j.label.clone(),
            detail,
        ]);
    }
    table(&rows)
}

/// The queues as a table, for a terminal.
pub fn queues_table(queues: &[QueueView]) -> String {
    let mut rows = vec![["QUEUE", "PRINTER", "STATUS", "INFO", "JOBS"].map(String::from)];
    for q in queues {
        let jobs = q
            .jobs
            .iter()
            .map(|(s, n)| format!("{s} {n}"))
            .collect::<Vec<_>>()
            .join(", ");
        rows.push([
            q.name.clone(),
            q.printer
                .clone()
                .unwrap_or_else(|| "(PDF archive only)".into()),
            q.status.clone(),
            q.status_info.clone(),
            if jobs.is_empty() { "none".into() } else { jobs },
        ]);
    }
    table(&rows)
}

/// A value fit for a terminal: labels and errors come from modalities and printers, and
/// a control character (an escape sequence in a Film Session Label) must not reach the
/// operator's terminal as such. Each is shown as `\u{..}`.
fn printable(cell: &str) -> String {
    cell.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Left-aligned columns, two spaces apart; the last column is not padded. Cells are
/// made [`printable`].
fn table<const N: usize>(rows: &[[String; N]]) -> String {
    let rows: Vec<[String; N]> = rows
        .iter()
        .map(|row| row.clone().map(|cell| printable(&cell)))
        .collect();
    let rows = rows.as_slice();
    let mut widths = [0usize; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == N {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&" ".repeat(widths[i] - cell.chars().count() + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_one_json_object_each_and_unknown_fields_are_refused() {
        let r: Request = serde_json::from_str(r#"{"op":"retry","id":"x"}"#).unwrap();
        assert_eq!(
            r,
            Request::Retry {
                id: "x".into(),
                force: false
            }
        );
        let r: Request = serde_json::from_str(r#"{"op":"jobs"}"#).unwrap();
        assert_eq!(
            r,
            Request::Jobs {
                queue: None,
                state: None,
                limit: None
            }
        );
        assert!(serde_json::from_str::<Request>(r#"{"op":"drop_tables"}"#).is_err());
        assert!(serde_json::from_str::<Request>(r#"{"op":"cancel","id":"x","all":true}"#).is_err());
        assert!(serde_json::from_str::<Request>(r#"{"op":"cancel"}"#).is_err());
    }

    #[test]
    fn times_are_utc_and_readable() {
        assert_eq!(utc(1_795_608_000_999), "2026-11-25 12:00:00");
        assert_eq!(utc(-5), "1970-01-01 00:00:00");
    }

    #[test]
    fn tables_align_their_columns() {
        let t = table(&[
            ["A".to_string(), "BB".into(), "C".into()],
            [
                "long".into(),
                "x".into(),
                "last column is not padded".into(),
            ],
        ]);
        assert_eq!(t, "A     BB  C\nlong  x   last column is not padded\n");
    }

    #[test]
    fn control_characters_never_reach_the_terminal() {
        let t = table(&[["\u{1b}[2Jgone".to_string(), "a\nb".into()]]);
        assert_eq!(t, "\\u{1b}[2Jgone  a\\u{a}b\n");
        assert!(!t.trim_end_matches('\n').chars().any(char::is_control));
    }
}
