//! How `filmd print` words what happened, as DCMTK's dcmprscu logs it: a status in hex
//! with the standard's meaning (PS3.7 Annex C, PS3.4 H.4 status tables), the Print Job's
//! execution states (PS3.4 H.4.8.1.1) and the names of the SOP classes and transfer
//! syntaxes negotiated.

use crate::net::dataset as codec;
use crate::print::print_job::{EVENT_DONE, EVENT_FAILURE, EVENT_PENDING, EVENT_PRINTING};
use crate::print::status::*;
use crate::print::uids;

/// The standard's meaning of a Print Management response status: the Print Management
/// codes of PS3.4 Annex H, the general DIMSE codes of PS3.7 C, and else the status class
/// (PS3.7 C.1: Warning 0001 and Bxxx, Refused Axxx, Error Cxxx, Failure otherwise).
pub fn status_meaning(status: u16) -> &'static str {
    match status {
        SUCCESS => "Success",
        MEMORY_ALLOCATION_NOT_SUPPORTED => "Warning: Memory allocation not supported",
        FILM_SESSION_PRINTING_NOT_SUPPORTED => {
            "Warning: Film session printing (collation) is not supported"
        }
        FILM_SESSION_EMPTY_PAGE => {
            "Warning: Film Session SOP Instance hierarchy does not contain Image Box SOP Instances (empty page)"
        }
        FILM_BOX_EMPTY_PAGE => {
            "Warning: Film Box SOP Instance hierarchy does not contain Image Box SOP Instances (empty page)"
        }
        IMAGE_DEMAGNIFIED => {
            "Warning: Image size is larger than image box size, the image has been demagnified"
        }
        DENSITY_OUT_OF_RANGE => {
            "Warning: Requested Min Density or Max Density outside of printer's operating range"
        }
        IMAGE_CROPPED => {
            "Warning: Image size is larger than the Image Box size, the Image has been cropped to fit"
        }
        IMAGE_DECIMATED => {
            "Warning: Image size is larger than the Image Box size, the image has been decimated to fit"
        }
        ATTRIBUTE_LIST_ERROR => "Warning: Attribute list error",
        ATTRIBUTE_VALUE_OUT_OF_RANGE => "Warning: Attribute Value Out of Range",
        FILM_SESSION_HAS_NO_FILM_BOX => {
            "Failure: Film Session SOP Instance hierarchy does not contain Film Box SOP Instances"
        }
        SESSION_PRINT_QUEUE_FULL | FILM_BOX_PRINT_QUEUE_FULL => {
            "Failure: Unable to create Print Job SOP Instance; print queue is full"
        }
        IMAGE_LARGER_THAN_BOX => "Failure: Image size is larger than image box size",
        INSUFFICIENT_MEMORY => "Failure: Insufficient memory in printer to store the image",
        COMBINED_IMAGE_LARGER_THAN_BOX => {
            "Failure: Combined Print Image size is larger than the Image Box size"
        }
        UNPRINTED_FILM_BOX_EXISTS => {
            "Failure: There is an existing Film Box that has not been printed and N-ACTION at the Film Session level is not supported"
        }
        NO_SUCH_ATTRIBUTE => "Failure: No such attribute",
        INVALID_ATTRIBUTE_VALUE => "Failure: Invalid attribute value",
        PROCESSING_FAILURE => "Failure: Processing failure",
        DUPLICATE_SOP_INSTANCE => "Failure: Duplicate SOP Instance",
        NO_SUCH_SOP_INSTANCE => "Failure: No such SOP Instance",
        NO_SUCH_EVENT_TYPE => "Failure: No such event type",
        NO_SUCH_ARGUMENT => "Failure: No such argument",
        INVALID_ARGUMENT_VALUE => "Failure: Invalid argument value",
        INVALID_OBJECT_INSTANCE => "Failure: Invalid object instance",
        NO_SUCH_SOP_CLASS => "Failure: No such SOP Class",
        CLASS_INSTANCE_CONFLICT => "Failure: Class-instance conflict",
        MISSING_ATTRIBUTE => "Failure: Missing attribute",
        MISSING_ATTRIBUTE_VALUE => "Failure: Missing attribute value",
        SOP_CLASS_NOT_SUPPORTED => "Refused: SOP Class not supported",
        NO_SUCH_ACTION => "Failure: No such action",
        NOT_AUTHORIZED => "Refused: Not authorized",
        DUPLICATE_INVOCATION => "Failure: Duplicate invocation",
        UNRECOGNIZED_OPERATION => "Failure: Unrecognized operation",
        MISTYPED_ARGUMENT => "Failure: Mistyped argument",
        RESOURCE_LIMITATION => "Failure: Resource limitation",
        s if is_warning(s) => "Warning",
        s if s & 0xF000 == 0xA000 => "Refused",
        s if s & 0xF000 == 0xC000 => "Error: Cannot understand",
        _ => "Failure",
    }
}

/// Whether a status lets the film go on: success or a warning (PS3.7 C.1.2); warnings
/// are reported and still count as printed.
pub fn is_done(status: u16) -> bool {
    is_success(status) || is_warning(status)
}

/// One report line of a response: `SERVICE: 0xSSSS MEANING[ (Error Comment "...")]`, the
/// fields dcmprscu's log gives.
pub fn status_line(service: &str, status: u16, comment: Option<&str>) -> String {
    let comment = comment
        .map(str::trim)
        .filter(|c| !c.is_empty())
        .map(|c| format!(" (Error Comment \"{c}\")"))
        .unwrap_or_default();
    format!(
        "{service}: 0x{status:04X} {}{comment}",
        status_meaning(status)
    )
}

/// Execution Status of a Print Job N-EVENT-REPORT's Event Type ID (PS3.4 H.4.8.1.1,
/// Table H.4-12): 1 Pending, 2 Printing, 3 Done, 4 Failure.
pub fn print_job_event(event_type_id: u16) -> &'static str {
    match event_type_id {
        EVENT_PENDING => "PENDING",
        EVENT_PRINTING => "PRINTING",
        EVENT_DONE => "DONE",
        EVENT_FAILURE => "FAILURE",
        _ => "unknown event",
    }
}

/// The name of an abstract syntax filmd print proposes (PS3.6 Annex A), else its UID.
pub fn sop_class_name(uid: &str) -> &str {
    match uid {
        uids::BASIC_GRAYSCALE_PRINT_MANAGEMENT_META => "Basic Grayscale Print Management Meta",
        uids::BASIC_COLOR_PRINT_MANAGEMENT_META => "Basic Color Print Management Meta",
        uids::PRINT_JOB => "Print Job",
        uids::BASIC_ANNOTATION_BOX => "Basic Annotation Box",
        super::super::VERIFICATION => "Verification",
        other => other,
    }
}

/// The name of a transfer syntax (PS3.6 Annex A), else its UID.
pub fn transfer_syntax_name(uid: &str) -> &str {
    match uid {
        codec::EXPLICIT_VR_LE => "Explicit VR Little Endian",
        codec::IMPLICIT_VR_LE => "Implicit VR Little Endian",
        "1.2.840.10008.1.2.2" => "Explicit VR Big Endian",
        other => other,
    }
}
