//! The console's HTML pages, their form actions, the film previews and PDFs, the
//! server-sent events that refresh them, and the embedded CSS and script. The element ids,
//! classes and `data-` attributes named in each page's doc are stable: the browser test
//! finds its way by them.

use super::data::{self, JobQuery, Refusal, blocking};
use super::html::{action_form, esc, or_dash, page, span, time, url};
use super::{AppState, Operator};
use crate::admin::QueueView;
use crate::spool::{JobRow, State as JobState};
use axum::extract::{Extension, Form, Path, Query, State};
use axum::http::{StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Redirect, Response};
use std::fmt::Write;
use std::time::{Duration, SystemTime};

const CSS: &str = include_str!("assets/console.css");
const SCRIPT: &str = include_str!("assets/console.js");

/// Shortest time between two change events to one browser: a busy spool changes many
/// times a second, and the pages need not.
const EVENT_INTERVAL: Duration = Duration::from_secs(1);

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

fn state_text(row: &JobRow) -> String {
    row.state.as_str().to_string()
}

/// `/`: `table#queues` with a `tr[data-queue]` per queue (`td.printer-status`,
/// `td.queue-state`, the forms `form[data-action=pause|resume|refuse|accept]`), the
/// server's facts, and `table#recent-jobs` with a `tr[data-job]` per job.
pub async fn overview(State(state): State<AppState>, Extension(op): Extension<Operator>) -> Response {
    let loaded = blocking(&state, |ctx| {
        let queues = data::queues(ctx)?;
        let recent = data::jobs(
            ctx,
            &JobQuery {
                limit: Some(10),
                ..JobQuery::default()
            },
        )?;
        Ok((queues, recent.jobs))
    })
    .await;
    let (queues, recent) = match loaded {
        Ok(v) => v,
        Err(r) => return refused(r),
    };
    let csrf = state.csrf.token(op.token_user());
    let mut b = String::new();
    b.push_str("<h1>Queues</h1><div class=\"scroll\"><table id=\"queues\"><thead><tr>\
        <th>Queue</th><th>Printer</th><th>Status</th><th>Status info</th><th>State</th>\
        <th>Jobs</th><th>Films today</th><th>Last error</th><th>Actions</th></tr></thead><tbody>");
    for q in &queues {
        queue_row(&mut b, q, &csrf);
    }
    b.push_str("</tbody></table></div>");
    let uptime = SystemTime::now()
        .duration_since(state.ctx.started)
        .unwrap_or_default()
        .as_secs();
    let _ = write!(
        b,
        "<h2>Server</h2><dl id=\"server\"><dt>Version</dt><dd>{}</dd><dt>Up for</dt>\
         <dd id=\"uptime\">{}</dd><dt>Associations open</dt><dd id=\"associations-open\">{}</dd></dl>",
        env!("CARGO_PKG_VERSION"),
        span(uptime),
        "–"
    );
    b.push_str("<h2>Recent jobs</h2>");
    jobs_table(&mut b, "recent-jobs", &recent);
    b.push_str("<p><a href=\"/jobs\">All jobs</a></p>");
    Html(page("Overview", "/", &b)).into_response()
}

fn queue_row(b: &mut String, q: &QueueView, csrf: &str) {
    let jobs: Vec<String> = q
        .jobs
        .iter()
        .filter(|(_, n)| **n > 0)
        .map(|(s, n)| format!("{} {n}", esc(s)))
        .collect();
    let base = format!("/queues/{}", url(&q.name));
    let mut actions = action_form(&format!("{base}/pause"), "pause", "Pause", csrf, "");
    actions.push_str(&action_form(
        &format!("{base}/refuse"),
        "refuse",
        "Refuse",
        csrf,
        "<input name=\"reason\" placeholder=\"reason\" maxlength=\"64\" required>",
    ));
    let _ = write!(
        b,
        "<tr data-queue=\"{name}\"><td class=\"name\">{name}</td><td class=\"printer\">{printer}</td>\
         <td class=\"printer-status status-{status_class}\">{status}</td>\
         <td class=\"printer-status-info\">{info}</td><td class=\"queue-state\">accepting</td>\
         <td class=\"jobs\">{jobs}</td><td class=\"films-today\">–</td>\
         <td class=\"last-error\">–</td><td class=\"actions\">{actions}</td></tr>",
        name = esc(&q.name),
        printer = q
            .printer
            .as_deref()
            .map_or_else(|| "PDF archive".to_string(), esc),
        status_class = esc(&q.status.to_ascii_lowercase()),
        status = esc(&q.status),
        info = or_dash(Some(&q.status_info)),
        jobs = if jobs.is_empty() {
            "none".to_string()
        } else {
            jobs.join(", ")
        },
    );
}

/// A job table: `table#ID`, a `tr[data-job]` per job with `td.state` and `a.job-link`.
fn jobs_table(b: &mut String, id: &str, rows: &[JobRow]) {
    let _ = write!(
        b,
        "<div class=\"scroll\"><table id=\"{id}\"><thead><tr><th>Job</th><th>Queue</th>\
         <th>State</th><th>Calling AE</th><th>Label</th><th>Films × copies</th>\
         <th>Received</th><th>Updated</th><th>Attempts</th><th>Last error</th></tr></thead><tbody>"
    );
    for r in rows {
        let _ = write!(
            b,
            "<tr data-job=\"{id}\"><td><a class=\"job-link\" href=\"/jobs/{href}\">{id}</a></td>\
             <td>{queue}</td><td class=\"state state-{state}\">{state_text}</td><td>{ae}</td>\
             <td>{label}</td><td>{films} × {copies}</td><td>{created}</td><td>{updated}</td>\
             <td>{attempts}</td><td class=\"error\">{error}</td></tr>",
            id = esc(&r.id),
            href = esc(&url(&r.id)),
            queue = esc(&r.queue),
            state = r.state.as_str(),
            state_text = esc(&state_text(r)),
            ae = esc(r.calling_ae.trim()),
            label = or_dash(Some(&r.label)),
            films = r.films,
            copies = r.copies,
            created = time(r.created_ms),
            updated = time(r.updated_ms),
            attempts = r.attempts,
            error = or_dash(r.last_error.as_deref()),
        );
    }
    if rows.is_empty() {
        b.push_str("<tr class=\"empty\"><td colspan=\"10\">No jobs</td></tr>");
    }
    b.push_str("</tbody></table></div>");
}

/// `/jobs`: filters (queue, state, calling AE), `table#jobs`, and paging links.
pub async fn jobs(State(state): State<AppState>, Query(query): Query<JobQuery>) -> Response {
    let queues: Vec<String> = state.ctx.admin.queues.iter().map(|(q, _)| q.clone()).collect();
    let page_data = match blocking(&state, move |ctx| data::jobs(ctx, &query)).await {
        Ok(p) => p,
        Err(r) => return refused(r),
    };
    let q = &page_data.query;
    let mut b = String::from("<h1>Jobs</h1><form class=\"filters\" method=\"get\" action=\"/jobs\">");
    let select = |b: &mut String, name: &str, options: &[String], chosen: Option<&str>| {
        let _ = write!(b, "<label>{name} <select name=\"{name}\"><option value=\"\">all</option>");
        for o in options {
            let selected = if chosen == Some(o.as_str()) { " selected" } else { "" };
            let _ = write!(b, "<option{selected}>{}</option>", esc(o));
        }
        b.push_str("</select></label>");
    };
    select(&mut b, "queue", &queues, q.queue.as_deref());
    let states: Vec<String> = JobState::ALL.iter().map(|s| s.as_str().to_string()).collect();
    select(&mut b, "state", &states, q.state.as_deref());
    let _ = write!(
        b,
        "<label>calling AE <input name=\"calling_ae\" value=\"{}\" maxlength=\"16\" size=\"10\"></label>\
         <button type=\"submit\">Filter</button></form>",
        esc(q.calling_ae.as_deref().unwrap_or(""))
    );
    let limit = q.limit();
    let shown = page_data.jobs.len();
    let _ = write!(
        b,
        "<p class=\"count\">{} job(s){}</p>",
        page_data.total,
        if shown > 0 {
            format!(", {} to {} shown", q.offset + 1, q.offset + shown)
        } else {
            String::new()
        }
    );
    jobs_table(&mut b, "jobs", &page_data.jobs);
    let link = |offset: usize| {
        let mut params = vec![format!("offset={offset}")];
        for (k, v) in [("queue", &q.queue), ("state", &q.state), ("calling_ae", &q.calling_ae)] {
            if let Some(v) = v {
                params.push(format!("{k}={}", url(v)));
            }
        }
        if q.limit.is_some() {
            params.push(format!("limit={limit}"));
        }
        esc(&format!("/jobs?{}", params.join("&")))
    };
    b.push_str("<nav class=\"paging\">");
    if q.offset > 0 {
        let _ = write!(b, "<a rel=\"prev\" href=\"{}\">Newer</a>", link(q.offset.saturating_sub(limit)));
    }
    if (q.offset + shown) < page_data.total as usize {
        let _ = write!(b, "<a rel=\"next\" href=\"{}\">Older</a>", link(q.offset + limit));
    }
    b.push_str("</nav>");
    Html(page("Jobs", "/jobs", &b)).into_response()
}

/// `/jobs/{id}`: `#job-state`, an `img.preview` per film, `a#download-pdf`, the forms
/// `form[data-action=cancel|retry|hold|release]` that apply, and `ol#history`.
pub async fn job(
    State(state): State<AppState>,
    Extension(op): Extension<Operator>,
    Path(id): Path<String>,
) -> Response {
    let loaded = blocking(&state, move |ctx| {
        let row = data::job(ctx, &id)?;
        let pdf = data::archived_pdf(ctx, &row).is_some();
        let previews = data::previews(ctx, &row);
        Ok((row, pdf, previews))
    })
    .await;
    let (row, pdf, previews) = match loaded {
        Ok(v) => v,
        Err(r) => return refused(r),
    };
    let csrf = state.csrf.token(op.token_user());
    let id = esc(&row.id);
    let href = esc(&url(&row.id));
    let mut b = format!(
        "<h1>Job {id}</h1><p class=\"state-line\">State: <strong id=\"job-state\" class=\"state-{}\">{}</strong></p>",
        row.state.as_str(),
        esc(&state_text(&row))
    );
    b.push_str("<div class=\"actions\">");
    let base = format!("/jobs/{}", url(&row.id));
    if !row.state.is_final() {
        b.push_str(&action_form(&format!("{base}/cancel"), "cancel", "Cancel", &csrf, ""));
    }
    if matches!(row.state, JobState::Failed | JobState::Cancelled) {
        b.push_str(&action_form(
            &format!("{base}/retry"),
            "retry",
            "Print again",
            &csrf,
            "<label><input type=\"checkbox\" name=\"force\" value=\"true\"> even if it may have printed</label>",
        ));
    }
    b.push_str("</div>");
    if pdf {
        let _ = write!(b, "<p><a id=\"download-pdf\" href=\"/jobs/{href}/pdf\">Download the PDF</a></p>");
    }
    b.push_str("<div class=\"previews\">");
    for n in &previews {
        let _ = write!(
            b,
            "<figure><img class=\"preview\" src=\"/jobs/{href}/films/{n}.png\" alt=\"film {n}\"><figcaption>Film {n}</figcaption></figure>"
        );
    }
    b.push_str("</div>");
    let _ = write!(
        b,
        "<h2>Details</h2><dl class=\"details\"><dt>Queue</dt><dd>{}</dd><dt>Calling AE</dt><dd>{}</dd>\
         <dt>Film Session Label</dt><dd>{}</dd><dt>Films × copies</dt><dd>{} × {}</dd>\
         <dt>Priority</dt><dd>{}</dd><dt>Attempts</dt><dd>{}</dd><dt>Received</dt><dd>{}</dd>\
         <dt>Updated</dt><dd>{}</dd><dt>Printer job</dt><dd>{}</dd><dt>Print Job UID</dt><dd>{}</dd>\
         <dt>Notes</dt><dd>{}</dd><dt>Last error</dt><dd class=\"error\">{}</dd><dt>Printed again as</dt><dd>{}</dd></dl>",
        esc(&row.queue),
        esc(row.calling_ae.trim()),
        or_dash(Some(&row.label)),
        row.films,
        row.copies,
        row.priority.as_str(),
        row.attempts,
        time(row.created_ms),
        time(row.updated_ms),
        or_dash(row.remote_id.as_deref()),
        esc(&row.uid),
        or_dash(row.note.as_deref()),
        or_dash(row.last_error.as_deref()),
        match row.retried_as.as_deref() {
            Some(new) if !new.is_empty() => format!("<a href=\"/jobs/{}\">{}</a>", esc(&url(new)), esc(new)),
            _ => "–".into(),
        },
    );
    let _ = write!(
        b,
        "<h2>History</h2><ol id=\"history\"><li><time>{}</time> received</li>{}</ol>",
        time(row.created_ms),
        if row.state != JobState::Received {
            format!("<li><time>{}</time> {}</li>", time(row.updated_ms), row.state.as_str())
        } else {
            String::new()
        }
    );
    Html(page(&format!("Job {}", row.id), "/jobs", &b)).into_response()
}

/// `/jobs/{id}/films/{n}.png`: the preview the archive wrote.
pub async fn preview(State(state): State<AppState>, Path((id, file)): Path<(String, String)>) -> Response {
    let Some(n) = file.strip_suffix(".png").and_then(|n| n.parse::<u32>().ok()) else {
        return refused(Refusal::new(StatusCode::NOT_FOUND, "no such film"));
    };
    let found = blocking(&state, move |ctx| {
        let row = data::job(ctx, &id)?;
        if n == 0 || n > row.films {
            return Err(Refusal::new(StatusCode::NOT_FOUND, format!("job {id} has {} film(s)", row.films)));
        }
        Ok(ctx.data_dir.preview(&row.id, n as usize))
    })
    .await;
    let path = match found {
        Ok(p) => p,
        Err(r) => return refused(r),
    };
    match tokio::fs::read(&path).await {
        Ok(bytes) => ([(header::CONTENT_TYPE, "image/png"), (header::CACHE_CONTROL, "private, max-age=3600")], bytes).into_response(),
        Err(_) => refused(Refusal::new(StatusCode::NOT_FOUND, "no preview of this film (yet)")),
    }
}

/// `/jobs/{id}/pdf`: the archived PDF, as a download.
pub async fn pdf(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let found = blocking(&state, move |ctx| {
        let row = data::job(ctx, &id)?;
        data::archived_pdf(ctx, &row)
            .ok_or_else(|| Refusal::new(StatusCode::NOT_FOUND, format!("job {id} has no archived PDF")))
    })
    .await;
    let path = match found {
        Ok(p) => p,
        Err(r) => return refused(r),
    };
    let file = match tokio::fs::File::open(&path).await {
        Ok(f) => f,
        Err(e) => return refused(Refusal::new(StatusCode::NOT_FOUND, format!("the PDF: {e}"))),
    };
    let name: String = path
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("job.pdf")
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' })
        .collect();
    let stream = futures_util::stream::unfold(file, |mut file| async move {
        use tokio::io::AsyncReadExt;
        let mut buf = vec![0u8; 64 * 1024];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(bytes_of(buf)), file))
            }
            Err(e) => Some((Err(e), file)),
        }
    });
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{name}\"")),
        ],
        axum::body::Body::from_stream(stream),
    )
        .into_response()
}

fn bytes_of(v: Vec<u8>) -> axum::body::Bytes {
    axum::body::Bytes::from(v)
}

/// The fields of an action form.
#[derive(Debug, serde::Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    reason: Option<String>,
    #[serde(default)]
    force: Option<String>,
}

fn check_token(state: &AppState, op: &Operator, form: &ActionForm) -> Result<(), Response> {
    if state.csrf.check(op.token_user(), &form.csrf) {
        Ok(())
    } else {
        Err(refused(Refusal::new(
            StatusCode::FORBIDDEN,
            "this form is not from this console (or from before a restart): reload the page",
        )))
    }
}

/// A job action from its page's form; back to the job's page (the new job's, for a retry).
pub async fn job_action(
    State(state): State<AppState>,
    Extension(op): Extension<Operator>,
    Path((id, action)): Path<(String, String)>,
    Form(form): Form<ActionForm>,
) -> Response {
    if let Err(r) = check_token(&state, &op, &form) {
        return r;
    }
    let force = form.force.as_deref().is_some_and(|f| f == "true" || f == "on");
    let operator = op.name();
    let back = id.clone();
    match blocking(&state, move |ctx| data::job_action(ctx, &id, &action, force, &operator)).await {
        Ok(new) => {
            state.changes.send_modify(|n| *n += 1);
            Redirect::to(&format!("/jobs/{}", url(new.as_deref().unwrap_or(&back)))).into_response()
        }
        Err(r) => refused(r),
    }
}

/// A queue action from the overview's form; back to the overview.
pub async fn queue_action(
    State(state): State<AppState>,
    Extension(op): Extension<Operator>,
    Path((name, action)): Path<(String, String)>,
    Form(form): Form<ActionForm>,
) -> Response {
    if let Err(r) = check_token(&state, &op, &form) {
        return r;
    }
    let operator = op.name();
    let reason = form.reason;
    match blocking(&state, move |ctx| data::queue_action(ctx, &name, &action, reason.as_deref(), &operator)).await {
        Ok(()) => {
            state.changes.send_modify(|n| *n += 1);
            Redirect::to("/").into_response()
        }
        Err(r) => refused(r),
    }
}

/// `/associations`: `table#associations`, a `tr[data-assoc]` per association.
pub async fn associations() -> Response {
    let b = "<h1>Associations</h1><div class=\"scroll\"><table id=\"associations\"><thead><tr>\
             <th>Address</th><th>Calling AE</th><th>Called AE</th><th>Started</th><th>Duration</th>\
             <th>Films</th><th>Outcome</th></tr></thead><tbody>\
             <tr class=\"empty\"><td colspan=\"7\">No associations recorded</td></tr></tbody></table></div>";
    Html(page("Associations", "/associations", b)).into_response()
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
            Ok::<_, std::convert::Infallible>(Event::default().event("change").data(version.to_string())),
            receiver,
        ))
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}
