//! The admin socket's protocol: one JSON request line in, one JSON answer line out, then
//! the connection closes. Both sides are bounded ([`MAX_REQUEST`], [`MAX_ANSWER`], and
//! the timeouts).

use super::{JobDetail, JobView, QueueView};
use crate::spool::Identity;
use serde::{Deserialize, Serialize};
use std::time::Duration;

/// Longest request line.
pub const MAX_REQUEST: usize = 64 * 1024;
/// Longest answer the client reads (a job list of the largest `limit`).
pub const MAX_ANSWER: usize = 64 << 20;
/// How long a client may take to send its request.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a client may take to read its answer.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(30);
/// Most rows one `jobs` request returns.
pub const MAX_LIMIT: usize = 10_000;

/// What an operator asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case", deny_unknown_fields)]
pub enum Request {
    /// Jobs, newest first.
    Jobs {
        #[serde(default)]
        queue: Option<String>,
        /// received, composed, submitting, submitted, storing, done, failed or cancelled.
        #[serde(default)]
        state: Option<String>,
        /// Only jobs from this calling AE title.
        #[serde(default)]
        calling_ae: Option<String>,
        /// At most this many (default 100, at most [`MAX_LIMIT`]).
        #[serde(default)]
        limit: Option<usize>,
        /// After skipping this many of the newest.
        #[serde(default)]
        offset: Option<usize>,
    },
    /// One job with its history and films.
    Job { id: String },
    /// Cancels an unfinished job, at the printer too.
    Cancel { id: String },
    /// Holds a received or composed job until it is released.
    Hold { id: String },
    /// Releases a held job.
    Release { id: String },
    /// Gives a job the identity its PACS destinations get (DICOM keyword → value, see
    /// [`super::identity::ASSIGNABLE`]), merged into what was found, and releases it.
    Assign { id: String, identity: Identity },
    /// Pauses a queue: prints accepted, nothing delivered until it is resumed.
    Pause { queue: String },
    /// Resumes a paused queue.
    Resume { queue: String },
    /// Refuses new prints on a queue with a reason (C601/C602 to the modality).
    Refuse { queue: String, reason: String },
    /// Accepts new prints again on a refusing queue.
    Accept { queue: String },
    /// Prints a failed or cancelled job again, as a new job; `force` also when it was
    /// printed again already or had reached its printer.
    Retry {
        id: String,
        #[serde(default)]
        force: bool,
    },
    /// Each queue: its printer, the printer's status and the jobs per state.
    Queues,
}

/// The server's answer: `ok` and what was asked for, or `error`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Answer {
    pub ok: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jobs: Option<Vec<JobView>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queues: Option<Vec<QueueView>>,
    /// Jobs: how many match, all pages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
    /// Job: the job's detail.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub job: Option<Box<JobDetail>>,
    /// Retry: the new job's ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Hold, release, pause, resume, refuse, accept: false when it already was so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub changed: Option<bool>,
}

impl Answer {
    pub(super) fn error(message: impl Into<String>) -> Answer {
        Answer {
            ok: false,
            error: Some(message.into()),
            ..Answer::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_are_one_json_object_each_and_unknown_fields_are_refused() {
        let r: Request = serde_json::from_str(r#"{"op":"retry","id":"x"}"#).unwrap();
        assert_eq!(
            r,
            Request::Retry {
                id: "x".into(),
                force: false
            }
        );
        let r: Request = serde_json::from_str(r#"{"op":"jobs"}"#).unwrap();
        assert_eq!(
            r,
            Request::Jobs {
                queue: None,
                state: None,
                calling_ae: None,
                limit: None,
                offset: None
            }
        );
        let r: Request =
            serde_json::from_str(r#"{"op":"refuse","queue":"q","reason":"no film"}"#).unwrap();
        assert_eq!(
            r,
            Request::Refuse {
                queue: "q".into(),
                reason: "no film".into()
            }
        );
        assert!(serde_json::from_str::<Request>(r#"{"op":"refuse","queue":"q"}"#).is_err());
        assert!(serde_json::from_str::<Request>(r#"{"op":"drop_tables"}"#).is_err());
        assert!(serde_json::from_str::<Request>(r#"{"op":"cancel","id":"x","all":true}"#).is_err());
        assert!(serde_json::from_str::<Request>(r#"{"op":"cancel"}"#).is_err());
        let r: Request = serde_json::from_str(
            r#"{"op":"assign","id":"x","identity":{"PatientID":"123","PatientSex":"F"}}"#,
        )
        .unwrap();
        assert_eq!(
            r,
            Request::Assign {
                id: "x".into(),
                identity: [
                    ("PatientID".to_string(), "123".to_string()),
                    ("PatientSex".to_string(), "F".to_string())
                ]
                .into()
            }
        );
        assert!(serde_json::from_str::<Request>(r#"{"op":"assign","id":"x"}"#).is_err());
    }
}
