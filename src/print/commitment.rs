//! Storage Commitment reports arriving at filmd's listener (PS3.4 J.3.3): a PACS that
//! committed filmd's films opens an association of its own and sends N-EVENT-REPORT on
//! the Storage Commitment Push Model class; filmd hands the result to its inbox.
//!
//! filmd is the SCU of this class, so only N-EVENT-REPORT is served on it.

use super::status;
use crate::backend::dimse::commitment::{
    EVENT_FAILURES_EXIST, EVENT_SUCCESSFUL, commitment_result, describe,
};
use crate::net::Response;
use crate::net::dimse::Command;
use crate::spool::CommitmentResult;
use dicom_object::InMemDicomObject;
use tracing::{info, warn};

pub use crate::backend::dimse::{STORAGE_COMMITMENT_INSTANCE, STORAGE_COMMITMENT_PUSH_MODEL};

/// Where Storage Commitment results go (the spool's side, see
/// `Spool::commitment_report`).
pub trait CommitmentInbox: Send + Sync {
    /// Ok when the transaction is one filmd is waiting for; Err(why) otherwise.
    fn report(&self, calling_ae: &str, result: CommitmentResult) -> Result<(), String>;
}

/// Answers an N-EVENT-REPORT-RQ of the Storage Commitment Push Model (PS3.7 10.1.1.1.8
/// statuses): 0x0000 when the inbox took the result; 0x0113 No such event type for an
/// Event Type ID other than 1 and 2; 0x0115 Invalid argument value, with the reason as
/// Error Comment, for a report that does not read (PS3.4 Table J.3-2) or that the inbox
/// refused (an unknown transaction).
pub fn report(
    inbox: &dyn CommitmentInbox,
    calling_ae: &str,
    command: &Command,
    data: Option<&InMemDicomObject>,
) -> Response {
    let event_type_id = command.event_type_id.unwrap_or(0);
    let answer = |status: u16, comment: Option<String>| Response {
        status,
        event_type_id: command.event_type_id,
        error_comment: comment,
        ..Default::default()
    };
    if event_type_id != EVENT_SUCCESSFUL && event_type_id != EVENT_FAILURES_EXIST {
        return answer(
            status::NO_SUCH_EVENT_TYPE,
            Some(format!("Event Type ID {event_type_id} is not 1 or 2")),
        );
    }
    let empty = InMemDicomObject::new_empty();
    let result = match commitment_result(event_type_id, data.unwrap_or(&empty)) {
        Ok(r) => r,
        Err(why) => {
            warn!(
                calling = calling_ae,
                "Storage Commitment report refused: {why}"
            );
            return answer(status::INVALID_ARGUMENT_VALUE, Some(why));
        }
    };
    let what = describe(&result);
    match inbox.report(calling_ae, result) {
        Ok(()) => {
            info!(calling = calling_ae, "Storage Commitment report: {what}");
            answer(status::SUCCESS, None)
        }
        Err(why) => {
            warn!(
                calling = calling_ae,
                "Storage Commitment report refused: {what}: {why}"
            );
            answer(status::INVALID_ARGUMENT_VALUE, Some(why))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::dimse::commitment_request;
    use crate::net::dimse::command_field as cf;
    use dicom_core::{DataElement, PrimitiveValue, VR};
    use dicom_dictionary_std::tags;
    use std::sync::Mutex;

    /// Knows one transaction; records what it was given.
    #[derive(Default)]
    struct Inbox(Mutex<Vec<(String, CommitmentResult)>>);

    impl CommitmentInbox for Inbox {
        fn report(&self, calling_ae: &str, result: CommitmentResult) -> Result<(), String> {
            if result.transaction_uid != "2.25.1" {
                return Err(format!("unknown transaction {}", result.transaction_uid));
            }
            self.0
                .lock()
                .map_err(|e| e.to_string())?
                .push((calling_ae.into(), result));
            Ok(())
        }
    }

    fn event(event_type_id: u16) -> Command {
        Command {
            command_field: cf::N_EVENT_REPORT_RQ,
            message_id: Some(1),
            affected_sop_class_uid: Some(STORAGE_COMMITMENT_PUSH_MODEL.into()),
            affected_sop_instance_uid: Some(STORAGE_COMMITMENT_INSTANCE.into()),
            event_type_id: Some(event_type_id),
            has_data_set: true,
            ..Default::default()
        }
    }

    /// A successful report has the request's shape: Transaction UID and Referenced SOP
    /// Sequence.
    fn successful(transaction: &str) -> InMemDicomObject {
        commitment_request(
            transaction,
            &[("1.2.840.10008.5.1.4.1.1.7".into(), "1.2.3".into())],
        )
    }

    #[test]
    fn a_known_transaction_is_handed_to_the_inbox_and_answered_with_success() {
        let inbox = Inbox::default();
        let r = report(&inbox, "ORTHANC", &event(1), Some(&successful("2.25.1")));
        assert_eq!((r.status, r.event_type_id), (0x0000, Some(1)));
        let got = inbox.0.lock().unwrap();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0, "ORTHANC");
        assert_eq!(got[0].1.committed, ["1.2.3"]);
    }

    #[test]
    fn an_unknown_transaction_is_0115_with_the_inbox_reason() {
        let inbox = Inbox::default();
        let r = report(&inbox, "ORTHANC", &event(1), Some(&successful("2.25.2")));
        assert_eq!(r.status, status::INVALID_ARGUMENT_VALUE);
        assert_eq!(
            r.error_comment.as_deref(),
            Some("unknown transaction 2.25.2")
        );
        assert!(inbox.0.lock().unwrap().is_empty());
    }

    #[test]
    fn malformed_reports_and_unknown_event_types_are_refused() {
        let inbox = Inbox::default();
        let r = report(&inbox, "PACS", &event(3), Some(&successful("2.25.1")));
        assert_eq!(r.status, status::NO_SUCH_EVENT_TYPE);
        let r = report(&inbox, "PACS", &event(1), None);
        assert_eq!(r.status, status::INVALID_ARGUMENT_VALUE);
        assert!(r.error_comment.unwrap().contains("Transaction UID"));
        // Event Type 2 without a Failed SOP Sequence
        let r = report(&inbox, "PACS", &event(2), Some(&successful("2.25.1")));
        assert_eq!(r.status, status::INVALID_ARGUMENT_VALUE);
        let mut no_uid = successful("2.25.1");
        no_uid.put(DataElement::new(
            tags::TRANSACTION_UID,
            VR::UI,
            PrimitiveValue::from(""),
        ));
        let r = report(&inbox, "PACS", &event(1), Some(&no_uid));
        assert_eq!(r.status, status::INVALID_ARGUMENT_VALUE);
        assert!(inbox.0.lock().unwrap().is_empty());
    }
}
