//! The server side of the admin socket: a Unix socket in the data directory, mode 0600
//! (only the service's user and root), whose requests the [`Admin`] answers. The socket
//! is local, but its input is still bounded: a request line is at most [`MAX_REQUEST`]
//! bytes and must arrive within [`REQUEST_TIMEOUT`]; a bad request gets an error answer
//! and a log line, never more.

use super::Admin;
use super::protocol::{ANSWER_TIMEOUT, Answer, MAX_REQUEST, REQUEST_TIMEOUT, Request};
use crate::data_dir::{DataDir, SOCKET_NAME};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt};
use tracing::{info, warn};

/// Listens on the data directory's `admin.sock` until the returned task is aborted; the
/// socket file goes when [`Listening`] is dropped. Call with the data directory locked
/// ([`DataDir::lock`]): a socket file left by a server that died is replaced.
pub fn listen(data_dir: &DataDir, admin: Arc<Admin>) -> std::io::Result<Listening> {
    let path = data_dir.admin_socket();
    match std::fs::remove_file(&path) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e),
    }
    // Bound under a temporary name, made 0600, then moved into place: the socket is never
    // reachable at its known path with looser permissions.
    let staging = data_dir
        .root()
        .join(format!(".{SOCKET_NAME}.{}", std::process::id()));
    let _ = std::fs::remove_file(&staging);
    let listener = tokio::net::UnixListener::bind(&staging)?;
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&staging, std::fs::Permissions::from_mode(0o600))?;
    }
    std::fs::rename(&staging, &path)?;
    info!("admin socket {}", path.display());
    let task = tokio::spawn(async move {
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
    Ok(Listening { path, task })
}

/// The admin socket's accept loop: stops it, and removes the socket file, when dropped.
#[derive(Debug)]
pub struct Listening {
    path: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Listening {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Who is on the other end of the socket: the login name of its peer's user
/// (SO_PEERCRED), else [`UNKNOWN_OPERATOR`](super::UNKNOWN_OPERATOR).
fn operator(stream: &tokio::net::UnixStream) -> String {
    stream
        .peer_cred()
        .ok()
        .map(|cred| {
            let uid = cred.uid();
            crate::audit::user_name(uid).unwrap_or_else(|| format!("uid {uid}"))
        })
        .unwrap_or_else(|| super::UNKNOWN_OPERATOR.to_string())
}

async fn handle(stream: tokio::net::UnixStream, admin: Arc<Admin>) {
    let operator = operator(&stream);
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
                tokio::task::spawn_blocking(move || admin.answer(request, &operator))
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
