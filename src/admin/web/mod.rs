//! The operator's web console and its JSON API (`[admin] http_listen`): HTML pages of the
//! queues, jobs and associations with the operator's actions, `/api/v1/` with the same
//! data, `/metrics`, `/healthz` and `/readyz`, served by axum on the server's runtime.
//!
//! Pages are hand-written HTML: every interpolated value goes through one escaping function
//! ([`html::esc`]); there are four small pages, and a template crate would add a second
//! language and a build step for them. CSS and the live-refresh script are embedded.

mod api;
pub mod auth;
mod data;
mod guard;
pub mod html;
mod pages;
pub mod server;

pub use auth::{CsrfKey, Users, UsersFileError, basic_credentials, hash_password};
pub use guard::Operator;

use super::Admin;
use crate::data_dir::DataDir;
use crate::metrics::Metrics;
use crate::net::journal::AssociationJournal;
use crate::net::tls::{TlsFiles, TlsSetupError};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::SystemTime;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::info;

/// Largest request body (a JSON action or a form), bytes.
pub const MAX_BODY: usize = 64 * 1024;

/// The console's resolved settings (`[admin]`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsoleSettings {
    pub listen: SocketAddr,
    /// Who may log in; `None`: nobody is asked (check-config allows that on loopback only).
    pub users_file: Option<PathBuf>,
    /// HTTPS with this certificate and key.
    pub tls: Option<TlsFiles>,
}

/// Why the console could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConsoleError {
    #[error("binding the web console to {addr} (set [admin] http_listen, \"\" for none): {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("web console users: {0}")]
    Users(#[from] UsersFileError),
    #[error("web console TLS: {0}")]
    Tls(#[from] TlsSetupError),
}

/// What the console shows and acts on.
pub struct Context {
    pub admin: Arc<Admin>,
    pub data_dir: DataDir,
    /// `[spool] min_free_mib`, for `/readyz`.
    pub min_free_mib: u64,
    /// Each queue's PDF archive directory: a job's PDF is served only from there.
    pub archives: HashMap<String, PathBuf>,
    pub started: SystemTime,
    /// True while the DICOM listeners accept associations (`/readyz`).
    pub accepting: Arc<AtomicBool>,
    /// The associations page.
    pub journal: AssociationJournal,
    /// `/metrics`.
    pub metrics: Arc<Metrics>,
}

/// What every handler shares.
pub(crate) struct Shared {
    pub ctx: Context,
    pub users: Option<Users>,
    pub csrf: CsrfKey,
    /// Bumped when what the pages show has changed; `/events` tells the browsers.
    pub changes: watch::Sender<u64>,
    /// Password checks running at once: each costs an argon2 or bcrypt hash (tens of
    /// milliseconds and, for argon2, 19 MiB), so wrong passwords sent in parallel must not
    /// take both cores and the blocking pool the spool needs.
    pub checks: tokio::sync::Semaphore,
}

/// Password checks [`Shared::checks`] lets run at once.
pub const CONCURRENT_PASSWORD_CHECKS: usize = 2;

pub(crate) type AppState = Arc<Shared>;

/// Where the console listens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsoleAddr {
    pub addr: SocketAddr,
    pub https: bool,
}

impl std::fmt::Display for ConsoleAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = if self.https { "https" } else { "http" };
        write!(f, "{scheme}://{}/", self.addr)
    }
}

/// A running console: stops (with every connection) when dropped.
pub struct Console {
    addr: ConsoleAddr,
    tasks: Vec<JoinHandle<()>>,
}

impl Console {
    pub fn address(&self) -> ConsoleAddr {
        self.addr
    }

    /// Stops the console and waits until its port is closed and every connection gone.
    pub async fn stop(mut self) {
        for task in std::mem::take(&mut self.tasks) {
            task.abort();
            let _ = task.await;
        }
    }
}

impl Drop for Console {
    fn drop(&mut self) {
        for task in &self.tasks {
            task.abort();
        }
    }
}

/// Reads the users file and the certificate, binds `settings.listen` and serves.
pub async fn start(settings: &ConsoleSettings, ctx: Context) -> Result<Console, ConsoleError> {
    let users = settings
        .users_file
        .as_deref()
        .map(Users::load)
        .transpose()?;
    let tls = settings
        .tls
        .as_ref()
        .map(crate::net::tls::acceptor)
        .transpose()?;
    let bind = |source| ConsoleError::Bind {
        addr: settings.listen,
        source,
    };
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .map_err(bind)?;
    let addr = ConsoleAddr {
        addr: listener.local_addr().map_err(bind)?,
        https: tls.is_some(),
    };
    let (changes, _) = watch::channel(0u64);
    let state = Arc::new(Shared {
        ctx,
        users,
        csrf: CsrfKey::random(),
        changes,
        checks: tokio::sync::Semaphore::new(CONCURRENT_PASSWORD_CHECKS),
    });
    let mut tasks = watch_changes(&state);
    let router = router(state.clone());
    tasks.push(tokio::spawn(server::accept_loop(listener, tls, router)));
    info!(
        "web console on {addr}{}",
        if state.users.is_some() {
            " (log-in required)"
        } else {
            ""
        }
    );
    Ok(Console { addr, tasks })
}

/// Every route; [`guard`] checks credentials and cross-site POSTs before any of them.
fn router(state: AppState) -> Router {
    Router::new()
        .route("/", get(pages::overview))
        .route("/jobs", get(pages::jobs))
        .route("/jobs/{id}", get(pages::job))
        .route("/jobs/{id}/films/{file}", get(pages::preview))
        .route("/jobs/{id}/pdf", get(pages::pdf))
        .route("/jobs/{id}/{action}", post(pages::job_action))
        .route("/queues/{name}/{action}", post(pages::queue_action))
        .route("/associations", get(pages::associations))
        .route("/events", get(pages::events))
        .route("/static/console.css", get(pages::css))
        .route("/static/console.js", get(pages::script))
        .route("/api/v1/jobs", get(api::jobs))
        .route("/api/v1/jobs/{id}", get(api::job))
        .route("/api/v1/jobs/{id}/{action}", post(api::job_action))
        .route("/api/v1/queues", get(api::queues))
        .route("/api/v1/queues/{name}/{action}", post(api::queue_action))
        .route("/api/v1/associations", get(api::associations))
        .route("/metrics", get(api::metrics))
        .route("/healthz", get(api::healthz))
        .route("/readyz", get(api::readyz))
        .fallback(pages::not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            guard::guard,
        ))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

/// Tasks that bump [`Shared::changes`] when what the pages show changes: a job or a
/// queue control (the spool's counter), an association (the journal's), or a printer's
/// status (the printer board).
fn watch_changes(state: &AppState) -> Vec<JoinHandle<()>> {
    let ctx = &state.ctx;
    let mut sources = vec![ctx.admin.spool.changes(), ctx.journal.changes()];
    let mut tasks = Vec::new();
    for mut source in sources.drain(..) {
        let state = state.clone();
        tasks.push(tokio::spawn(async move {
            while source.changed().await.is_ok() {
                state.changes.send_modify(|n| *n += 1);
            }
        }));
    }
    for (queue, _) in &ctx.admin.queues {
        let Some(mut printer) = ctx.admin.board.subscribe(queue) else {
            continue;
        };
        let state = state.clone();
        tasks.push(tokio::spawn(async move {
            while printer.changed().await.is_ok() {
                state.changes.send_modify(|n| *n += 1);
            }
        }));
    }
    tasks
}
