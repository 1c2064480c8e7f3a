//! What the pages and the API show and do, asked of the [`Admin`](crate::admin::Admin)'s
//! typed methods: one place for both, so that a page and its JSON never disagree.
//! Blocking (the spool's database): handlers call it through [`blocking`].

use super::{AppState, Context};
use crate::admin::{AdminError, JobDetail};
use crate::spool::Identity;
use axum::http::StatusCode;
use std::path::PathBuf;
use tracing::info;

/// Jobs a page lists unless asked otherwise.
pub const DEFAULT_PAGE: usize = 50;
pub use crate::admin::MAX_REASON;

/// Why a request could not be answered: its HTTP status and the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: StatusCode,
    pub message: String,
}

impl Refusal {
    pub fn new(status: StatusCode, message: impl Into<String>) -> Refusal {
        Refusal {
            status,
            message: message.into(),
        }
    }
}

impl From<AdminError> for Refusal {
    fn from(e: AdminError) -> Refusal {
        let status = match &e {
            AdminError::NotFound(_) => StatusCode::NOT_FOUND,
            AdminError::Conflict(_) => StatusCode::CONFLICT,
            AdminError::Invalid(_) => StatusCode::BAD_REQUEST,
            AdminError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        Refusal::new(status, e.to_string())
    }
}

/// Runs `f` on the blocking pool.
pub async fn blocking<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&Context) -> Result<T, Refusal> + Send + 'static,
) -> Result<T, Refusal> {
    let state = state.clone();
    tokio::task::spawn_blocking(move || f(&state.ctx))
        .await
        .unwrap_or_else(|e| {
            Err(Refusal::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                e.to_string(),
            ))
        })
}

/// A job with what its page shows; its PDF only if it lies in its queue's archive.
pub fn job(ctx: &Context, id: &str) -> Result<JobDetail, Refusal> {
    let mut detail = ctx.admin.job(id)?;
    detail.archive_pdf = detail
        .archive_pdf
        .take()
        .and_then(|pdf| in_archive(ctx, &detail.job.queue, pdf));
    Ok(detail)
}

/// `pdf` if it is a file inside `queue`'s archive directory: the console serves nothing
/// else, whatever a job's note says.
fn in_archive(ctx: &Context, queue: &str, pdf: PathBuf) -> Option<PathBuf> {
    let dir = ctx.archives.get(queue)?.canonicalize().ok()?;
    let pdf = pdf.canonicalize().ok()?;
    (pdf.starts_with(&dir) && pdf.is_file()).then_some(pdf)
}

/// What a job action carries besides its name.
#[derive(Debug, Clone, Default)]
pub struct JobInput {
    /// Retry: also when printed again already or when it reached its printer.
    pub force: bool,
    /// Assign: the identity given, by DICOM keyword.
    pub identity: Identity,
}

/// An operator's action on a job: the job to show next (the new one, for a retry).
pub fn job_action(
    ctx: &Context,
    id: &str,
    action: &str,
    input: &JobInput,
    operator: &str,
) -> Result<String, Refusal> {
    let admin = &ctx.admin;
    let done = match action {
        "cancel" => admin.cancel(id, operator).map(|()| id.to_string()),
        "retry" => admin.retry(id, input.force, operator),
        "hold" => admin.hold(id, operator).map(|_| id.to_string()),
        "release" => admin.release(id, operator).map(|_| id.to_string()),
        "assign" => admin
            .assign(id, &input.identity, operator)
            .map(|()| id.to_string()),
        other => {
            return Err(Refusal::new(
                StatusCode::NOT_FOUND,
                format!("no job action {other:?}: cancel, retry, hold, release or assign"),
            ));
        }
    };
    match &done {
        Ok(next) => info!(job = %id, operator, "web console: {action} (now {next})"),
        Err(e) => info!(job = %id, operator, "web console: {action} refused: {e}"),
    }
    done.map_err(Refusal::from)
}

/// An operator's action on a queue; whether it changed anything.
pub fn queue_action(
    ctx: &Context,
    name: &str,
    action: &str,
    reason: Option<&str>,
    operator: &str,
) -> Result<bool, Refusal> {
    let admin = &ctx.admin;
    let done = match action {
        "pause" => admin.pause(name, operator),
        "resume" => admin.resume(name, operator),
        "refuse" => admin.refuse(name, reason.unwrap_or(""), operator),
        "accept" => admin.accept(name, operator),
        other => {
            return Err(Refusal::new(
                StatusCode::NOT_FOUND,
                format!("no queue action {other:?}: pause, resume, refuse or accept"),
            ));
        }
    };
    match &done {
        Ok(_) => info!(queue = %name, operator, "web console: {action}"),
        Err(e) => info!(queue = %name, operator, "web console: {action} refused: {e}"),
    }
    done.map_err(Refusal::from)
}
