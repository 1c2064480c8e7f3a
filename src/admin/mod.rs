//! The operator's side: a Unix socket in the data directory (`admin.sock`, mode 0600)
//! on which `filmd jobs`, `filmd cancel`, `filmd retry` and `filmd queues` ask the
//! server, which alone changes the spool. [`protocol`] is what goes over the socket,
//! [`server`] the listener and [`client`] the commands' side; this module answers
//! requests from the spool and the printer board.

pub mod client;
pub mod protocol;
pub mod server;
pub mod web;

pub use client::{ClientError, ask, jobs_offline, jobs_table, queues_table};
pub use protocol::{Answer, MAX_LIMIT, MAX_REQUEST, Request};
pub use server::{Listening, listen};

use crate::audit::{Auditor, OperatorAction, OperatorEvent};
use crate::outputs::board::PrinterBoard;
use crate::spool::Spool;
use crate::spool::store::{JobFilter, JobRow, State};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::sync::Arc;
use tracing::info;

/// A job as an operator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct JobView {
    pub id: String,
    pub queue: String,
    pub state: String,
    pub priority: String,
    pub films: u32,
    pub copies: u32,
    pub label: String,
    pub calling_ae: String,
    pub attempts: u32,
    /// UTC, `YYYY-MM-DD HH:MM:SS`.
    pub created: String,
    pub updated: String,
    pub remote_id: Option<String>,
    pub last_error: Option<String>,
    pub note: Option<String>,
    /// The job it was printed again as (`filmd retry`).
    pub retried_as: Option<String>,
}

impl From<&JobRow> for JobView {
    fn from(r: &JobRow) -> JobView {
        JobView {
            id: r.id.clone(),
            queue: r.queue.clone(),
            state: r.state.as_str().into(),
            priority: r.priority.as_str().into(),
            films: r.films,
            copies: r.copies,
            label: r.label.clone(),
            calling_ae: r.calling_ae.clone(),
            attempts: r.attempts,
            created: utc(r.created_ms),
            updated: utc(r.updated_ms),
            remote_id: r.remote_id.clone(),
            last_error: r.last_error.clone(),
            note: r.note.clone(),
            retried_as: r.retried_as.clone().filter(|s| !s.is_empty()),
        }
    }
}

/// A queue as an operator sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueView {
    pub name: String,
    /// The IPP printer's URI, if the queue has one.
    pub printer: Option<String>,
    /// NORMAL, WARNING or FAILURE (PS3.3 C.13.9.1 Printer Status).
    pub status: String,
    pub status_info: String,
    pub detail: String,
    /// Jobs per state.
    pub jobs: BTreeMap<String, u64>,
}

fn utc(ms: i64) -> String {
    crate::time::Stamp(u64::try_from(ms / 1000).unwrap_or(0)).display()
}

/// What the server answers from: the spool, the printers' status and the queues.
pub struct Admin {
    pub spool: Arc<Spool>,
    pub board: Arc<PrinterBoard>,
    /// Queue names in configuration order, with their printer URI if any.
    pub queues: Vec<(String, Option<String>)>,
    /// Hears each cancel and retry (a Security Alert, Use of Restricted Function).
    pub auditor: Auditor,
}

/// Who asks, when the socket's peer credentials do not say (PS3.15 A.5.2.1 wants some
/// UserID).
pub const UNKNOWN_OPERATOR: &str = "local admin";

impl Admin {
    /// Reports an operator's cancel or retry of job `id` to the audit trail.
    fn audit(
        &self,
        action: OperatorAction,
        id: &str,
        operator: &str,
        result: Result<String, String>,
    ) {
        if !self.auditor.is_on() {
            return;
        }
        let print_job_uid = self.spool.job(id).ok().flatten().map(|row| row.uid);
        self.auditor.operator_action(&OperatorEvent {
            action,
            job_id: id.to_string(),
            print_job_uid,
            operator: operator.to_string(),
            result,
        });
    }

    /// Carries out one request from `operator` (blocking: the spool database commits with
    /// fsync).
    pub fn answer(&self, request: Request, operator: &str) -> Answer {
        match request {
            Request::Jobs {
                queue,
                state,
                limit,
            } => {
                let state = match state.as_deref().map(|s| (s, State::parse(s))) {
                    None => None,
                    Some((_, Some(st))) => Some(st),
                    Some((s, None)) => return Answer::error(format!("no job state {s:?}")),
                };
                let filter = JobFilter {
                    queue,
                    state,
                    limit: limit.unwrap_or(100).clamp(1, MAX_LIMIT),
                };
                match self.spool.jobs(&filter) {
                    Ok(rows) => Answer {
                        ok: true,
                        jobs: Some(rows.iter().map(JobView::from).collect()),
                        ..Answer::default()
                    },
                    Err(e) => Answer::error(e.to_string()),
                }
            }
            Request::Cancel { id } => {
                let answer = match self.spool.cancel(&id) {
                    Ok(true) => {
                        info!(job = %id, operator, "cancelled by the operator");
                        Answer {
                            ok: true,
                            id: Some(id.clone()),
                            ..Answer::default()
                        }
                    }
                    Ok(false) => Answer::error(match self.spool.job(&id) {
                        Ok(Some(row)) => format!("job {id} is already {}", row.state.as_str()),
                        _ => format!("no job {id}"),
                    }),
                    Err(e) => Answer::error(e.to_string()),
                };
                let result = match &answer.error {
                    None => Ok("cancelled".to_string()),
                    Some(e) => Err(e.clone()),
                };
                self.audit(OperatorAction::Cancel, &id, operator, result);
                answer
            }
            Request::Retry { id, force } => {
                let result = self.spool.retry(&id, force);
                let audited = match &result {
                    Ok(new) => Ok(format!(
                        "printed again as {new}{}",
                        if force { " (forced)" } else { "" }
                    )),
                    Err(e) => Err(e.to_string()),
                };
                self.audit(OperatorAction::Retry, &id, operator, audited);
                match result {
                    Ok(new) => Answer {
                        ok: true,
                        id: Some(new),
                        ..Answer::default()
                    },
                    Err(e) => Answer::error(e.to_string()),
                }
            }
            Request::Queues => {
                let counts = match self.spool.counts() {
                    Ok(c) => c,
                    Err(e) => return Answer::error(e.to_string()),
                };
                let queues = self
                    .queues
                    .iter()
                    .map(|(name, printer)| {
                        let status = self.board.get(name);
                        QueueView {
                            name: name.clone(),
                            printer: printer.clone(),
                            status: status.status.term().into(),
                            status_info: status.info,
                            detail: status.detail,
                            jobs: counts
                                .get(name)
                                .map(|m| m.iter().map(|(s, n)| (s.as_str().into(), *n)).collect())
                                .unwrap_or_default(),
                        }
                    })
                    .collect();
                Answer {
                    ok: true,
                    queues: Some(queues),
                    ..Answer::default()
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_utc_and_readable() {
        assert_eq!(utc(1_795_608_000_999), "2026-11-25 12:00:00");
        assert_eq!(utc(-5), "1970-01-01 00:00:00");
    }
}
