//! The operator's side: [`Admin`]'s typed methods (jobs, queues, and the actions cancel,
//! retry, hold, release, assign, pause, resume, refuse, accept, each audited), which the web
//! console calls directly and the Unix socket in the data directory (`admin.sock`, mode
//! 0600) maps `filmd jobs`, `filmd hold` ... onto. [`protocol`] is what goes over the
//! socket, [`server`] the listener and [`client`] the commands' side.

pub mod client;
pub mod identity;
pub mod protocol;
pub mod server;
mod view;
pub mod web;

pub use client::{ClientError, ask, job_text, jobs_offline, jobs_table, queues_table};
pub use protocol::{Answer, MAX_LIMIT, MAX_REQUEST, Request};
pub use server::{Listening, listen};
pub use view::{
    AdminError, DestinationView, ErrorView, FilmView, HistoryView, JobDetail, JobPage, JobQuery,
    JobView, QueueView, utc,
};

use crate::audit::{Auditor, OperatorAction, OperatorEvent, OperatorTarget};
use crate::outputs::board::PrinterBoard;
use crate::spool::store::{DestinationRow, JobFilter, JobRow, State};
use crate::spool::{Identity, Spool, now_ms};
use std::sync::Arc;
use tracing::info;

/// What the server answers from: the spool, the printers' status and the queues.
pub struct Admin {
    pub spool: Arc<Spool>,
    pub board: Arc<PrinterBoard>,
    /// Queue names in configuration order, with their printer URI if any.
    pub queues: Vec<(String, Option<String>)>,
    /// Hears each operator action (a Security Alert, Use of Restricted Function).
    pub auditor: Auditor,
}

/// Who asks, when the socket's peer credentials do not say (PS3.15 A.5.2.1 wants some
/// UserID).
pub const UNKNOWN_OPERATOR: &str = "local admin";

/// Longest refusal reason: it becomes the Error Comment (0000,0902) the modality shows,
/// an LO of 64 characters (PS3.5 6.2, PS3.7 C.4.2).
pub const MAX_REASON: usize = 64;

const DAY_MS: i64 = 24 * 3600 * 1000;

/// The typed side: what the admin socket and the web console call. Each is blocking (the
/// spool database commits with fsync): call from a blocking thread. Actions take the
/// operator's name for the audit trail and return whether they changed anything (`false`:
/// it already was so).
impl Admin {
    /// A page of jobs, newest first.
    pub fn jobs(&self, query: &JobQuery) -> Result<JobPage, AdminError> {
        let state = match query
            .state
            .as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
        {
            None => None,
            Some(s) => Some(
                State::parse(s)
                    .ok_or_else(|| AdminError::Invalid(format!("no job state {s:?}")))?,
            ),
        };
        let nonempty = |v: &Option<String>| {
            v.as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(String::from)
        };
        let limit = query.limit.unwrap_or(100).clamp(1, MAX_LIMIT);
        let filter = JobFilter {
            queue: nonempty(&query.queue),
            state,
            calling_ae: nonempty(&query.calling_ae),
            limit,
            offset: query.offset,
        };
        let rows = self.spool.jobs(&filter)?;
        let ids: Vec<String> = rows.iter().map(|r| r.id.clone()).collect();
        let mut destinations = self.spool.destinations_of(&ids)?;
        Ok(JobPage {
            jobs: rows
                .iter()
                .map(|row| with_destinations(row, destinations.remove(&row.id)))
                .collect(),
            total: self.spool.count_jobs(&filter)?,
            offset: query.offset,
            limit,
        })
    }

    /// One job with its history, films and the actions that apply.
    pub fn job(&self, id: &str) -> Result<JobDetail, AdminError> {
        let row = self
            .spool
            .job(id)?
            .ok_or_else(|| AdminError::NotFound(format!("no job {id}")))?;
        let history = self.spool.history(id)?;
        let params = self.spool.film_params(id)?;
        let destinations = self.spool.destinations(id)?;
        let films = (1..=row.films as usize)
            .map(|number| FilmView {
                number,
                preview: Some(self.spool.preview(id, number)).filter(|p| p.is_file()),
                params: params.get(number - 1).cloned(),
            })
            .collect();
        Ok(JobDetail {
            job: with_destinations(&row, Some(destinations.clone())),
            history: history.iter().map(HistoryView::from).collect(),
            films,
            archive_pdf: view::archive_pdf(row.note.as_deref()),
            actions: view::actions(&row, &destinations),
        })
    }

    /// Each configured queue: printer, status, jobs per state, controls, today's films,
    /// last error.
    pub fn queues(&self) -> Result<Vec<QueueView>, AdminError> {
        let counts = self.spool.counts()?;
        let controls = self.spool.queue_controls()?;
        let now = now_ms();
        let activity = self.spool.activity(now - now.rem_euclid(DAY_MS))?;
        Ok(self
            .queues
            .iter()
            .map(|(name, printer)| {
                let status = self.board.get(name);
                let control = controls.get(name).cloned().unwrap_or_default();
                let act = activity.get(name);
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
                    paused: control.paused,
                    refusing: control.refusing,
                    films_printed_today: act.map_or(0, |a| a.films_printed),
                    last_error: act.and_then(|a| a.last_error.as_ref()).map(ErrorView::from),
                }
            })
            .collect())
    }

    /// Cancels an unfinished job (at the printer too).
    pub fn cancel(&self, id: &str, operator: &str) -> Result<(), AdminError> {
        let result = match self.spool.cancel(id) {
            Ok(true) => {
                info!(job = %id, operator, "cancelled by the operator");
                Ok(())
            }
            Ok(false) => Err(match self.spool.job(id) {
                Ok(Some(row)) => {
                    AdminError::Conflict(format!("job {id} is already {}", row.state.as_str()))
                }
                Ok(None) => AdminError::NotFound(format!("no job {id}")),
                Err(e) => e.into(),
            }),
            Err(e) => Err(e.into()),
        };
        self.audit_job(OperatorAction::Cancel, id, operator, &result, |()| {
            "cancelled".into()
        });
        result
    }

    /// Prints a failed or cancelled job again as a new job; its ID.
    pub fn retry(&self, id: &str, force: bool, operator: &str) -> Result<String, AdminError> {
        let result = self.spool.retry(id, force).map_err(AdminError::from);
        self.audit_job(OperatorAction::Retry, id, operator, &result, |new| {
            format!(
                "printed again as {new}{}",
                if force { " (forced)" } else { "" }
            )
        });
        result
    }

    /// Holds a received or composed job.
    pub fn hold(&self, id: &str, operator: &str) -> Result<bool, AdminError> {
        let result = self.spool.hold(id).map_err(AdminError::from);
        self.audit_job(OperatorAction::Hold, id, operator, &result, |&c| {
            done("held", c)
        });
        result
    }

    /// Releases a held job.
    pub fn release(&self, id: &str, operator: &str) -> Result<bool, AdminError> {
        let result = self.spool.release(id).map_err(AdminError::from);
        self.audit_job(OperatorAction::Release, id, operator, &result, |&c| {
            done("released", c)
        });
        result
    }

    /// Gives a job the identity its PACS destinations get (fields checked against their
    /// VR, [`identity::check`]), merged into what was found, and releases it if held.
    /// The audit trail names the attributes given, not their values.
    pub fn assign(&self, id: &str, fields: &Identity, operator: &str) -> Result<(), AdminError> {
        let checked = identity::check(fields).map_err(AdminError::Invalid);
        let keys = checked
            .as_ref()
            .map(|i| i.keys().cloned().collect::<Vec<_>>().join(", "))
            .unwrap_or_default();
        let result = checked.and_then(|i| self.spool.assign(id, i).map_err(AdminError::from));
        if result.is_ok() {
            info!(job = %id, operator, "identity given ({keys})");
        }
        self.audit_job(OperatorAction::Assign, id, operator, &result, |()| {
            format!("identity given: {keys}")
        });
        result
    }

    /// Pauses a queue: prints are accepted, nothing is delivered.
    pub fn pause(&self, queue: &str, operator: &str) -> Result<bool, AdminError> {
        let result = self.spool.pause(queue).map_err(AdminError::from);
        self.audit_queue(OperatorAction::Pause, queue, operator, &result, "paused");
        result
    }

    /// Resumes a paused queue.
    pub fn resume(&self, queue: &str, operator: &str) -> Result<bool, AdminError> {
        let result = self.spool.resume(queue).map_err(AdminError::from);
        self.audit_queue(OperatorAction::Resume, queue, operator, &result, "resumed");
        result
    }

    /// Makes a queue refuse new prints with `reason` (not empty: the modality shows it;
    /// at most [`MAX_REASON`] characters).
    pub fn refuse(&self, queue: &str, reason: &str, operator: &str) -> Result<bool, AdminError> {
        let reason = reason.trim();
        let result = if reason.is_empty() {
            Err(AdminError::Invalid(
                "a reason is needed: modalities show it to their users".into(),
            ))
        } else if reason.chars().count() > MAX_REASON {
            Err(AdminError::Invalid(format!(
                "the reason is the modality's Error Comment: at most {MAX_REASON} characters"
            )))
        } else {
            self.spool.refuse(queue, reason).map_err(AdminError::from)
        };
        let what = format!("refusing new prints: {reason}");
        self.audit_queue(OperatorAction::Refuse, queue, operator, &result, &what);
        result
    }

    /// Makes a refusing queue accept new prints again.
    pub fn accept(&self, queue: &str, operator: &str) -> Result<bool, AdminError> {
        let result = self.spool.accept(queue).map_err(AdminError::from);
        self.audit_queue(
            OperatorAction::Accept,
            queue,
            operator,
            &result,
            "accepting",
        );
        result
    }

    /// Reports an operator's action on job `id` to the audit trail.
    fn audit_job<T>(
        &self,
        action: OperatorAction,
        id: &str,
        operator: &str,
        result: &Result<T, AdminError>,
        done: impl FnOnce(&T) -> String,
    ) {
        if !self.auditor.is_on() {
            return;
        }
        let print_job_uid = self.spool.job(id).ok().flatten().map(|row| row.uid);
        self.auditor.operator_action(&OperatorEvent {
            action,
            target: OperatorTarget::Job {
                id: id.to_string(),
                print_job_uid,
            },
            operator: operator.to_string(),
            result: result.as_ref().map(done).map_err(ToString::to_string),
        });
    }

    /// Reports an operator's action on `queue` to the audit trail.
    fn audit_queue(
        &self,
        action: OperatorAction,
        queue: &str,
        operator: &str,
        result: &Result<bool, AdminError>,
        what: &str,
    ) {
        if !self.auditor.is_on() {
            return;
        }
        self.auditor.operator_action(&OperatorEvent {
            action,
            target: OperatorTarget::Queue(queue.to_string()),
            operator: operator.to_string(),
            result: result
                .as_ref()
                .map(|&c| done(what, c))
                .map_err(ToString::to_string),
        });
    }

    /// Carries out one request of the admin socket from `operator`.
    pub fn answer(&self, request: Request, operator: &str) -> Answer {
        let changed = |r: Result<bool, AdminError>| match r {
            Ok(changed) => Answer {
                ok: true,
                changed: Some(changed),
                ..Answer::default()
            },
            Err(e) => Answer::error(e.to_string()),
        };
        match request {
            Request::Jobs {
                queue,
                state,
                calling_ae,
                limit,
                offset,
            } => {
                let query = JobQuery {
                    queue,
                    state,
                    calling_ae,
                    limit,
                    offset: offset.unwrap_or(0),
                };
                match self.jobs(&query) {
                    Ok(page) => Answer {
                        ok: true,
                        jobs: Some(page.jobs),
                        total: Some(page.total),
                        ..Answer::default()
                    },
                    Err(e) => Answer::error(e.to_string()),
                }
            }
            Request::Job { id } => match self.job(&id) {
                Ok(detail) => Answer {
                    ok: true,
                    job: Some(Box::new(detail)),
                    ..Answer::default()
                },
                Err(e) => Answer::error(e.to_string()),
            },
            Request::Cancel { id } => match self.cancel(&id, operator) {
                Ok(()) => Answer {
                    ok: true,
                    id: Some(id),
                    ..Answer::default()
                },
                Err(e) => Answer::error(e.to_string()),
            },
            Request::Retry { id, force } => match self.retry(&id, force, operator) {
                Ok(new) => Answer {
                    ok: true,
                    id: Some(new),
                    ..Answer::default()
                },
                Err(e) => Answer::error(e.to_string()),
            },
            Request::Assign { id, identity } => match self.assign(&id, &identity, operator) {
                Ok(()) => Answer {
                    ok: true,
                    id: Some(id),
                    ..Answer::default()
                },
                Err(e) => Answer::error(e.to_string()),
            },
            Request::Hold { id } => changed(self.hold(&id, operator)),
            Request::Release { id } => changed(self.release(&id, operator)),
            Request::Pause { queue } => changed(self.pause(&queue, operator)),
            Request::Resume { queue } => changed(self.resume(&queue, operator)),
            Request::Refuse { queue, reason } => changed(self.refuse(&queue, &reason, operator)),
            Request::Accept { queue } => changed(self.accept(&queue, operator)),
            Request::Queues => match self.queues() {
                Ok(queues) => Answer {
                    ok: true,
                    queues: Some(queues),
                    ..Answer::default()
                },
                Err(e) => Answer::error(e.to_string()),
            },
        }
    }
}

/// A job as an operator sees it, with its destinations.
fn with_destinations(row: &JobRow, destinations: Option<Vec<DestinationRow>>) -> JobView {
    JobView {
        destinations: destinations
            .unwrap_or_default()
            .iter()
            .map(DestinationView::from)
            .collect(),
        ..JobView::from(row)
    }
}

/// An action's outcome for the audit trail: `what`, or "already `what`".
fn done(what: &str, changed: bool) -> String {
    if changed {
        what.to_string()
    } else {
        format!("already {what}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spool::{
        BoxFuture, Composed, DeliveryError, Identification, PrintJob, QueueOutputs, SpoolConfig,
        StoreOutcome, StoreRequest,
    };
    use std::collections::HashMap;
    use std::path::Path;
    use std::time::{Duration, Instant};

    /// A queue with one PACS and no printer, whose jobs match no identity rule.
    struct Unmatched;

    impl QueueOutputs for Unmatched {
        fn compose(&self, _: &PrintJob, _: &Path) -> Result<Composed, DeliveryError> {
            Ok(Composed {
                document: None,
                note: String::new(),
            })
        }
        fn has_printer(&self) -> bool {
            false
        }
        fn destinations(&self) -> Vec<String> {
            vec!["PACS@p:104".into()]
        }
        fn identify<'a>(
            &'a self,
            _: &'a PrintJob,
        ) -> BoxFuture<'a, Result<Identification, DeliveryError>> {
            Box::pin(async { Ok(Identification::Hold("nothing matched".into())) })
        }
        fn store(&self, r: StoreRequest) -> BoxFuture<'_, Result<StoreOutcome, DeliveryError>> {
            Box::pin(async move {
                match r.identity.get("PatientID") {
                    Some(_) => Ok(StoreOutcome::Stored),
                    None => Err(DeliveryError::Permanent("no identity".into())),
                }
            })
        }
    }

    fn until(what: &str, mut f: impl FnMut() -> bool) {
        let start = Instant::now();
        while !f() {
            assert!(
                start.elapsed() < Duration::from_secs(60),
                "timed out: {what}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    /// A held job waiting for an identity offers `assign`; the operator's identity is
    /// checked, given, shown, and the job stored and done.
    #[test]
    fn a_held_job_is_assigned_its_identity_and_goes_to_its_pacs() {
        let dir = tempfile::tempdir().unwrap();
        let rt = tokio::runtime::Runtime::new().unwrap();
        let _guard = rt.enter();
        let outputs: HashMap<String, Arc<dyn QueueOutputs>> = [(
            "q".to_string(),
            Arc::new(Unmatched) as Arc<dyn QueueOutputs>,
        )]
        .into();
        let config = SpoolConfig {
            workers: 1,
            min_free_mib: 0,
            ..SpoolConfig::default()
        };
        let spool =
            Spool::open(&crate::data_dir::DataDir::new(dir.path()), config, outputs).unwrap();
        let admin = Admin {
            spool: spool.clone(),
            board: PrinterBoard::new(["q"]),
            queues: vec![("q".into(), None)],
            auditor: Auditor::off(),
        };
        let job = PrintJob {
            id: String::new(),
            uid: "2.25.1".into(),
            queue: "q".into(),
            calling_ae_title: "CT".into(),
            film_session_label: "no accession".into(),
            owner_id: String::new(),
            priority: "MED".into(),
            copies: 1,
            created_unix: 0,
            device: Default::default(),
            films: vec![],
        };
        let id = spool.submit(job, Box::new(|_| {})).unwrap();
        until("held", || spool.job(&id).unwrap().is_some_and(|r| r.held));
        let detail = admin.job(&id).unwrap();
        assert_eq!(detail.actions, ["cancel", "release", "assign"]);
        assert_eq!(detail.job.destinations[0].destination, "PACS@p:104");
        assert_eq!(detail.job.last_error.as_deref(), Some("nothing matched"));

        let bad: Identity = [("PatientBirthDate".to_string(), "1999-01-01".to_string())].into();
        assert!(matches!(
            admin.assign(&id, &bad, "op"),
            Err(AdminError::Invalid(_))
        ));
        let answer = admin.answer(
            Request::Assign {
                id: id.clone(),
                identity: [("PatientID".to_string(), " 123 ".to_string())].into(),
            },
            "op",
        );
        assert!(answer.ok, "{answer:?}");
        until("done", || {
            spool
                .job(&id)
                .unwrap()
                .is_some_and(|r| r.state == State::Done)
        });
        let page = admin.jobs(&JobQuery::default()).unwrap();
        let view = &page.jobs[0];
        assert_eq!(
            view.identity.as_ref().unwrap()["PatientID"],
            "123",
            "trimmed"
        );
        assert_eq!(view.destinations[0].state_text(), "stored");
        let again = admin.assign(
            &id,
            &[("PatientID".to_string(), "9".to_string())].into(),
            "op",
        );
        assert!(matches!(again, Err(AdminError::Conflict(_))), "{again:?}");
        spool.shutdown();
    }

    #[test]
    fn times_are_utc_and_readable() {
        assert_eq!(utc(1_795_608_000_999), "2026-11-25 12:00:00");
        assert_eq!(utc(-5), "1970-01-01 00:00:00");
    }
}
