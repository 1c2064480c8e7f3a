//! `/`: the queues with their status, state and actions, the server, the newest jobs.

use super::jobs::jobs_table;
use super::*;

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
        <th>Jobs</th><th>Films today (UTC)</th><th>Last error</th><th>Actions</th></tr></thead><tbody>",
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
