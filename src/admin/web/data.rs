//! What the pages and the API show and do, asked of the [`Admin`](crate::admin::Admin):
//! one place for both, so that a page and its JSON never disagree. Blocking (the spool's
//! database): handlers call it through [`blocking`].

use super::{AppState, Context};
use crate::admin::{JobView, QueueView, Request};
use crate::spool::{JobFilter, JobRow, State};
use axum::http::StatusCode;

/// Most jobs one page or API call lists.
pub const MAX_PAGE: usize = 500;
/// Jobs a page lists unless asked otherwise.
pub const DEFAULT_PAGE: usize = 50;

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

    fn internal(e: impl std::fmt::Display) -> Refusal {
        Refusal::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string())
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
        .unwrap_or_else(|e| Err(Refusal::internal(e)))
}

/// Which jobs: the filters of the jobs page and of `GET /api/v1/jobs`.
#[derive(Debug, Clone, Default, serde::Deserialize)]
#[serde(default)]
pub struct JobQuery {
    pub queue: Option<String>,
    pub state: Option<String>,
    pub calling_ae: Option<String>,
    pub offset: usize,
    pub limit: Option<usize>,
}

impl JobQuery {
    /// Empty form fields mean no filter.
    fn normalized(&self) -> JobQuery {
        let keep = |s: &Option<String>| s.as_ref().map(|s| s.trim().to_string()).filter(|s| !s.is_empty());
        JobQuery {
            queue: keep(&self.queue),
            state: keep(&self.state),
            calling_ae: keep(&self.calling_ae),
            offset: self.offset,
            limit: self.limit,
        }
    }

    pub fn limit(&self) -> usize {
        self.limit.unwrap_or(DEFAULT_PAGE).clamp(1, MAX_PAGE)
    }
}

/// A page of jobs, newest first, and how many match in all.
#[derive(Debug, Clone)]
pub struct JobPage {
    pub query: JobQuery,
    pub jobs: Vec<JobRow>,
    pub total: u64,
}

pub fn jobs(ctx: &Context, query: &JobQuery) -> Result<JobPage, Refusal> {
    let query = query.normalized();
    let state = match query.state.as_deref() {
        None => None,
        Some(s) => Some(
            State::parse(s)
                .ok_or_else(|| Refusal::new(StatusCode::BAD_REQUEST, format!("no job state {s:?}")))?,
        ),
    };
    let limit = query.limit();
    let rows = ctx
        .admin
        .spool
        .jobs(&JobFilter {
            queue: query.queue.clone(),
            state,
            limit: crate::admin::MAX_LIMIT,
        })
        .map_err(Refusal::internal)?;
    let matching: Vec<JobRow> = rows
        .into_iter()
        .filter(|r| {
            query
                .calling_ae
                .as_deref()
                .is_none_or(|ae| r.calling_ae.trim() == ae)
        })
        .collect();
    let total = matching.len() as u64;
    let jobs = matching.into_iter().skip(query.offset).take(limit).collect();
    Ok(JobPage { query, jobs, total })
}

pub fn job(ctx: &Context, id: &str) -> Result<JobRow, Refusal> {
    ctx.admin
        .spool
        .job(id)
        .map_err(Refusal::internal)?
        .ok_or_else(|| Refusal::new(StatusCode::NOT_FOUND, format!("no job {id}")))
}

pub fn job_view(ctx: &Context, id: &str) -> Result<JobView, Refusal> {
    job(ctx, id).map(|row| JobView::from(&row))
}

pub fn queues(ctx: &Context) -> Result<Vec<QueueView>, Refusal> {
    let answer = ctx.admin.answer(Request::Queues, "web console");
    match answer.error {
        Some(e) => Err(Refusal::internal(e)),
        None => Ok(answer.queues.unwrap_or_default()),
    }
}

/// An operator's action on a job: what it did (the new job's ID for a retry).
pub fn job_action(
    ctx: &Context,
    id: &str,
    action: &str,
    force: bool,
    operator: &str,
) -> Result<Option<String>, Refusal> {
    let request = match action {
        "cancel" => Request::Cancel { id: id.into() },
        "retry" => Request::Retry {
            id: id.into(),
            force,
        },
        "hold" | "release" => {
            job(ctx, id)?;
            return Err(Refusal::new(
                StatusCode::NOT_IMPLEMENTED,
                format!("{action} is not available yet"),
            ));
        }
        other => {
            return Err(Refusal::new(
                StatusCode::NOT_FOUND,
                format!("no job action {other:?}: cancel, retry, hold or release"),
            ));
        }
    };
    let answer = ctx.admin.answer(request, operator);
    match answer.error {
        None => Ok(answer.id),
        Some(e) => {
            // Refused for a job that exists: a conflict with its state.
            job(ctx, id)?;
            Err(Refusal::new(StatusCode::CONFLICT, e))
        }
    }
}

/// An operator's action on a queue.
pub fn queue_action(
    ctx: &Context,
    name: &str,
    action: &str,
    reason: Option<&str>,
    operator: &str,
) -> Result<(), Refusal> {
    let _ = (reason, operator);
    if !ctx.admin.queues.iter().any(|(q, _)| q == name) {
        return Err(Refusal::new(
            StatusCode::NOT_FOUND,
            format!("no queue named {name}"),
        ));
    }
    match action {
        "pause" | "resume" | "refuse" | "accept" => Err(Refusal::new(
            StatusCode::NOT_IMPLEMENTED,
            format!("{action} is not available yet"),
        )),
        other => Err(Refusal::new(
            StatusCode::NOT_FOUND,
            format!("no queue action {other:?}: pause, resume, refuse or accept"),
        )),
    }
}

/// The archived PDF of `row`, if its queue keeps one and the file is there: the path the
/// archive noted, and only inside the queue's archive directory.
pub fn archived_pdf(ctx: &Context, row: &JobRow) -> Option<std::path::PathBuf> {
    let dir = ctx.archives.get(&row.queue)?;
    let note = row.note.as_deref()?;
    let path = note
        .split("; ")
        .find_map(|part| part.strip_prefix("archived as "))
        .map(std::path::PathBuf::from)?;
    let dir = dir.canonicalize().ok()?;
    let path = path.canonicalize().ok()?;
    (path.starts_with(&dir) && path.is_file()).then_some(path)
}

/// Films of `row` whose preview exists, 1-based.
pub fn previews(ctx: &Context, row: &JobRow) -> Vec<u32> {
    (1..=row.films.min(1000))
        .filter(|n| ctx.data_dir.preview(&row.id, *n as usize).is_file())
        .collect()
}
