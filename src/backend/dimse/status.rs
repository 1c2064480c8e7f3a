//! Status codes of the services filmd uses as an SCU (C-STORE PS3.4 B.2.3, C-FIND
//! PS3.4 C.4.1.1.4 and K.4.1.1.4, N-ACTION/N-EVENT-REPORT PS3.7 10.1) with the standard's
//! wording, and which failures are worth trying again.
//!
//! General codes (0x01xx, 0x02xx) are [`crate::net::status`]'s; only the codes of the
//! Storage and Query services and the Storage Commitment failure reasons live here.

pub use crate::net::status::*;

/// C-STORE Failure: Refused: Out of Resources (A7xx).
pub const STORE_OUT_OF_RESOURCES: u16 = 0xA700;
/// C-STORE Failure: Error: Data Set Does Not Match SOP Class (A9xx).
pub const STORE_DATA_SET_DOES_NOT_MATCH: u16 = 0xA900;
/// C-STORE Failure: Error: Cannot understand (Cxxx).
pub const STORE_CANNOT_UNDERSTAND: u16 = 0xC000;
/// C-STORE Warning: Coercion of Data Elements.
pub const STORE_COERCION_OF_DATA_ELEMENTS: u16 = 0xB000;
/// C-STORE Warning: Elements Discarded.
pub const STORE_ELEMENTS_DISCARDED: u16 = 0xB006;
/// C-STORE Warning: Data Set Does Not Match SOP Class.
pub const STORE_DATA_SET_DOES_NOT_MATCH_WARNING: u16 = 0xB007;

/// C-FIND Failure: Refused: Out of Resources.
pub const FIND_OUT_OF_RESOURCES: u16 = 0xA700;
/// C-FIND Failure: Error: Identifier Does Not Match SOP Class.
pub const FIND_IDENTIFIER_DOES_NOT_MATCH: u16 = 0xA900;
/// C-FIND Failure: Error: Unable to process (Cxxx).
pub const FIND_UNABLE_TO_PROCESS: u16 = 0xC000;
/// C-FIND Cancel: Matching terminated due to Cancel request.
pub const FIND_CANCELLED: u16 = 0xFE00;
/// C-FIND Pending: Matches are continuing; current match supplied, any Optional Keys
/// were supported in the same manner as Required Keys.
pub const FIND_PENDING: u16 = 0xFF00;
/// C-FIND Pending: Matches are continuing; warning that one or more Optional Keys were
/// not supported for existence and/or matching for this Identifier.
pub const FIND_PENDING_OPTIONAL_KEYS_NOT_SUPPORTED: u16 = 0xFF01;

/// Storage Commitment Failure Reason (0008,1197), PS3.3 C.14.1.1: Processing failure.
pub const COMMIT_PROCESSING_FAILURE: u16 = 0x0110;
/// Failure Reason: No such object instance.
pub const COMMIT_NO_SUCH_OBJECT_INSTANCE: u16 = 0x0112;
/// Failure Reason: Resource limitation.
pub const COMMIT_RESOURCE_LIMITATION: u16 = 0x0213;
/// Failure Reason: Referenced SOP Class not supported.
pub const COMMIT_REFERENCED_SOP_CLASS_NOT_SUPPORTED: u16 = 0x0122;
/// Failure Reason: Class / Instance conflict.
pub const COMMIT_CLASS_INSTANCE_CONFLICT: u16 = 0x0119;
/// Failure Reason: Duplicate transaction UID.
pub const COMMIT_DUPLICATE_TRANSACTION_UID: u16 = 0x0131;

/// The standard's wording for a C-STORE response status (PS3.4 Table B.2-1, PS3.7
/// 9.1.1.1.9), for logs and the operator's "last error".
pub fn store_status_meaning(status: u16) -> &'static str {
    match status {
        SUCCESS => "Success",
        STORE_COERCION_OF_DATA_ELEMENTS => "Warning: Coercion of Data Elements",
        STORE_ELEMENTS_DISCARDED => "Warning: Elements Discarded",
        STORE_DATA_SET_DOES_NOT_MATCH_WARNING => "Warning: Data Set Does Not Match SOP Class",
        SOP_CLASS_NOT_SUPPORTED => "Refused: SOP Class not supported",
        NOT_AUTHORIZED => "Refused: Not Authorized",
        INVALID_OBJECT_INSTANCE => "Invalid SOP Instance",
        DUPLICATE_INVOCATION => "Duplicate invocation",
        UNRECOGNIZED_OPERATION => "Unrecognized operation",
        MISTYPED_ARGUMENT => "Mistyped argument",
        PROCESSING_FAILURE => "Processing failure",
        RESOURCE_LIMITATION => "Resource limitation",
        s if s & 0xFF00 == STORE_OUT_OF_RESOURCES => "Refused: Out of Resources",
        s if s & 0xFF00 == STORE_DATA_SET_DOES_NOT_MATCH => {
            "Error: Data Set Does Not Match SOP Class"
        }
        s if s & 0xF000 == STORE_CANNOT_UNDERSTAND => "Error: Cannot understand",
        s if s & 0xF000 == 0xB000 => "Warning",
        _ => "Failure",
    }
}

/// The standard's wording for a C-FIND response status (PS3.4 C.4.1.1.4).
pub fn find_status_meaning(status: u16) -> &'static str {
    match status {
        SUCCESS => "Matching is complete",
        FIND_PENDING => "Pending: Matches are continuing",
        FIND_PENDING_OPTIONAL_KEYS_NOT_SUPPORTED => {
            "Pending: Matches are continuing, Optional Keys not supported"
        }
        FIND_CANCELLED => "Cancel: Matching terminated due to Cancel request",
        SOP_CLASS_NOT_SUPPORTED => "Refused: SOP Class not supported",
        s if s & 0xFF00 == FIND_OUT_OF_RESOURCES => "Refused: Out of Resources",
        s if s & 0xFF00 == FIND_IDENTIFIER_DOES_NOT_MATCH => {
            "Error: Identifier Does Not Match SOP Class"
        }
        s if s & 0xF000 == FIND_UNABLE_TO_PROCESS => "Error: Unable to process",
        _ => "Failure",
    }
}

/// The standard's wording for a Storage Commitment Failure Reason (PS3.3 C.14.1.1).
pub fn failure_reason_meaning(reason: u16) -> &'static str {
    match reason {
        COMMIT_PROCESSING_FAILURE => "Processing failure",
        COMMIT_NO_SUCH_OBJECT_INSTANCE => "No such object instance",
        COMMIT_RESOURCE_LIMITATION => "Resource limitation",
        COMMIT_REFERENCED_SOP_CLASS_NOT_SUPPORTED => "Referenced SOP Class not supported",
        COMMIT_CLASS_INSTANCE_CONFLICT => "Class / Instance conflict",
        COMMIT_DUPLICATE_TRANSACTION_UID => "Duplicate transaction UID",
        _ => "Unknown failure reason",
    }
}

/// Whether a failure status may go away by itself, so the request is worth sending again
/// later: the peer ran out of resources (A7xx, 0213) or failed while processing (0110).
/// Everything else (the SOP class refused, the data set not understood or not matching,
/// not authorized, a malformed request) repeats itself with the same data set.
pub fn is_retryable_status(status: u16) -> bool {
    status & 0xFF00 == 0xA700 || status == RESOURCE_LIMITATION || status == PROCESSING_FAILURE
}

/// Success or a warning: the instance was stored (PS3.4 B.2.3: a warning still means
/// the SCP kept it).
pub fn is_stored(status: u16) -> bool {
    is_success(status) || is_warning(status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_resources_and_processing_failures_are_retryable() {
        for s in [
            0xA700,
            0xA701,
            0xA7FF,
            RESOURCE_LIMITATION,
            PROCESSING_FAILURE,
        ] {
            assert!(is_retryable_status(s), "0x{s:04X}");
        }
    }

    #[test]
    fn refusals_and_data_set_errors_are_permanent() {
        for s in [
            SOP_CLASS_NOT_SUPPORTED,
            NOT_AUTHORIZED,
            UNRECOGNIZED_OPERATION,
            MISTYPED_ARGUMENT,
            INVALID_OBJECT_INSTANCE,
            0xA900,
            0xA9FF,
            0xC000,
            0xC123,
        ] {
            assert!(!is_retryable_status(s), "0x{s:04X}");
        }
    }

    #[test]
    fn warnings_mean_stored() {
        for s in [
            SUCCESS,
            STORE_COERCION_OF_DATA_ELEMENTS,
            STORE_ELEMENTS_DISCARDED,
            STORE_DATA_SET_DOES_NOT_MATCH_WARNING,
        ] {
            assert!(is_stored(s), "0x{s:04X}");
        }
        for s in [0xA700, 0xA900, 0xC000, SOP_CLASS_NOT_SUPPORTED] {
            assert!(!is_stored(s), "0x{s:04X}");
        }
    }

    #[test]
    fn store_statuses_read_as_the_standard_words_them() {
        assert_eq!(store_status_meaning(0xA702), "Refused: Out of Resources");
        assert_eq!(
            store_status_meaning(0xA900),
            "Error: Data Set Does Not Match SOP Class"
        );
        assert_eq!(store_status_meaning(0xC005), "Error: Cannot understand");
        assert_eq!(
            store_status_meaning(0x0122),
            "Refused: SOP Class not supported"
        );
        assert_eq!(
            store_status_meaning(0xB007),
            "Warning: Data Set Does Not Match SOP Class"
        );
        assert_eq!(
            find_status_meaning(0xFE00).split(':').next(),
            Some("Cancel")
        );
        assert_eq!(failure_reason_meaning(0x0112), "No such object instance");
    }
}
