//! The JSON API under `/api/v1/` (the pages' data and actions, for scripts), and the
//! probes: `/metrics` for Prometheus, `/healthz` (alive) and `/readyz` (listener bound,
//! spool writable, disk above `min_free_mib`). Errors are `{"error": "…"}` with 400, 404,
//! 409 (or 415 for a POST that is not JSON).

use super::data::{self, Refusal, blocking};
use super::{AppState, Operator};
use crate::admin::JobQuery;
use crate::metrics::Scrape;
use crate::spool::Identity;
use crate::spool::State as JobState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::{Extension, Path, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use std::sync::atomic::Ordering;

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.status, Json(json!({ "error": self.message }))).into_response()
    }
}

/// `GET /api/v1/jobs?queue=&state=&calling_ae=&offset=&limit=`: a page of jobs, newest
/// first, with the total that match.
pub async fn jobs(State(state): State<AppState>, Query(query): Query<JobQuery>) -> Response {
    match blocking(&state, move |ctx| Ok(ctx.admin.jobs(&query)?)).await {
        Ok(page) => Json(page).into_response(),
        Err(r) => r.into_response(),
    }
}

/// `GET /api/v1/jobs/{id}`: the job (with its identity and its state at each PACS
/// destination), its history, films, PDF and the actions that apply,
/// with the console's URLs of the previews (`films[].preview_url`) and of the PDF
/// (`pdf_url`) where they exist.
pub async fn job(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    let detail = match blocking(&state, move |ctx| data::job(ctx, &id)).await {
        Ok(detail) => detail,
        Err(r) => return r.into_response(),
    };
    let base = format!("/jobs/{}", super::html::url(&detail.job.id));
    let mut value = serde_json::to_value(&detail).unwrap_or_default();
    if detail.archive_pdf.is_some() {
        value["pdf_url"] = json!(format!("{base}/pdf"));
    }
    if let Some(films) = value["films"].as_array_mut() {
        for (film, view) in films.iter_mut().zip(&detail.films) {
            if view.preview.is_some() {
                film["preview_url"] = json!(format!("{base}/films/{}.png", view.number));
            }
        }
    }
    Json(value).into_response()
}

pub async fn queues(State(state): State<AppState>) -> Response {
    match blocking(&state, |ctx| Ok(ctx.admin.queues()?)).await {
        Ok(queues) => Json(json!({ "queues": queues })).into_response(),
        Err(r) => r.into_response(),
    }
}

/// `GET /api/v1/associations?limit=`: the journal, newest first.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct AssociationQuery {
    pub limit: Option<usize>,
}

pub async fn associations(
    State(state): State<AppState>,
    Query(query): Query<AssociationQuery>,
) -> Response {
    let journal = &state.ctx.journal;
    let limit = query.limit.unwrap_or(journal.capacity());
    Json(json!({
        "open": journal.open(),
        "associations": journal.snapshot(limit),
    }))
    .into_response()
}

/// The body of an action: all fields optional.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ActionBody {
    /// Retry: print again also when it was printed again already or reached its printer.
    pub force: bool,
    /// Refuse: why, for the modalities (Error Comment, at most 64 characters).
    pub reason: Option<String>,
    /// Assign: the identity given, by DICOM keyword (`{"PatientID": "123", …}`).
    pub identity: Identity,
}

/// The action's body, if the request is JSON: `Content-Type: application/json` (which a
/// cross-site HTML form cannot send, and a script on another site cannot without a CORS
/// preflight this server never answers); an empty body is `{}`.
fn action_body(headers: &HeaderMap, body: &Bytes) -> Result<ActionBody, Refusal> {
    let json = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("application/json"));
    if !json {
        return Err(Refusal::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "send Content-Type: application/json",
        ));
    }
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(ActionBody::default());
    }
    serde_json::from_slice(body)
        .map_err(|e| Refusal::new(StatusCode::BAD_REQUEST, format!("bad JSON body: {e}")))
}

/// `POST /api/v1/jobs/{id}/{cancel|retry|hold|release|assign}`; assign's body is
/// `{"identity": {"PatientID": "…", …}}`.
pub async fn job_action(
    State(state): State<AppState>,
    Extension(op): Extension<Operator>,
    Path((id, action)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = match action_body(&headers, &body) {
        Ok(b) => b,
        Err(r) => return r.into_response(),
    };
    let operator = op.name();
    let input = data::JobInput {
        force: body.force,
        identity: body.identity,
    };
    match blocking(&state, move |ctx| {
        data::job_action(ctx, &id, &action, &input, &operator)
    })
    .await
    {
        Ok(id) => Json(json!({ "ok": true, "id": id })).into_response(),
        Err(r) => r.into_response(),
    }
}

/// `POST /api/v1/queues/{name}/{pause|resume|refuse|accept}`.
pub async fn queue_action(
    State(state): State<AppState>,
    Extension(op): Extension<Operator>,
    Path((name, action)): Path<(String, String)>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let body = match action_body(&headers, &body) {
        Ok(b) => b,
        Err(r) => return r.into_response(),
    };
    let operator = op.name();
    let queue = name.clone();
    match blocking(&state, move |ctx| {
        data::queue_action(ctx, &queue, &action, body.reason.as_deref(), &operator)
    })
    .await
    {
        Ok(changed) => {
            Json(json!({ "ok": true, "queue": name, "changed": changed })).into_response()
        }
        Err(r) => r.into_response(),
    }
}

/// `GET /metrics`: Prometheus text format 0.0.4, the scrape-time values read off the
/// runtime's threads.
pub async fn metrics(State(state): State<AppState>) -> Response {
    let text = blocking(&state, |ctx| Ok(ctx.metrics.encode(&scrape(ctx)))).await;
    match text {
        Ok(text) => ([(header::CONTENT_TYPE, crate::metrics::CONTENT_TYPE)], text).into_response(),
        Err(r) => r.into_response(),
    }
}

/// The scrape-time values of the metrics: the spool's job counts (a database query, so
/// off the runtime's threads), each queue's Printer Status and the spool file system's
/// free bytes.
fn scrape(ctx: &super::Context) -> Scrape {
    let admin = &ctx.admin;
    let counts = admin.spool.counts().unwrap_or_else(|e| {
        tracing::warn!("metrics: counting the spool's jobs: {e}");
        Default::default()
    });
    let queues = ctx.metrics.queues();
    let jobs = queues
        .iter()
        .flat_map(|queue| {
            let by_state = counts.get(queue);
            JobState::ALL.into_iter().map(move |state| {
                let n = by_state.and_then(|m| m.get(&state)).copied().unwrap_or(0);
                (queue.clone(), state, n)
            })
        })
        .collect();
    Scrape {
        jobs,
        printers: queues
            .iter()
            .map(|q| (q.clone(), admin.board.get(q).status))
            .collect(),
        spool_free_bytes: crate::spool::payload::free_bytes(&ctx.data_dir.spool()).ok(),
    }
}

pub async fn healthz() -> Response {
    ([(header::CONTENT_TYPE, "text/plain")], "ok\n").into_response()
}

/// `/readyz`: 200 when filmd can take prints (its DICOM listeners accept, the spool's
/// directory takes a file, and the disk has more than `min_free_mib` free), else 503;
/// the body says which check failed.
pub async fn readyz(State(state): State<AppState>) -> Response {
    let accepting = state.ctx.accepting.load(Ordering::Relaxed);
    let checks = blocking(&state, |ctx| {
        let spool = ctx.data_dir.spool();
        // A name of its own per probe: two probes at once must not remove each other's file.
        let probe = spool.join(format!(
            ".readyz-{}-{:016x}",
            std::process::id(),
            rand::random::<u64>()
        ));
        let writable =
            std::fs::write(&probe, b"ready").is_ok() && std::fs::remove_file(&probe).is_ok();
        let free = crate::spool::payload::free_bytes(&spool).ok();
        Ok((writable, free, ctx.min_free_mib))
    })
    .await;
    let (writable, free, min_free_mib) = checks.unwrap_or((false, None, 0));
    let disk = free.is_some_and(|f| f >= min_free_mib.saturating_mul(1 << 20));
    let ready = accepting && writable && disk;
    let status = if ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        status,
        Json(json!({
            "ready": ready,
            "listener": accepting,
            "spool_writable": writable,
            "disk_free_bytes": free,
            "min_free_bytes": min_free_mib.saturating_mul(1 << 20),
        })),
    )
        .into_response()
}
