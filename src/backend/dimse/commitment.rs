//! Storage Commitment Push Model (PS3.4 Annex J): the N-ACTION request's data set
//! (J.3.2) and the N-EVENT-REPORT's result (J.3.3), on whichever association it arrives.
//!
//! Pure functions of data sets: the client ([`super::Session`]) and filmd's listener
//! ([`crate::print::commitment`]) both read reports with [`commitment_result`].

use super::status::failure_reason_meaning;
use crate::spool::CommitmentResult;
use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

/// Storage Commitment Push Model SOP Class (PS3.4 J.3).
pub const STORAGE_COMMITMENT_PUSH_MODEL: &str = "1.2.840.10008.1.20.1";
/// Its well-known SOP Instance (PS3.4 J.3.1).
pub const STORAGE_COMMITMENT_INSTANCE: &str = "1.2.840.10008.1.20.1.1";
/// N-ACTION Action Type ID "Request Storage Commitment" (PS3.4 J.3.2.1).
pub const REQUEST_STORAGE_COMMITMENT: u16 = 1;
/// N-EVENT-REPORT Event Type ID "Storage Commitment Request Successful" (J.3.3.1).
pub const EVENT_SUCCESSFUL: u16 = 1;
/// N-EVENT-REPORT Event Type ID "Storage Commitment Request Complete - Failures Exist".
pub const EVENT_FAILURES_EXIST: u16 = 2;

/// The N-ACTION-RQ data set (PS3.4 Table J.3-1): Transaction UID and one Referenced SOP
/// Sequence item per instance, `refs` as (SOP Class UID, SOP Instance UID).
pub fn commitment_request(transaction_uid: &str, refs: &[(String, String)]) -> InMemDicomObject {
    let items: Vec<InMemDicomObject> = refs
        .iter()
        .map(|(class, instance)| {
            InMemDicomObject::from_element_iter([
                DataElement::new(
                    tags::REFERENCED_SOP_CLASS_UID,
                    VR::UI,
                    PrimitiveValue::from(class.as_str()),
                ),
                DataElement::new(
                    tags::REFERENCED_SOP_INSTANCE_UID,
                    VR::UI,
                    PrimitiveValue::from(instance.as_str()),
                ),
            ])
        })
        .collect();
    InMemDicomObject::from_element_iter([
        DataElement::new(
            tags::TRANSACTION_UID,
            VR::UI,
            PrimitiveValue::from(transaction_uid),
        ),
        DataElement::new(
            tags::REFERENCED_SOP_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(items),
        ),
    ])
}

/// A text value without its padding, `None` when absent or empty.
fn text(obj: &InMemDicomObject, tag: Tag) -> Option<String> {
    let value = obj.element(tag).ok()?.to_str().ok()?;
    let value = value.trim_matches(['\0', ' ']);
    (!value.is_empty()).then(|| value.to_string())
}

/// The items of a sequence; an absent sequence has none.
fn items(obj: &InMemDicomObject, tag: Tag) -> &[InMemDicomObject] {
    obj.get(tag).and_then(|e| e.items()).unwrap_or(&[])
}

/// Reads a Storage Commitment report (PS3.4 Table J.3-2): Event Type 1 lists the
/// committed instances in the Referenced SOP Sequence (0008,1199) and has no failures;
/// Event Type 2 has a Failed SOP Sequence (0008,1198) whose items carry a Failure Reason
/// (0008,1197), and may list committed ones too. The error says what is wrong, for the
/// N-EVENT-REPORT-RSP's Error Comment.
pub fn commitment_result(
    event_type_id: u16,
    data: &InMemDicomObject,
) -> Result<CommitmentResult, String> {
    if event_type_id != EVENT_SUCCESSFUL && event_type_id != EVENT_FAILURES_EXIST {
        return Err(format!("Event Type ID {event_type_id} is not 1 or 2"));
    }
    let transaction_uid =
        text(data, tags::TRANSACTION_UID).ok_or("Transaction UID (0008,1195) missing")?;
    let instance = |item: &InMemDicomObject, seq: &str| {
        text(item, tags::REFERENCED_SOP_INSTANCE_UID)
            .ok_or_else(|| format!("{seq} item without Referenced SOP Instance UID"))
    };
    let committed = items(data, tags::REFERENCED_SOP_SEQUENCE)
        .iter()
        .map(|item| instance(item, "Referenced SOP Sequence"))
        .collect::<Result<Vec<_>, _>>()?;
    let failed = items(data, tags::FAILED_SOP_SEQUENCE)
        .iter()
        .map(|item| {
            let uid = instance(item, "Failed SOP Sequence")?;
            let reason = item
                .element(tags::FAILURE_REASON)
                .ok()
                .and_then(|e| e.to_int::<u16>().ok())
                .ok_or_else(|| format!("Failed SOP Sequence item {uid} without Failure Reason"))?;
            Ok((uid, reason))
        })
        .collect::<Result<Vec<_>, String>>()?;
    match event_type_id {
        EVENT_SUCCESSFUL if !failed.is_empty() => {
            Err("Event Type 1 (successful) with a Failed SOP Sequence".into())
        }
        EVENT_SUCCESSFUL if committed.is_empty() => {
            Err("Event Type 1 without Referenced SOP Sequence items".into())
        }
        EVENT_FAILURES_EXIST if failed.is_empty() => {
            Err("Event Type 2 (failures exist) without Failed SOP Sequence items".into())
        }
        _ => Ok(CommitmentResult {
            transaction_uid,
            committed,
            failed,
        }),
    }
}

/// How many failed instances [`failed_instances`] names; the rest are counted.
pub const FAILED_INSTANCES_SHOWN: usize = 10;

/// Why a report's failed instances were not committed, for logs and a destination's
/// last error: "2 instance(s) not committed: 1.2.3 (0x0112 No such object instance),
/// 1.2.4 (0x0110 Processing failure)", naming the first [`FAILED_INSTANCES_SHOWN`] and
/// then "and K more"; "0 instance(s) not committed" when none failed.
pub fn failed_instances(result: &CommitmentResult) -> String {
    let mut s = format!("{} instance(s) not committed", result.failed.len());
    for (n, (uid, reason)) in result
        .failed
        .iter()
        .take(FAILED_INSTANCES_SHOWN)
        .enumerate()
    {
        s.push_str(if n == 0 { ": " } else { ", " });
        s.push_str(&format!(
            "{uid} (0x{reason:04X} {})",
            failure_reason_meaning(*reason)
        ));
    }
    let more = result.failed.len().saturating_sub(FAILED_INSTANCES_SHOWN);
    if more > 0 {
        s.push_str(&format!(" and {more} more"));
    }
    s
}

/// One line for logs and the operator: how many were committed, and why the others were
/// not ([`failed_instances`]).
pub fn describe(result: &CommitmentResult) -> String {
    let mut s = format!(
        "transaction {}: {} committed",
        result.transaction_uid,
        result.committed.len()
    );
    if !result.failed.is_empty() {
        s.push_str(", ");
        s.push_str(&failed_instances(result));
    }
    s
}

#[cfg(test)]
mod tests {
    use super::super::status::COMMIT_NO_SUCH_OBJECT_INSTANCE as COMMIT_NO_SUCH;
    use super::*;

    fn reference(instance: &str) -> InMemDicomObject {
        InMemDicomObject::from_element_iter([
            DataElement::new(
                tags::REFERENCED_SOP_CLASS_UID,
                VR::UI,
                PrimitiveValue::from("1.2.840.10008.5.1.4.1.1.7"),
            ),
            DataElement::new(
                tags::REFERENCED_SOP_INSTANCE_UID,
                VR::UI,
                PrimitiveValue::from(instance),
            ),
        ])
    }

    fn failed(instance: &str, reason: Option<u16>) -> InMemDicomObject {
        let mut item = reference(instance);
        if let Some(r) = reason {
            item.put(DataElement::new(
                tags::FAILURE_REASON,
                VR::US,
                PrimitiveValue::from(r),
            ));
        }
        item
    }

    fn report(
        transaction: Option<&str>,
        ok: &[&str],
        bad: Vec<InMemDicomObject>,
    ) -> InMemDicomObject {
        let mut obj = InMemDicomObject::new_empty();
        if let Some(t) = transaction {
            // a UI value padded to even length with NUL, as on the wire
            obj.put(DataElement::new(
                tags::TRANSACTION_UID,
                VR::UI,
                PrimitiveValue::from(format!("{t}\0")),
            ));
        }
        if !ok.is_empty() {
            obj.put(DataElement::new(
                tags::REFERENCED_SOP_SEQUENCE,
                VR::SQ,
                DataSetSequence::from(ok.iter().map(|u| reference(u)).collect::<Vec<_>>()),
            ));
        }
        if !bad.is_empty() {
            obj.put(DataElement::new(
                tags::FAILED_SOP_SEQUENCE,
                VR::SQ,
                DataSetSequence::from(bad),
            ));
        }
        obj
    }

    #[test]
    fn event_type_1_lists_every_instance_committed() {
        let r = commitment_result(1, &report(Some("2.25.7"), &["1.2.3", "1.2.4"], vec![])).unwrap();
        assert_eq!(r.transaction_uid, "2.25.7");
        assert_eq!(r.committed, vec!["1.2.3", "1.2.4"]);
        assert!(r.failed.is_empty());
    }

    #[test]
    fn event_type_2_carries_the_failure_reasons() {
        let r = commitment_result(
            2,
            &report(
                Some("2.25.7"),
                &["1.2.3"],
                vec![failed("1.2.4", Some(COMMIT_NO_SUCH))],
            ),
        )
        .unwrap();
        assert_eq!(r.committed, vec!["1.2.3"]);
        assert_eq!(r.failed, vec![("1.2.4".to_string(), 0x0112)]);
        assert_eq!(
            describe(&r),
            "transaction 2.25.7: 1 committed, \
             1 instance(s) not committed: 1.2.4 (0x0112 No such object instance)"
        );
    }

    #[test]
    fn failed_instances_names_the_first_ten_with_their_reasons() {
        let result = |failed: Vec<(String, u16)>| CommitmentResult {
            transaction_uid: "2.25.7".into(),
            committed: vec!["1.2.3".into()],
            failed,
        };
        assert_eq!(
            failed_instances(&result(vec![])),
            "0 instance(s) not committed"
        );
        assert_eq!(
            failed_instances(&result(vec![
                ("1.2.4".into(), COMMIT_NO_SUCH),
                ("1.2.5".into(), 0x0110),
                ("1.2.6".into(), 0xC001),
            ])),
            "3 instance(s) not committed: 1.2.4 (0x0112 No such object instance), \
             1.2.5 (0x0110 Processing failure), 1.2.6 (0xC001 Unknown failure reason)"
        );
        let many: Vec<_> = (0..13).map(|i| (format!("1.2.{i}"), 0x0213)).collect();
        let text = failed_instances(&result(many));
        assert!(
            text.starts_with("13 instance(s) not committed: 1.2.0 (0x0213 Resource limitation), "),
            "{text}"
        );
        assert!(text.contains("1.2.9 (0x0213"), "{text}");
        assert!(!text.contains("1.2.10 "), "{text}");
        assert!(
            text.ends_with("(0x0213 Resource limitation) and 3 more"),
            "{text}"
        );
    }

    #[test]
    fn malformed_reports_say_what_is_wrong() {
        let cases = [
            (
                3,
                report(Some("2.25.7"), &["1.2.3"], vec![]),
                "Event Type ID 3",
            ),
            (1, report(None, &["1.2.3"], vec![]), "Transaction UID"),
            (
                1,
                report(
                    Some("2.25.7"),
                    &["1.2.3"],
                    vec![failed("1.2.4", Some(0x0110))],
                ),
                "Failed SOP Sequence",
            ),
            (1, report(Some("2.25.7"), &[], vec![]), "without Referenced"),
            (
                2,
                report(Some("2.25.7"), &["1.2.3"], vec![]),
                "Event Type 2",
            ),
            (
                2,
                report(Some("2.25.7"), &[], vec![failed("1.2.4", None)]),
                "without Failure Reason",
            ),
        ];
        for (event, data, why) in cases {
            let e = commitment_result(event, &data).unwrap_err();
            assert!(e.contains(why), "{e:?} should name {why:?}");
        }
    }

    #[test]
    fn the_request_names_the_transaction_and_every_instance() {
        let refs = [
            ("1.2.840.10008.5.1.4.1.1.7".to_string(), "1.2.3".to_string()),
            (
                "1.2.840.10008.5.1.4.1.1.104.1".to_string(),
                "1.2.4".to_string(),
            ),
        ];
        let obj = commitment_request("2.25.99", &refs);
        assert_eq!(
            text(&obj, tags::TRANSACTION_UID).as_deref(),
            Some("2.25.99")
        );
        let seq = items(&obj, tags::REFERENCED_SOP_SEQUENCE);
        assert_eq!(seq.len(), 2);
        assert_eq!(
            text(&seq[1], tags::REFERENCED_SOP_CLASS_UID).as_deref(),
            Some("1.2.840.10008.5.1.4.1.1.104.1")
        );
        assert_eq!(
            text(&seq[1], tags::REFERENCED_SOP_INSTANCE_UID).as_deref(),
            Some("1.2.4")
        );
        // and a report echoing it reads back
        let echoed = report(Some("2.25.99"), &["1.2.3", "1.2.4"], vec![]);
        assert_eq!(commitment_result(1, &echoed).unwrap().committed.len(), 2);
    }
}
