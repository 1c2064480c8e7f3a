//! Reading and checking request attributes: each problem becomes the status the standard
//! assigns, an Error Comment naming the attribute and the Offending Element.

use crate::net::Response;
use crate::net::status;
use dicom_core::Tag;
use dicom_core::header::{HasLength, Header};
use dicom_object::InMemDicomObject;

/// A refused request: status, comment and offending element.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub comment: String,
    pub offending: Option<Tag>,
}

impl Refusal {
    pub fn new(status: u16, comment: impl Into<String>) -> Self {
        Refusal {
            status,
            comment: comment.into(),
            offending: None,
        }
    }
    pub fn at(status: u16, tag: Tag, comment: impl Into<String>) -> Self {
        Refusal {
            status,
            comment: comment.into(),
            offending: Some(tag),
        }
    }
    /// 0x0106 Invalid attribute value.
    pub fn invalid(tag: Tag, comment: impl Into<String>) -> Self {
        Self::at(status::INVALID_ATTRIBUTE_VALUE, tag, comment)
    }
}

impl From<Refusal> for Response {
    fn from(r: Refusal) -> Response {
        Response::error(r.status, r.comment, r.offending.map(tag_u32))
    }
}

/// A tag as the (group << 16 | element) value of Offending Element.
pub fn tag_u32(tag: Tag) -> u32 {
    (u32::from(tag.group()) << 16) | u32::from(tag.element())
}

/// The attribute's name for messages.
pub fn tag_name(tag: Tag) -> String {
    use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry};
    let name = dicom_dictionary_std::StandardDataDictionary
        .by_tag(tag)
        .map(|e| e.alias().to_string())
        .unwrap_or_else(|| "attribute".into());
    format!("{name} {tag}")
}

/// Reads a string attribute, trimmed; absent or empty → `None`.
pub fn string(obj: &InMemDicomObject, tag: Tag) -> Result<Option<String>, Refusal> {
    match obj.get(tag) {
        None => Ok(None),
        Some(e) if e.is_empty() => Ok(None),
        Some(e) => e
            .to_str()
            .map(|s| {
                let t = s.trim_matches(|c: char| c == ' ' || c == '\0').to_string();
                (!t.is_empty()).then_some(t)
            })
            .map_err(|_| Refusal::invalid(tag, format!("{} is not text", tag_name(tag)))),
    }
}

/// Reads an unsigned integer attribute (US, IS, UL); absent or empty → `None`.
pub fn unsigned(obj: &InMemDicomObject, tag: Tag) -> Result<Option<u32>, Refusal> {
    match obj.get(tag) {
        None => Ok(None),
        Some(e) if e.is_empty() => Ok(None),
        Some(e) => e.to_int::<u32>().map(Some).map_err(|_| {
            Refusal::invalid(
                tag,
                format!("{} is not a non-negative integer", tag_name(tag)),
            )
        }),
    }
}

/// Reads a decimal attribute (DS).
pub fn decimal(obj: &InMemDicomObject, tag: Tag) -> Result<Option<f64>, Refusal> {
    match obj.get(tag) {
        None => Ok(None),
        Some(e) if e.is_empty() => Ok(None),
        Some(e) => e
            .to_float64()
            .map(Some)
            .map_err(|_| Refusal::invalid(tag, format!("{} is not a number", tag_name(tag)))),
    }
}

/// Reads a defined term and maps it, or refuses with 0x0106 listing the accepted terms.
pub fn term<T>(
    obj: &InMemDicomObject,
    tag: Tag,
    parse: impl Fn(&str) -> Option<T>,
    accepted: &str,
) -> Result<Option<T>, Refusal> {
    match string(obj, tag)? {
        None => Ok(None),
        Some(s) => parse(&s).map(Some).ok_or_else(|| {
            Refusal::invalid(
                tag,
                format!("{} {s:?} not supported; use {accepted}", tag_name(tag)),
            )
        }),
    }
}

/// The Referenced SOP Instance UID of the first item of a reference sequence.
pub fn referenced_instance(obj: &InMemDicomObject, tag: Tag) -> Result<Option<String>, Refusal> {
    let Some(e) = obj.get(tag) else {
        return Ok(None);
    };
    let Some(items) = e.items() else {
        return Err(Refusal::invalid(
            tag,
            format!("{} is not a sequence", tag_name(tag)),
        ));
    };
    let Some(item) = items.first() else {
        return Ok(None);
    };
    string(
        item,
        dicom_dictionary_std::tags::REFERENCED_SOP_INSTANCE_UID,
    )
    .and_then(|v| {
        v.ok_or_else(|| {
            Refusal::at(
                status::MISSING_ATTRIBUTE_VALUE,
                tag,
                format!("{} has no Referenced SOP Instance UID", tag_name(tag)),
            )
        })
    })
    .map(Some)
}

/// Refuses attributes outside `allowed` (PS3.4 H.4: the SCP supports a defined set per
/// SOP class). Returns the unsupported tags so that the caller can warn with 0x0107
/// instead of failing: modalities often send optional attributes of newer editions.
pub fn unsupported(obj: &InMemDicomObject, allowed: &[Tag]) -> Vec<Tag> {
    obj.iter()
        .map(|e| e.tag())
        .filter(|t| t.group() != 0x0008 || t.element() != 0x0005) // Specific Character Set
        .filter(|t| !allowed.contains(t))
        .collect()
}
