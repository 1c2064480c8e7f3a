//! Basic Film Session SOP Class (PS3.4 H.4.1): N-CREATE, N-SET, N-DELETE, N-ACTION.

use super::attrs::{self, Refusal, tag_u32};
use super::status;
use super::uids;
use super::{PrintHandler, new_uid};
use crate::film::Medium;
use crate::net::Response;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

/// Largest Number of Copies accepted.
pub const MAX_COPIES: u32 = 99;

/// The film session of an association (PS3.3 C.13.1).
#[derive(Debug, Clone)]
pub struct FilmSession {
    pub uid: String,
    /// The session came on the Basic Color Print Management Meta SOP class.
    pub color: bool,
    pub number_of_copies: u32,
    pub print_priority: String,
    pub medium: Medium,
    pub film_destination: String,
    pub label: String,
    pub owner_id: String,
    /// Pre-CP-173 SCUs put these on the session rather than the film box.
    pub presentation_lut: Option<String>,
    pub illumination: Option<u16>,
    pub reflected_ambient_light: Option<u16>,
}

const ALLOWED: [Tag; 10] = [
    tags::NUMBER_OF_COPIES,
    tags::PRINT_PRIORITY,
    tags::MEDIUM_TYPE,
    tags::FILM_DESTINATION,
    tags::FILM_SESSION_LABEL,
    tags::MEMORY_ALLOCATION,
    tags::OWNER_ID,
    tags::REFERENCED_PRESENTATION_LUT_SEQUENCE,
    tags::ILLUMINATION,
    tags::REFLECTED_AMBIENT_LIGHT,
];

fn valid_destination(d: &str) -> bool {
    matches!(d, "MAGAZINE" | "PROCESSOR")
        || d.strip_prefix("BIN_")
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

impl PrintHandler {
    /// Applies N-CREATE/N-SET attributes to `session`; returns the warning status, if any.
    fn apply_session_attributes(
        &self,
        session: &mut FilmSession,
        data: &InMemDicomObject,
    ) -> Result<u16, Refusal> {
        let mut warning = status::SUCCESS;
        if let Some(n) = attrs::unsigned(data, tags::NUMBER_OF_COPIES)? {
            if !(1..=MAX_COPIES).contains(&n) {
                return Err(Refusal::invalid(
                    tags::NUMBER_OF_COPIES,
                    format!("Number of Copies {n} outside 1..={MAX_COPIES}"),
                ));
            }
            session.number_of_copies = n;
        }
        if let Some(p) = attrs::term(
            data,
            tags::PRINT_PRIORITY,
            |s| matches!(s, "HIGH" | "MED" | "LOW").then(|| s.to_string()),
            "HIGH, MED or LOW",
        )? {
            session.print_priority = p;
        }
        let accepted = &self.queue().medium_types;
        if let Some(m) = attrs::term(
            data,
            tags::MEDIUM_TYPE,
            |s| Medium::from_term(s).filter(|m| accepted.contains(m)),
            "a medium type this printer loads",
        )? {
            session.medium = m;
        }
        if let Some(d) = attrs::term(
            data,
            tags::FILM_DESTINATION,
            |s| valid_destination(s).then(|| s.to_string()),
            "MAGAZINE, PROCESSOR or BIN_i",
        )? {
            session.film_destination = d;
        }
        if let Some(l) = attrs::string(data, tags::FILM_SESSION_LABEL)? {
            session.label = l;
        }
        if let Some(o) = attrs::string(data, tags::OWNER_ID)? {
            session.owner_id = o;
        }
        if data.get(tags::MEMORY_ALLOCATION).is_some() {
            warning = status::MEMORY_ALLOCATION_NOT_SUPPORTED;
        }
        if data
            .get(tags::REFERENCED_PRESENTATION_LUT_SEQUENCE)
            .is_some()
        {
            let uid = attrs::referenced_instance(data, tags::REFERENCED_PRESENTATION_LUT_SEQUENCE)?;
            if let Some(uid) = &uid
                && !self.luts.contains_key(uid)
            {
                return Err(Refusal::invalid(
                    tags::REFERENCED_PRESENTATION_LUT_SEQUENCE,
                    format!("Presentation LUT {uid} does not exist"),
                ));
            }
            session.presentation_lut = uid;
        }
        if let Some(v) = attrs::unsigned(data, tags::ILLUMINATION)? {
            session.illumination = Some(v.min(u32::from(u16::MAX)) as u16);
        }
        if let Some(v) = attrs::unsigned(data, tags::REFLECTED_AMBIENT_LIGHT)? {
            session.reflected_ambient_light = Some(v.min(u32::from(u16::MAX)) as u16);
        }
        let unknown = attrs::unsupported(data, &ALLOWED);
        if !unknown.is_empty() && warning == status::SUCCESS {
            warning = status::ATTRIBUTE_LIST_ERROR;
        }
        Ok(warning)
    }

    fn session_data_set(session: &FilmSession) -> InMemDicomObject {
        let mut obj = InMemDicomObject::new_empty();
        obj.put(DataElement::new(
            tags::NUMBER_OF_COPIES,
            VR::IS,
            PrimitiveValue::from(session.number_of_copies.to_string()),
        ));
        obj.put(DataElement::new(
            tags::PRINT_PRIORITY,
            VR::CS,
            PrimitiveValue::from(session.print_priority.as_str()),
        ));
        obj.put(DataElement::new(
            tags::MEDIUM_TYPE,
            VR::CS,
            PrimitiveValue::from(session.medium.term()),
        ));
        obj.put(DataElement::new(
            tags::FILM_DESTINATION,
            VR::CS,
            PrimitiveValue::from(session.film_destination.as_str()),
        ));
        if !session.label.is_empty() {
            obj.put(DataElement::new(
                tags::FILM_SESSION_LABEL,
                VR::LO,
                PrimitiveValue::from(session.label.as_str()),
            ));
        }
        if !session.owner_id.is_empty() {
            obj.put(DataElement::new(
                tags::OWNER_ID,
                VR::SH,
                PrimitiveValue::from(session.owner_id.as_str()),
            ));
        }
        obj
    }

    pub(crate) fn film_session_create(
        &mut self,
        instance: Option<String>,
        data: &InMemDicomObject,
        meta: &str,
    ) -> Result<Response, Refusal> {
        if let Some(existing) = &self.session {
            // H.4.1.2.1.3: only one film session per association; the standard names no
            // status, and DCMTK answers "duplicate SOP instance" too.
            return Err(Refusal::new(
                status::DUPLICATE_SOP_INSTANCE,
                format!(
                    "a film session ({}) already exists on this association",
                    existing.uid
                ),
            ));
        }
        let color = meta == uids::BASIC_COLOR_PRINT_MANAGEMENT_META;
        if color && !self.queue().accepts_color() {
            return Err(Refusal::new(
                status::SOP_CLASS_NOT_SUPPORTED,
                format!("queue {} prints grayscale only", self.queue().name),
            ));
        }
        let queue = self.queue();
        let mut session = FilmSession {
            uid: instance.unwrap_or_else(new_uid),
            color,
            number_of_copies: 1,
            print_priority: "MED".into(),
            medium: queue.default_medium_type,
            film_destination: "MAGAZINE".into(),
            label: String::new(),
            owner_id: String::new(),
            presentation_lut: None,
            illumination: None,
            reflected_ambient_light: None,
        };
        let warning = self.apply_session_attributes(&mut session, data)?;
        let mut response = Response::status(warning);
        response.affected_sop_instance_uid = Some(session.uid.clone());
        response.affected_sop_class_uid = Some(uids::BASIC_FILM_SESSION.into());
        response.data = Some(Self::session_data_set(&session));
        if warning == status::ATTRIBUTE_LIST_ERROR {
            response.offending_element = attrs::unsupported(data, &ALLOWED)
                .into_iter()
                .map(tag_u32)
                .collect();
            response.error_comment = Some("attributes not supported were ignored".into());
        }
        self.session = Some(session);
        Ok(response)
    }

    /// The session addressed by `instance`, or 0x0112.
    fn session_uid_check(&self, instance: Option<&str>) -> Result<(), Refusal> {
        match (&self.session, instance) {
            (Some(s), Some(uid)) if s.uid == uid => Ok(()),
            (_, None) => Err(Refusal::new(
                status::MISSING_ATTRIBUTE,
                "Requested SOP Instance UID missing",
            )),
            (_, Some(uid)) => Err(Refusal::new(
                status::NO_SUCH_SOP_INSTANCE,
                format!("no film session {uid} on this association"),
            )),
        }
    }

    pub(crate) fn film_session_set(
        &mut self,
        instance: Option<String>,
        data: &InMemDicomObject,
    ) -> Result<Response, Refusal> {
        self.session_uid_check(instance.as_deref())?;
        let mut session = self.session.clone().expect("checked above");
        let warning = self.apply_session_attributes(&mut session, data)?;
        self.session = Some(session);
        Ok(Response::status(warning))
    }

    pub(crate) fn film_session_delete(
        &mut self,
        instance: Option<String>,
    ) -> Result<Response, Refusal> {
        self.session_uid_check(instance.as_deref())?;
        // Deleting the session deletes its film boxes and their boxes (H.4.1.2.3).
        self.session = None;
        self.film_boxes.clear();
        self.image_bytes = 0;
        Ok(Response::status(status::SUCCESS))
    }

    pub(crate) fn film_session_print(
        &mut self,
        instance: Option<String>,
        action: Option<u16>,
    ) -> Result<Response, Refusal> {
        self.session_uid_check(instance.as_deref())?;
        if action != Some(1) {
            return Err(Refusal::new(
                status::NO_SUCH_ACTION,
                format!("Action Type ID {action:?}: only 1 (print) exists"),
            ));
        }
        if self.film_boxes.is_empty() {
            return Err(Refusal::new(
                status::FILM_SESSION_HAS_NO_FILM_BOX,
                "the film session has no film box",
            ));
        }
        let indices: Vec<usize> = (0..self.film_boxes.len())
            .filter(|&i| self.film_boxes[i].has_images())
            .collect();
        if indices.is_empty() {
            // B602 is a warning: nothing is wasted on blank films, nothing is queued.
            return Ok(Response::error(
                status::FILM_SESSION_EMPTY_PAGE,
                "no image box of the session holds an image: nothing printed",
                None,
            ));
        }
        self.print(&indices, true)
    }

    /// Attributes of the session as the film boxes see them.
    pub(crate) fn session(&self) -> Option<&FilmSession> {
        self.session.as_ref()
    }
}

#[cfg(test)]
mod tests {
    use super::valid_destination;

    #[test]
    fn film_destinations() {
        assert!(
            valid_destination("MAGAZINE")
                && valid_destination("PROCESSOR")
                && valid_destination("BIN_12")
        );
        assert!(
            !valid_destination("BIN_") && !valid_destination("BIN_X") && !valid_destination("TRAY")
        );
    }
}
