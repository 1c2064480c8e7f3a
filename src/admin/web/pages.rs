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

const CSS: &str = include_str!("assets/console.css");
const SCRIPT: &str = include_str!("assets/console.js");

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

/// `/`: `table#queues` with a `tr[data-queue]` per queue (`td.printer-status`,
/// `td.queue-state`, the forms `form[data-action=pause|resume|refuse|accept]` that apply),
/// the server's facts, and `table#recent-jobs` with a `tr[data-job]` per job.
pub async fn overview(
    State(state): State<AppState>,
    Extension(op): Extension<Operator>,
) -> Response {
    let loaded = blocking(&state, |ctx| {
        let queues = ctx.admin.queues()?;
        let recent = ctx.admin.jobs(&JobQuery {
            limit: Some(10),
            ..JobQuery::default()
        })?;
        Ok((queues, recent.jobs))
    })
    .await;
    let (queues, recent) = match loaded {
        Ok(v) => v,
        Err(r) => return refused(r),
    };
    let csrf = state.csrf.token(op.token_user());
    let mut b = String::new();
    b.push_str(
        "<h1>Queues</h1><div class=\"scroll\"><table id=\"queues\"><thead><tr>\
        <th>Queue</th><th>Printer</th><th>Status</th><th>Status info</th><th>State</th>\
        <th>Jobs</th><th>Films today</th><th>Last error</th><th>Actions</th></tr></thead><tbody>",
    );
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
         <dd id=\"uptime\">{}</dd><dt>Associations open</dt>\
         <dd id=\"associations-open\"><a href=\"/associations\">{}</a></dd></dl>",
        env!("CARGO_PKG_VERSION"),
        span(uptime),
        state.ctx.journal.open()
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
    let form = |action: &str, label: &str, extra: &str| {
        action_form(&format!("{base}/{action}"), action, label, csrf, extra)
    };
    let mut actions = if q.paused {
        form("resume", "Resume", "")
    } else {
        form("pause", "Pause", "")
    };
    if q.refusing.is_some() {
        actions.push_str(&form("accept", "Accept", ""));
    } else {
        actions.push_str(&form(
            "refuse",
            "Refuse",
            &format!(
                "<input name=\"reason\" placeholder=\"reason\" maxlength=\"{}\" required>",
                data::MAX_REASON
            ),
        ));
    }
    let last_error = match &q.last_error {
        None => "–".to_string(),
        Some(e) => format!(
            "<a href=\"/jobs/{}\">{}</a> {}",
            esc(&url(&e.job_id)),
            esc(&e.at),
            esc(&e.message)
        ),
    };
    let _ = write!(
        b,
        "<tr data-queue=\"{name}\"><td class=\"name\">{name}</td><td class=\"printer\">{printer}</td>\
         <td class=\"printer-status status-{status_class}\">{status}</td>\
         <td class=\"printer-status-info\">{info}</td><td class=\"queue-state\">{queue_state}</td>\
         <td class=\"jobs\">{jobs}</td><td class=\"films-today\">{films}</td>\
         <td class=\"last-error error\">{last_error}</td><td class=\"actions\">{actions}</td></tr>",
        name = esc(&q.name),
        printer = q
            .printer
            .as_deref()
            .map_or_else(|| "PDF archive".to_string(), esc),
        status_class = esc(&q.status.to_ascii_lowercase()),
        status = esc(&q.status),
        info = or_dash(Some(&q.status_info)),
        queue_state = esc(&q.state_text()),
        jobs = if jobs.is_empty() {
            "none".to_string()
        } else {
            jobs.join(", ")
        },
        films = q.films_printed_today,
    );
}

/// A job table: `table#ID`, a `tr[data-job]` per job with `td.state` and `a.job-link`.
fn jobs_table(b: &mut String, id: &str, jobs: &[JobView]) {
    let _ = write!(
        b,
        "<div class=\"scroll\"><table id=\"{id}\"><thead><tr><th>Job</th><th>Queue</th>\
         <th>State</th><th>Calling AE</th><th>Label</th><th>Films × copies</th>\
         <th>Received</th><th>Updated</th><th>Attempts</th><th>Last error</th></tr></thead><tbody>"
    );
    for j in jobs {
        let _ = write!(
            b,
            "<tr data-job=\"{id}\"><td><a class=\"job-link\" href=\"/jobs/{href}\">{id}</a></td>\
             <td>{queue}</td><td class=\"state state-{state}\">{state_text}</td><td>{ae}</td>\
             <td>{label}</td><td>{films} × {copies}</td><td>{created}</td><td>{updated}</td>\
             <td>{attempts}</td><td class=\"error\">{error}</td></tr>",
            id = esc(&j.id),
            href = esc(&url(&j.id)),
            queue = esc(&j.queue),
            state = esc(&j.state),
            state_text = esc(&state_text(j)),
            ae = esc(j.calling_ae.trim()),
            label = or_dash(Some(&j.label)),
            films = j.films,
            copies = j.copies,
            created = esc(&j.created),
            updated = esc(&j.updated),
            attempts = j.attempts,
            error = or_dash(j.last_error.as_deref()),
        );
    }
    if jobs.is_empty() {
        b.push_str("<tr class=\"empty\"><td colspan=\"10\">No jobs</td></tr>");
    }
    b.push_str("</tbody></table></div>");
}

/// `/jobs`: filters (queue, state, calling AE), `table#jobs`, and paging links.
pub async fn jobs(State(state): State<AppState>, Query(mut query): Query<JobQuery>) -> Response {
    let queues: Vec<String> = state
        .ctx
        .admin
        .queues
        .iter()
        .map(|(q, _)| q.clone())
        .collect();
    let explicit_limit = query.limit.is_some();
    let limit = query.limit.unwrap_or(data::DEFAULT_PAGE).clamp(1, 1000);
    query.limit = Some(limit);
    let q = query.clone();
    let page_data = match blocking(&state, move |ctx| Ok(ctx.admin.jobs(&q)?)).await {
        Ok(p) => p,
        Err(r) => return refused(r),
    };
    let q = &query;
    let mut b =
        String::from("<h1>Jobs</h1><form class=\"filters\" method=\"get\" action=\"/jobs\">");
    let select = |b: &mut String, name: &str, options: &[String], chosen: Option<&str>| {
        let _ = write!(
            b,
            "<label>{name} <select name=\"{name}\"><option value=\"\">all</option>"
        );
        for o in options {
            let selected = if chosen == Some(o.as_str()) {
                " selected"
            } else {
                ""
            };
            let _ = write!(b, "<option{selected}>{}</option>", esc(o));
        }
        b.push_str("</select></label>");
    };
    select(&mut b, "queue", &queues, q.queue.as_deref());
    let states: Vec<String> = JobState::ALL
        .iter()
        .map(|s| s.as_str().to_string())
        .collect();
    select(&mut b, "state", &states, q.state.as_deref());
    let _ = write!(
        b,
        "<label>calling AE <input name=\"calling_ae\" value=\"{}\" maxlength=\"16\" size=\"10\"></label>\
         <button type=\"submit\">Filter</button></form>",
        esc(q.calling_ae.as_deref().unwrap_or(""))
    );
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
        for (k, v) in [
            ("queue", &q.queue),
            ("state", &q.state),
            ("calling_ae", &q.calling_ae),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                params.push(format!("{k}={}", url(v)));
            }
        }
        if explicit_limit {
            params.push(format!("limit={limit}"));
        }
        esc(&format!("/jobs?{}", params.join("&")))
    };
    b.push_str("<nav class=\"paging\">");
    if q.offset > 0 {
        let _ = write!(
            b,
            "<a rel=\"prev\" href=\"{}\">Newer</a>",
            link(q.offset.saturating_sub(limit))
        );
    }
    if ((q.offset + shown) as u64) < page_data.total {
        let _ = write!(
            b,
            "<a rel=\"next\" href=\"{}\">Older</a>",
            link(q.offset + limit)
        );
    }
    b.push_str("</nav>");
    Html(page("Jobs", "/jobs", &b)).into_response()
}

/// The film parameters the modality asked for, one line.
fn film_params(p: &FilmParams) -> String {
    let mut parts = vec![
        p.display_format.clone(),
        p.film_size.clone(),
        p.orientation.clone(),
        p.medium.clone(),
        format!("magnification {}", p.magnification),
        format!(
            "density {:.2}–{:.2} OD",
            f64::from(p.min_density) / 100.0,
            f64::from(p.max_density) / 100.0
        ),
        format!("{} of {} image box(es)", p.images, p.image_boxes),
    ];
    if p.annotations > 0 {
        parts.push(format!("{} annotation(s)", p.annotations));
    }
    if p.color {
        parts.push("colour".into());
    }
    if p.trim {
        parts.push("trim".into());
    }
    parts.retain(|s| !s.trim().is_empty());
    esc(&parts.join(", "))
}

/// `/jobs/{id}`: `#job-state`, an `img.preview` per film, `a#download-pdf`, the forms
/// `form[data-action=cancel|retry|hold|release]` that apply, and `ol#history`.
pub async fn job(
    State(state): State<AppState>,
    Extension(op): Extension<Operator>,
    Path(id): Path<String>,
) -> Response {
    let detail = match blocking(&state, move |ctx| data::job(ctx, &id)).await {
        Ok(d) => d,
        Err(r) => return refused(r),
    };
    let job = &detail.job;
    let csrf = state.csrf.token(op.token_user());
    let href = esc(&url(&job.id));
    let mut b = format!(
        "<h1>Job {}</h1><p class=\"state-line\">State: <strong id=\"job-state\" class=\"state-{}\">{}</strong></p>",
        esc(&job.id),
        esc(&job.state),
        esc(&state_text(job))
    );
    b.push_str("<div class=\"actions\">");
    let base = format!("/jobs/{}", url(&job.id));
    for action in &detail.actions {
        let (label, extra) = match action.as_str() {
            "cancel" => ("Cancel", ""),
            "retry" => (
                "Print again",
                "<label><input type=\"checkbox\" name=\"force\" value=\"true\"> even if it may have printed</label>",
            ),
            "hold" => ("Hold", ""),
            "release" => ("Release", ""),
            _ => continue,
        };
        b.push_str(&action_form(
            &format!("{base}/{action}"),
            action,
            label,
            &csrf,
            extra,
        ));
    }
    b.push_str("</div>");
    if detail.archive_pdf.is_some() {
        let _ = write!(
            b,
            "<p><a id=\"download-pdf\" href=\"/jobs/{href}/pdf\" download>Download the PDF</a></p>"
        );
    }
    b.push_str("<div class=\"previews\">");
    for film in &detail.films {
        let n = film.number;
        let params = film.params.as_ref().map(film_params).unwrap_or_default();
        if film.preview.is_some() {
            let _ = write!(
                b,
                "<figure><img class=\"preview\" src=\"/jobs/{href}/films/{n}.png\" alt=\"film {n}\">\
                 <figcaption>Film {n}<br><span class=\"film-params\">{params}</span></figcaption></figure>"
            );
        } else {
            let _ = write!(
                b,
                "<figure class=\"no-preview\"><figcaption>Film {n} (no preview yet)<br>\
                 <span class=\"film-params\">{params}</span></figcaption></figure>"
            );
        }
    }
    b.push_str("</div>");
    let _ = write!(
        b,
        "<h2>Details</h2><dl class=\"details\"><dt>Queue</dt><dd>{}</dd><dt>Calling AE</dt><dd>{}</dd>\
         <dt>Film Session Label</dt><dd>{}</dd><dt>Films × copies</dt><dd>{} × {}</dd>\
         <dt>Priority</dt><dd>{}</dd><dt>Attempts</dt><dd>{}</dd><dt>Received</dt><dd>{}</dd>\
         <dt>Updated</dt><dd>{}</dd><dt>Printer job</dt><dd>{}</dd>\
         <dt>Notes</dt><dd>{}</dd><dt>Last error</dt><dd class=\"error\">{}</dd><dt>Printed again as</dt><dd>{}</dd></dl>",
        esc(&job.queue),
        esc(job.calling_ae.trim()),
        or_dash(Some(&job.label)),
        job.films,
        job.copies,
        esc(&job.priority),
        job.attempts,
        esc(&job.created),
        esc(&job.updated),
        or_dash(job.remote_id.as_deref()),
        or_dash(job.note.as_deref()),
        or_dash(job.last_error.as_deref()),
        match job.retried_as.as_deref() {
            Some(new) if !new.is_empty() =>
                format!("<a href=\"/jobs/{}\">{}</a>", esc(&url(new)), esc(new)),
            _ => "–".into(),
        },
    );
    b.push_str("<h2>History</h2><ol id=\"history\">");
    for h in &detail.history {
        let _ = write!(
            b,
            "<li data-event=\"{event}\"><time>{at}</time> {event}{detail}</li>",
            at = esc(&h.at),
            event = esc(&h.event),
            detail = h
                .detail
                .as_deref()
                .map(|d| format!(": {}", esc(d)))
                .unwrap_or_default()
        );
    }
    b.push_str("</ol>");
    Html(page(&format!("Job {}", job.id), "/jobs", &b)).into_response()
}

/// `/jobs/{id}/films/{n}.png`: the preview the archive wrote.
pub async fn preview(
    State(state): State<AppState>,
    Path((id, file)): Path<(String, String)>,
) -> Response {
    let Some(n) = file
        .strip_suffix(".png")
        .and_then(|n| n.parse::<usize>().ok())
    else {
        return refused(Refusal::new(StatusCode::NOT_FOUND, "no such film"));
    };
    let found = blocking(&state, move |ctx| {
        let detail = ctx.admin.job(&id)?;
        detail
            .films
            .into_iter()
            .find(|f| f.number == n)
            .and_then(|f| f.preview)
            .ok_or_else(|| {
                Refusal::new(
                    StatusCode::NOT_FOUND,
                    format!("job {id} has no preview of film {n}"),
                )
            })
    })
    .await;
    let path = match found {
        Ok(p) => p,
        Err(r) => return refused(r),
    };
    match tokio::fs::read(&path).await {
        Ok(bytes) => (
            [
                (header::CONTENT_TYPE, "image/png"),
                (header::CACHE_CONTROL, "private, max-age=3600"),
            ],
            bytes,
        )
            .into_response(),
        Err(_) => refused(Refusal::new(
            StatusCode::NOT_FOUND,
            "no preview of this film (yet)",
        )),
    }
}

/// `/jobs/{id}/pdf`: the archived PDF, as a download.
pub async fn pdf(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let found = blocking(&state, move |ctx| {
        data::job(ctx, &id)?.archive_pdf.ok_or_else(|| {
            Refusal::new(
                StatusCode::NOT_FOUND,
                format!("job {id} has no archived PDF"),
            )
        })
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
        .map(|c| {
            if c.is_ascii_alphanumeric() || "-_.".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let stream = futures_util::stream::unfold(file, |mut file| async move {
        use tokio::io::AsyncReadExt;
        let mut buf = vec![0u8; 64 * 1024];
        match file.read(&mut buf).await {
            Ok(0) => None,
            Ok(n) => {
                buf.truncate(n);
                Some((Ok::<_, std::io::Error>(axum::body::Bytes::from(buf)), file))
            }
            Err(e) => Some((Err(e), file)),
        }
    });
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_string()),
            (
                header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"{name}\""),
            ),
        ],
        axum::body::Body::from_stream(stream),
    )
        .into_response()
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

/// Whether the form carries its user's token; else the refusal (403).
fn check_token(state: &AppState, op: &Operator, form: &ActionForm) -> Result<(), Refusal> {
    if state.csrf.check(op.token_user(), &form.csrf) {
        Ok(())
    } else {
        Err(Refusal::new(
            StatusCode::FORBIDDEN,
            "this form is not from this console (or from before a restart): reload the page",
        ))
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
        return refused(r);
    }
    let force = form
        .force
        .as_deref()
        .is_some_and(|f| f == "true" || f == "on");
    let operator = op.name();
    match blocking(&state, move |ctx| {
        data::job_action(ctx, &id, &action, force, &operator)
    })
    .await
    {
        Ok(next) => Redirect::to(&format!("/jobs/{}", url(&next))).into_response(),
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
        return refused(r);
    }
    let operator = op.name();
    let reason = form.reason;
    match blocking(&state, move |ctx| {
        data::queue_action(ctx, &name, &action, reason.as_deref(), &operator)
    })
    .await
    {
        Ok(_) => Redirect::to("/").into_response(),
        Err(r) => refused(r),
    }
}

/// `/associations`: `table#associations`, a `tr[data-assoc]` per association, newest
/// first.
pub async fn associations(State(state): State<AppState>) -> Response {
    let records = state.ctx.journal.snapshot(ASSOCIATIONS_SHOWN);
    let now = crate::time::now_ms();
    let mut b = format!(
        "<h1>Associations</h1><p class=\"count\">{} open; the last {} kept</p>\
         <div class=\"scroll\"><table id=\"associations\"><thead><tr><th>#</th><th>Address</th>\
         <th>Calling AE</th><th>Called AE</th><th>Started</th><th>Duration</th><th>Films</th>\
         <th>Outcome</th></tr></thead><tbody>",
        state.ctx.journal.open(),
        state.ctx.journal.capacity()
    );
    for r in &records {
        let took = r
            .ended_ms
            .unwrap_or(now)
            .saturating_sub(r.started_ms)
            .max(0) as u64;
        let _ = write!(
            b,
            "<tr data-assoc=\"{id}\" class=\"outcome-{kind}\"><td>{id}</td><td>{peer}{tls}</td><td>{calling}</td>\
             <td>{called}</td><td>{started}</td><td>{took}</td><td>{films}</td>\
             <td class=\"outcome\">{outcome}</td></tr>",
            id = r.id,
            kind = r.outcome.kind(),
            peer = esc(&r.peer.to_string()),
            tls = if r.tls { " (TLS)" } else { "" },
            calling = or_dash(Some(&r.calling_ae)),
            called = or_dash(Some(&r.called_ae)),
            started = esc(&crate::admin::utc(r.started_ms)),
            took = if took < 1000 {
                format!("{took} ms")
            } else {
                span(took / 1000)
            },
            films = r.films,
            outcome = esc(&r.outcome.to_string()),
        );
    }
    if records.is_empty() {
        b.push_str("<tr class=\"empty\"><td colspan=\"8\">No associations yet</td></tr>");
    }
    b.push_str("</tbody></table></div>");
    Html(page("Associations", "/associations", &b)).into_response()
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
