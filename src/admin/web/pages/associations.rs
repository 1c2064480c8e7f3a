//! `/associations`: the last associations from the journal, newest first.

use super::*;

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
