//! The client side of the admin socket: `filmd jobs`, `job`, `queues` and the actions ask
//! the running server, and print its answers as tables for a terminal. With no server,
//! `filmd jobs` reads the spool database it left, read-only.

use super::protocol::{Answer, MAX_ANSWER, MAX_LIMIT, Request};
use super::{DestinationView, JobDetail, JobQuery, JobView, QueueView};
use crate::data_dir::DataDir;
use crate::spool::store::{JobFilter, JobStore, State};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::time::Duration;

/// Why a client request did not get an answer.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(
        "no filmd server answers on {path}: is it running with this data directory? ({source})"
    )]
    NotRunning {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("talking to {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("answer from {path}: {message}")]
    BadAnswer { path: PathBuf, message: String },
}

/// Asks the server that owns `data_dir`.
pub fn ask(data_dir: &DataDir, request: &Request) -> Result<Answer, ClientError> {
    let path = data_dir.admin_socket();
    let io = |source| ClientError::Io {
        path: path.clone(),
        source,
    };
    let mut stream = std::os::unix::net::UnixStream::connect(&path).map_err(|source| {
        ClientError::NotRunning {
            path: path.clone(),
            source,
        }
    })?;
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .map_err(io)?;
    stream
        .set_write_timeout(Some(Duration::from_secs(30)))
        .map_err(io)?;
    let mut line = serde_json::to_vec(request).map_err(|e| ClientError::BadAnswer {
        path: path.clone(),
        message: e.to_string(),
    })?;
    line.push(b'\n');
    stream.write_all(&line).map_err(io)?;
    let mut answer = Vec::new();
    BufReader::new(stream)
        .take(MAX_ANSWER as u64)
        .read_until(b'\n', &mut answer)
        .map_err(io)?;
    serde_json::from_slice(&answer).map_err(|e| ClientError::BadAnswer {
        path: path.clone(),
        message: e.to_string(),
    })
}

/// The jobs of a server that is not running, read from its spool database without
/// changing it (`filmd jobs` when no server answers on the socket).
pub fn jobs_offline(data_dir: &DataDir, query: &JobQuery) -> Result<Vec<JobView>, String> {
    let path = data_dir.database();
    if !path.exists() {
        return Err(format!("no spool database at {}", path.display()));
    }
    let state = match query.state.as_deref().map(|s| (s, State::parse(s))) {
        None => None,
        Some((_, Some(st))) => Some(st),
        Some((s, None)) => return Err(format!("no job state {s:?}")),
    };
    let store = JobStore::open_read_only(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    let rows = store
        .list(&JobFilter {
            queue: query.queue.clone(),
            state,
            calling_ae: query.calling_ae.clone(),
            limit: query.limit.unwrap_or(100).clamp(1, MAX_LIMIT),
            offset: query.offset,
        })
        .map_err(|e| format!("{}: {e}", path.display()))?;
    let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
    let mut destinations = store
        .destinations_of(&ids)
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(rows
        .iter()
        .map(|row| JobView {
            destinations: destinations
                .remove(&row.id)
                .unwrap_or_default()
                .iter()
                .map(DestinationView::from)
                .collect(),
            ..JobView::from(row)
        })
        .collect())
}

/// The job list as a table, for a terminal; with a PACS column (each destination and
/// its state) when a job has destinations.
pub fn jobs_table(jobs: &[JobView]) -> String {
    let header = [
        "ID",
        "QUEUE",
        "STATE",
        "PRI",
        "FILMS",
        "COPIES",
        "UPDATED (UTC)",
        "LABEL",
        "DETAIL",
    ]
    .map(String::from);
    let mut rows = vec![header];
    for j in jobs {
        let detail = [j.last_error.as_deref(), j.note.as_deref()]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join("; ");
        rows.push([
            j.id.clone(),
            j.queue.clone(),
            state_text(j),
            j.priority.clone(),
            j.films.to_string(),
            j.copies.to_string(),
            j.updated.clone(),
            j.label.clone(),
            detail,
        ]);
    }
    if jobs.iter().all(|j| j.destinations.is_empty()) {
        return table(&rows);
    }
    // PACS before DETAIL, the last column, which may be long.
    let with_pacs: Vec<[String; 10]> = rows
        .into_iter()
        .zip(std::iter::once(None).chain(jobs.iter().map(Some)))
        .map(|(row, job)| {
            let pacs = match job {
                None => "PACS".to_string(),
                Some(j) if j.destinations.is_empty() => "-".into(),
                Some(j) => j
                    .destinations
                    .iter()
                    .map(|d| format!("{} {}", d.destination, d.state_text()))
                    .collect::<Vec<_>>()
                    .join(", "),
            };
            let [id, queue, state, pri, films, copies, updated, label, detail] = row;
            [
                id, queue, state, pri, films, copies, updated, label, pacs, detail,
            ]
        })
        .collect();
    table(&with_pacs)
}

/// A job's state, with ` (held)` when an operator holds it.
fn state_text(j: &JobView) -> String {
    if j.held {
        format!("{} (held)", j.state)
    } else {
        j.state.clone()
    }
}

/// One job, its films and its history, for a terminal.
pub fn job_text(detail: &JobDetail) -> String {
    let j = &detail.job;
    let mut fields = vec![
        ["ID".to_string(), j.id.clone()],
        ["QUEUE".into(), j.queue.clone()],
        ["STATE".into(), state_text(j)],
        ["PRIORITY".into(), j.priority.clone()],
        ["CALLING AE".into(), j.calling_ae.clone()],
        ["LABEL".into(), j.label.clone()],
        ["FILMS".into(), format!("{} x {} copies", j.films, j.copies)],
        ["ATTEMPTS".into(), j.attempts.to_string()],
        ["CREATED (UTC)".into(), j.created.clone()],
        ["UPDATED (UTC)".into(), j.updated.clone()],
    ];
    let optional = [
        ("PRINTER JOB", &j.remote_id),
        ("LAST ERROR", &j.last_error),
        ("NOTE", &j.note),
        ("PRINTED AGAIN AS", &j.retried_as),
    ];
    for (name, value) in optional {
        if let Some(v) = value {
            fields.push([name.into(), v.clone()]);
        }
    }
    if let Some(pdf) = &detail.archive_pdf {
        fields.push(["PDF".into(), pdf.display().to_string()]);
    }
    if !detail.actions.is_empty() {
        fields.push(["ACTIONS".into(), detail.actions.join(", ")]);
    }
    if let Some(identity) = j.identity.as_ref().filter(|i| !i.is_empty()) {
        let given: Vec<String> = identity.iter().map(|(k, v)| format!("{k}={v}")).collect();
        fields.push(["IDENTITY".into(), given.join(", ")]);
    }
    let mut out = table(&fields);
    if !j.destinations.is_empty() {
        out.push('\n');
        let mut rows =
            vec![["PACS", "STATE", "ATTEMPTS", "UPDATED (UTC)", "LAST ERROR"].map(String::from)];
        for d in &j.destinations {
            rows.push([
                d.destination.clone(),
                d.state_text(),
                d.attempts.to_string(),
                d.updated.clone(),
                d.last_error.clone().unwrap_or_default(),
            ]);
        }
        out.push_str(&table(&rows));
    }
    if detail.films.iter().any(|f| f.params.is_some()) {
        out.push('\n');
        let mut rows =
            vec![["FILM", "FORMAT", "SIZE", "ORIENTATION", "MEDIUM", "IMAGES"].map(String::from)];
        for f in &detail.films {
            if let Some(p) = &f.params {
                rows.push([
                    f.number.to_string(),
                    p.display_format.clone(),
                    p.film_size.clone(),
                    p.orientation.clone(),
                    p.medium.clone(),
                    format!("{}/{}", p.images, p.image_boxes),
                ]);
            }
        }
        out.push_str(&table(&rows));
    }
    out.push('\n');
    let mut rows = vec![["TIME (UTC)", "EVENT", "DETAIL"].map(String::from)];
    for e in &detail.history {
        rows.push([
            e.at.clone(),
            e.event.clone(),
            e.detail.clone().unwrap_or_default(),
        ]);
    }
    out.push_str(&table(&rows));
    out
}

/// The queues as a table, for a terminal.
pub fn queues_table(queues: &[QueueView]) -> String {
    let mut rows = vec![
        [
            "QUEUE", "PRINTER", "STATUS", "INFO", "STATE", "TODAY", "JOBS",
        ]
        .map(String::from),
    ];
    for q in queues {
        let jobs = q
            .jobs
            .iter()
            .map(|(s, n)| format!("{s} {n}"))
            .collect::<Vec<_>>()
            .join(", ");
        rows.push([
            q.name.clone(),
            q.printer
                .clone()
                .unwrap_or_else(|| "(PDF archive only)".into()),
            q.status.clone(),
            q.status_info.clone(),
            q.state_text(),
            format!("{} films", q.films_printed_today),
            if jobs.is_empty() { "none".into() } else { jobs },
        ]);
    }
    table(&rows)
}

/// A value fit for a terminal: labels and errors come from modalities and printers, and
/// a control character (an escape sequence in a Film Session Label) must not reach the
/// operator's terminal as such. Each is shown as `\u{..}`.
fn printable(cell: &str) -> String {
    cell.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_unicode().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

/// Left-aligned columns, two spaces apart; the last column is not padded. Cells are
/// made [`printable`].
fn table<const N: usize>(rows: &[[String; N]]) -> String {
    let rows: Vec<[String; N]> = rows
        .iter()
        .map(|row| row.clone().map(|cell| printable(&cell)))
        .collect();
    let rows = rows.as_slice();
    let mut widths = [0usize; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    for row in rows {
        let mut line = String::new();
        for (i, cell) in row.iter().enumerate() {
            if i + 1 == N {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&" ".repeat(widths[i] - cell.chars().count() + 2));
            }
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_align_their_columns() {
        let t = table(&[
            ["A".to_string(), "BB".into(), "C".into()],
            [
                "long".into(),
                "x".into(),
                "last column is not padded".into(),
            ],
        ]);
        assert_eq!(t, "A     BB  C\nlong  x   last column is not padded\n");
    }

    fn view(id: &str, destinations: Vec<DestinationView>) -> JobView {
        JobView {
            id: id.into(),
            destinations,
            ..JobView::from(&crate::spool::JobRow::sample(State::Storing))
        }
    }

    fn at(destination: &str, state: crate::spool::DestinationState) -> DestinationView {
        DestinationView {
            destination: destination.into(),
            state,
            awaiting_commitment: false,
            attempts: 1,
            last_error: None,
            updated: "2026-01-01 00:00:00".into(),
            updated_ms: 0,
        }
    }

    #[test]
    fn the_job_list_shows_each_pacs_destination_only_when_there_are_any() {
        use crate::spool::DestinationState::{Committed, Stored};
        let plain = jobs_table(&[view("J1", vec![])]);
        assert!(!plain.contains("PACS"), "{plain}");
        let mut waiting = at("B@b:2", Stored);
        waiting.awaiting_commitment = true;
        let t = jobs_table(&[
            view("J1", vec![at("A@a:1", Committed), waiting]),
            view("J2", vec![]),
        ]);
        let lines: Vec<&str> = t.lines().collect();
        assert!(
            lines[0].contains("LABEL  PACS") && lines[0].ends_with("DETAIL"),
            "{t}"
        );
        assert!(
            lines[1].contains("A@a:1 committed, B@b:2 stored, commitment awaited"),
            "{t}"
        );
        assert!(
            lines[2].starts_with("J2") && lines[2].ends_with(" -"),
            "{t}"
        );
    }

    #[test]
    fn one_job_shows_its_identity_and_each_destination() {
        use crate::spool::DestinationState::Pending;
        let mut pending = at("PACS@p:104", Pending);
        pending.last_error = Some("connection refused".into());
        let mut job = view("J1", vec![pending]);
        job.identity = Some(
            [
                ("PatientID".to_string(), "123".to_string()),
                ("PatientName".to_string(), "Doe^Jane".to_string()),
            ]
            .into(),
        );
        let text = job_text(&JobDetail {
            job,
            history: vec![],
            films: vec![],
            archive_pdf: None,
            actions: vec!["cancel".into()],
        });
        assert!(
            text.lines()
                .any(|l| l.starts_with("IDENTITY")
                    && l.ends_with("PatientID=123, PatientName=Doe^Jane")),
            "{text}"
        );
        let pacs = text
            .lines()
            .find(|l| l.starts_with("PACS@p:104"))
            .unwrap_or_else(|| panic!("{text}"));
        assert!(
            pacs.contains("pending") && pacs.ends_with("connection refused"),
            "{text}"
        );
    }

    #[test]
    fn control_characters_never_reach_the_terminal() {
        let t = table(&[["\u{1b}[2Jgone".to_string(), "a\nb".into()]]);
        assert_eq!(t, "\\u{1b}[2Jgone  a\\u{a}b\n");
        assert!(!t.trim_end_matches('\n').chars().any(char::is_control));
    }
}
