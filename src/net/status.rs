//! General DIMSE status codes (PS3.7 Annex C), named with the standard's wording.
//! Print-specific codes (PS3.4 Annex H) live in `print::status`.

/// Success.
pub const SUCCESS: u16 = 0x0000;
/// Failure: No such attribute.
pub const NO_SUCH_ATTRIBUTE: u16 = 0x0105;
/// Failure: Invalid attribute value.
pub const INVALID_ATTRIBUTE_VALUE: u16 = 0x0106;
/// Warning: Attribute list error.
pub const ATTRIBUTE_LIST_ERROR: u16 = 0x0107;
/// Failure: Processing failure.
pub const PROCESSING_FAILURE: u16 = 0x0110;
/// Failure: Duplicate SOP Instance.
pub const DUPLICATE_SOP_INSTANCE: u16 = 0x0111;
/// Failure: No such SOP Instance.
pub const NO_SUCH_SOP_INSTANCE: u16 = 0x0112;
/// Failure: No such event type.
pub const NO_SUCH_EVENT_TYPE: u16 = 0x0113;
/// Failure: No such argument.
pub const NO_SUCH_ARGUMENT: u16 = 0x0114;
/// Failure: Invalid argument value.
pub const INVALID_ARGUMENT_VALUE: u16 = 0x0115;
/// Warning: Attribute Value Out of Range.
pub const ATTRIBUTE_VALUE_OUT_OF_RANGE: u16 = 0x0116;
/// Failure: Invalid object instance.
pub const INVALID_OBJECT_INSTANCE: u16 = 0x0117;
/// Failure: No such SOP Class.
pub const NO_SUCH_SOP_CLASS: u16 = 0x0118;
/// Failure: Class-instance conflict.
pub const CLASS_INSTANCE_CONFLICT: u16 = 0x0119;
/// Failure: Missing attribute.
pub const MISSING_ATTRIBUTE: u16 = 0x0120;
/// Failure: Missing attribute value.
pub const MISSING_ATTRIBUTE_VALUE: u16 = 0x0121;
/// Failure: Refused: SOP Class not supported.
pub const SOP_CLASS_NOT_SUPPORTED: u16 = 0x0122;
/// Failure: No such action.
pub const NO_SUCH_ACTION: u16 = 0x0123;
/// Failure: Refused: not authorized.
pub const NOT_AUTHORIZED: u16 = 0x0124;
/// Failure: Duplicate invocation.
pub const DUPLICATE_INVOCATION: u16 = 0x0210;
/// Failure: Unrecognized operation.
pub const UNRECOGNIZED_OPERATION: u16 = 0x0211;
/// Failure: Mistyped argument.
pub const MISTYPED_ARGUMENT: u16 = 0x0212;
/// Failure: Resource limitation.
pub const RESOURCE_LIMITATION: u16 = 0x0213;

/// Status classes (PS3.7 C.1).
pub fn is_success(status: u16) -> bool {
    status == SUCCESS
}

/// Warning statuses: 0001, Bxxx, 0107, 0116 (PS3.7 C.1.2 and Annex H).
pub fn is_warning(status: u16) -> bool {
    status == 0x0001
        || status & 0xF000 == 0xB000
        || status == ATTRIBUTE_LIST_ERROR
        || status == ATTRIBUTE_VALUE_OUT_OF_RANGE
}
