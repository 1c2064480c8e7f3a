//! Basic Annotation Box SOP Class (PS3.4 H.4.5): N-SET of the text of an annotation box
//! created by the film box's Annotation Display Format ID.
//!
//! The formats are data ([`crate::film::AnnotationFormats`], from layouts/annotations.toml).
//! Text String arrives decoded by dicom-object according to the data set's Specific
//! Character Set (0008,0005): ISO_IR 100 (Latin-1), ISO_IR 192 (UTF-8) and the other
//! single-byte sets it knows become Unicode here.

use super::PrintHandler;
use super::attrs::{self, Refusal};
use super::film_box::FilmBox;
use super::status;
use crate::film::Annotation;
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

impl PrintHandler {
    pub(crate) fn annotation_box_set(
        &mut self,
        instance: Option<String>,
        data: &InMemDicomObject,
    ) -> Result<Response, Refusal> {
        let Some(uid) = instance else {
            return Err(Refusal::new(
                status::MISSING_ATTRIBUTE,
                "Requested SOP Instance UID missing",
            ));
        };
        let found = self
            .film_boxes
            .iter_mut()
            .flat_map(|fb| fb.annotation_boxes.iter_mut())
            .find(|a| a.uid == uid)
            .ok_or_else(|| {
                Refusal::new(
                    status::NO_SUCH_SOP_INSTANCE,
                    format!("no annotation box {uid} on this association"),
                )
            })?;
        if let Some(p) = attrs::unsigned(data, tags::ANNOTATION_POSITION)?
            && p != found.position
        {
            return Err(Refusal::invalid(
                tags::ANNOTATION_POSITION,
                format!(
                    "Annotation Position {p}; this box is position {}",
                    found.position
                ),
            ));
        }
        if data.get(tags::TEXT_STRING).is_some() {
            let text = attrs::string(data, tags::TEXT_STRING)?;
            if text.as_ref().is_some_and(|t| t.chars().count() > 64) {
                return Err(Refusal::invalid(
                    tags::TEXT_STRING,
                    "Text String longer than 64 characters (LO)",
                ));
            }
            tracing::debug!(assoc = self.info.id, position = found.position, text = ?text, "annotation text set");
            found.text = text;
        }
        Ok(Response::status(status::SUCCESS))
    }

    /// The annotations of a film box as its film will carry them: every position of its
    /// Annotation Display Format (the format an alias of the queue stands for), with the
    /// text set for it.
    pub(crate) fn film_annotations(&self, fb: &FilmBox) -> Vec<Annotation> {
        let Some(id) = &fb.annotation_format else {
            return Vec::new();
        };
        let texts: Vec<(u32, Option<String>)> = fb
            .annotation_boxes
            .iter()
            .map(|a| (a.position, a.text.clone()))
            .collect();
        let format = self.queue().annotation_aliases.resolve(id);
        self.config.annotation_formats.annotations(format, &texts)
    }
}
