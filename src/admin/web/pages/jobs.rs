//! `/jobs` and `/jobs/{id}`: the job list with its filters and paging, and one job with
//! its previews, film parameters, history and actions.

use super::*;
use crate::admin::identity::{ASSIGNABLE, Vr};

/// A job table: `table#ID`, a `tr[data-job]` per job with `td.state` and `a.job-link`;
/// a `td.pacs` column of each job's destinations when any job has some.
pub(super) fn jobs_table(b: &mut String, id: &str, jobs: &[JobView]) {
    let pacs = jobs.iter().any(|j| !j.destinations.is_empty());
    let _ = write!(
        b,
        "<div class=\"scroll\"><table id=\"{id}\"><thead><tr><th>Job</th><th>Queue</th>\
         <th>State</th><th>Calling AE</th><th>Label</th><th>Films × copies</th>\
         <th>Received</th><th>Updated</th><th>Attempts</th>{}<th>Last error</th></tr></thead><tbody>",
        if pacs { "<th>PACS</th>" } else { "" }
    );
    for j in jobs {
        let destinations = if pacs {
            let text: Vec<String> = j
                .destinations
                .iter()
                .map(|d| format!("{} {}", d.destination, d.state_text()))
                .collect();
            format!(
                "<td class=\"pacs\">{}</td>",
                or_dash(Some(&text.join(", ")))
            )
        } else {
            String::new()
        };
        let _ = write!(
            b,
            "<tr data-job=\"{id}\"><td><a class=\"job-link\" href=\"/jobs/{href}\">{id}</a></td>\
             <td>{queue}</td><td class=\"state state-{state}\">{state_text}</td><td>{ae}</td>\
             <td>{label}</td><td>{films} × {copies}</td><td>{created}</td><td>{updated}</td>\
             <td>{attempts}</td>{destinations}<td class=\"error\">{error}</td></tr>",
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

/// A job's identity (`dl#identity`), its PACS destinations (`table#destinations`, a
/// `tr[data-destination]` each), and for a held job waiting for one the assign form
/// (`form[data-action=assign]`, fields named by DICOM keyword).
fn pacs_sections(b: &mut String, job: &JobView, base: &str, csrf: &str, assign: bool) {
    if job.destinations.is_empty() && job.identity.is_none() {
        return;
    }
    b.push_str("<h2>Identity</h2><dl id=\"identity\" class=\"details\">");
    match job.identity.as_ref().filter(|i| !i.is_empty()) {
        Some(identity) => {
            for (keyword, value) in identity {
                let _ = write!(b, "<dt>{}</dt><dd>{}</dd>", esc(keyword), esc(value));
            }
        }
        None => b.push_str("<dt>–</dt><dd>none yet</dd>"),
    }
    b.push_str("</dl>");
    if assign {
        let mut fields = String::new();
        for (keyword, vr) in ASSIGNABLE {
            let (label, hint) = match vr {
                Vr::Lo => ("Patient ID", "maxlength=\"64\""),
                Vr::Pn => (
                    "Patient's Name",
                    "placeholder=\"Family^Given\" maxlength=\"194\"",
                ),
                Vr::Sh => ("Accession Number", "maxlength=\"16\""),
                Vr::Ui => ("Study Instance UID", "maxlength=\"64\" pattern=\"[0-9.]+\""),
                Vr::Da => (
                    "Birth date",
                    "placeholder=\"YYYYMMDD\" pattern=\"[0-9]{8}\"",
                ),
                Vr::Sex => ("Sex", "placeholder=\"M, F or O\" pattern=\"[MFO]\""),
            };
            let _ = write!(
                fields,
                "<label>{label} <input name=\"{keyword}\" {hint}></label>"
            );
        }
        b.push_str(&action_form(
            &format!("{base}/assign"),
            "assign",
            "Assign and release",
            csrf,
            &fields,
        ));
    }
    if job.destinations.is_empty() {
        return;
    }
    b.push_str(
        "<h2>PACS</h2><div class=\"scroll\"><table id=\"destinations\"><thead><tr>\
         <th>Destination</th><th>State</th><th>Attempts</th><th>Updated</th>\
         <th>Last error</th></tr></thead><tbody>",
    );
    for d in &job.destinations {
        let _ = write!(
            b,
            "<tr data-destination=\"{dest}\"><td>{dest}</td><td class=\"state\">{state}</td>\
             <td>{attempts}</td><td>{updated}</td><td class=\"error\">{error}</td></tr>",
            dest = esc(&d.destination),
            state = esc(&d.state_text()),
            attempts = d.attempts,
            updated = esc(&d.updated),
            error = or_dash(d.last_error.as_deref()),
        );
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
/// `form[data-action=cancel|retry|hold|release]` that apply, its identity and PACS
/// destinations ([`pacs_sections`]), and `ol#history`.
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
    let assign = detail.actions.iter().any(|a| a == "assign");
    pacs_sections(&mut b, job, &base, &csrf, assign);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::DestinationView;
    use crate::spool::{DestinationState, JobRow};

    fn job(identity: Option<&[(&str, &str)]>, destinations: Vec<DestinationView>) -> JobView {
        JobView {
            identity: identity.map(|i| {
                i.iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            }),
            destinations,
            ..JobView::from(&JobRow::sample(JobState::Storing))
        }
    }

    fn at(state: DestinationState, error: Option<&str>) -> DestinationView {
        DestinationView {
            destination: "PACS@p:104".into(),
            state,
            awaiting_commitment: false,
            attempts: 2,
            last_error: error.map(String::from),
            updated: "2026-01-01 00:00:00".into(),
            updated_ms: 0,
        }
    }

    #[test]
    fn a_job_page_shows_its_identity_destinations_and_the_assign_form_when_offered() {
        let mut b = String::new();
        let pending = at(DestinationState::Pending, Some("<refused>"));
        pacs_sections(&mut b, &job(None, vec![pending]), "/jobs/J", "tok", true);
        assert!(b.contains("<dl id=\"identity\""), "{b}");
        assert!(b.contains("none yet"), "{b}");
        assert!(
            b.contains("<form method=\"post\" action=\"/jobs/J/assign\" data-action=\"assign\">"),
            "{b}"
        );
        for (keyword, _) in ASSIGNABLE {
            assert!(b.contains(&format!("name=\"{keyword}\"")), "{keyword}: {b}");
        }
        assert!(b.contains("<tr data-destination=\"PACS@p:104\">"), "{b}");
        assert!(b.contains("&lt;refused&gt;"), "escaped: {b}");

        let mut b = String::new();
        let committed = at(DestinationState::Committed, None);
        let identity: &[(&str, &str)] = &[("PatientName", "Doe^<Jane>")];
        pacs_sections(
            &mut b,
            &job(Some(identity), vec![committed]),
            "/jobs/J",
            "t",
            false,
        );
        assert!(
            b.contains("<dt>PatientName</dt><dd>Doe^&lt;Jane&gt;</dd>"),
            "{b}"
        );
        assert!(!b.contains("data-action=\"assign\""), "{b}");
        assert!(b.contains("<td class=\"state\">committed</td>"), "{b}");

        let mut b = String::new();
        pacs_sections(&mut b, &job(None, vec![]), "/jobs/J", "t", false);
        assert!(b.is_empty(), "nothing for a job without a PACS: {b}");
    }
}
