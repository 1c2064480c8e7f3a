//! Basic Annotation Box SOP Class (PS3.4 H.4.5): N-SET of the text of an annotation box
//! created by the film box's Annotation Display Format ID.

use super::attrs::{self, Refusal};
use super::status;
use super::PrintHandler;
use crate::net::Response;
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

/// An annotation box of a film box.
#[derive(Debug, Clone)]
pub struct AnnotationBox {
    pub uid: String,
    pub position: u32,
    pub text: Option<String>,
}

/// Annotation Display Format IDs filmd defines (SCP-defined, PS3.3 C.13.3) and how many
/// annotation positions each has. Listed in the README's conformance statement.
pub const ANNOTATION_FORMATS: [(&str, u32); 4] = [("LABEL", 1), ("TOP_BOTTOM", 2), ("CORNERS", 4), ("FULL", 6)];

/// The number of annotation positions of a format, or `None` if filmd does not define it.
pub fn annotation_positions(id: &str) -> Option<u32> {
    ANNOTATION_FORMATS.iter().find(|(name, _)| *name == id).map(|(_, n)| *n)
}

impl PrintHandler {
    pub(crate) fn annotation_box_set(&mut self, instance: Option<String>, data: &InMemDicomObject) -> Result<Response, Refusal> {
        let Some(uid) = instance else {
            return Err(Refusal::new(status::MISSING_ATTRIBUTE, "Requested SOP Instance UID missing"));
        };
        let found = self
            .film_boxes
            .iter_mut()
            .flat_map(|fb| fb.annotation_boxes.iter_mut())
            .find(|a| a.uid == uid)
            .ok_or_else(|| Refusal::new(status::NO_SUCH_SOP_INSTANCE, format!("no annotation box {uid} on this association")))?;
        if let Some(p) = attrs::unsigned(data, tags::ANNOTATION_POSITION)?
            && p != found.position
        {
            return Err(Refusal::invalid(tags::ANNOTATION_POSITION, format!("Annotation Position {p}; this box is position {}", found.position)));
        }
        if data.get(tags::TEXT_STRING).is_some() {
            let text = attrs::string(data, tags::TEXT_STRING)?;
            if text.as_ref().is_some_and(|t| t.chars().count() > 64) {
                return Err(Refusal::invalid(tags::TEXT_STRING, "Text String longer than 64 characters (LO)"));
            }
            found.text = text;
        }
        Ok(Response::status(status::SUCCESS))
    }
}
