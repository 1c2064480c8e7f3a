//! The console's HTML pages, their form actions, the film previews and PDFs, the
//! server-sent events that refresh them, and the embedded CSS and script. The element ids,
//! classes and `data-` attributes named in each page's doc are stable: the browser test
//! finds its way by them.

use super::data::{self, Refusal, blocking};
use super::html::{action_form, esc, or_dash, page, span, url};
use super::{AppState, Operator};
use crate::admin::{JobQuery, JobView, QueueView};
use crate::spool::State as JobState;
use crate::spool::store::FilmParams;
use axum::extract::{Extension, Form, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Redirect, Response};
use std::fmt::Write;
use std::time::{Duration, SystemTime};

mod actions;
mod associations;
mod files;
mod jobs;
mod overview;

pub use actions::{job_action, queue_action};
pub use associations::associations;
pub use files::{pdf, preview};
pub use jobs::{job, jobs};
pub use overview::overview;

const CSS: &str = include_str!("../assets/console.css");
const SCRIPT: &str = include_str!("../assets/console.js");

/// Shortest time between two change events to one browser: a busy spool changes many
/// times a second, and the pages need not.
const EVENT_INTERVAL: Duration = Duration::from_secs(1);
/// Associations the page lists (the journal keeps the last 500).
const ASSOCIATIONS_SHOWN: usize = 500;

pub async fn css() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        CSS,
    )
        .into_response()
}

pub async fn script() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=300"),
        ],
        SCRIPT,
    )
        .into_response()
}

pub async fn not_found() -> Response {
    refused(Refusal::new(StatusCode::NOT_FOUND, "no such page"))
}

/// A refusal as a page.
fn refused(r: Refusal) -> Response {
    let body = format!(
        "<h1>{}</h1><p class=\"error\">{}</p><p><a href=\"/\">Back to the overview</a></p>",
        r.status.as_u16(),
        esc(&r.message)
    );
    (r.status, Html(page("Error", "", &body))).into_response()
}

/// A job's state as the tables show it: the spool's state, and ` (held)` when held.
fn state_text(job: &JobView) -> String {
    if job.held {
        format!("{} (held)", job.state)
    } else {
        job.state.clone()
    }
}

/// `/events`: server-sent events, a `change` event at most once per [`EVENT_INTERVAL`]
/// when what the pages show has changed.
pub async fn events(State(state): State<AppState>) -> Response {
    let receiver = state.changes.subscribe();
    let stream = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver.changed().await.ok()?;
        tokio::time::sleep(EVENT_INTERVAL).await;
        let version = *receiver.borrow_and_update();
        Some((
            Ok::<_, std::convert::Infallible>(
                Event::default().event("change").data(version.to_string()),
            ),
            receiver,
        ))
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}
