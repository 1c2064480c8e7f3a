//! The admin socket's protocol: one JSON request line in, one JSON answer line out, then
//! the connection closes. Both sides are bounded ([`MAX_REQUEST`], [`MAX_ANSWER`], and
//! the timeouts).

use super::{JobView, QueueView};
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
        /// received, composed, submitting, submitted, done, failed or cancelled.
        #[serde(default)]
        state: Option<String>,
        /// At most this many (default 100, at most [`MAX_LIMIT`]).
        #[serde(default)]
        limit: Option<usize>,
    },
    /// Cancels an unfinished job, at the printer too.
    Cancel { id: String },
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
    /// Retry: the new job's ID.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
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
                limit: None
            }
        );
        assert!(serde_json::from_str::<Request>(r#"{"op":"drop_tables"}"#).is_err());
        assert!(serde_json::from_str::<Request>(r#"{"op":"cancel","id":"x","all":true}"#).is_err());
        assert!(serde_json::from_str::<Request>(r#"{"op":"cancel"}"#).is_err());
    }
}
