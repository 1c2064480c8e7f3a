//! One film over an open association, in the order of PS3.4 H.4 and DCMTK's dcmprscu:
//! N-CREATE Basic Film Session, N-CREATE Basic Film Box (the SCP answers with the image
//! boxes it created), N-SET of each image box, N-ACTION "Print" on the film box (or the
//! session), N-DELETE of the session.

use super::dataset::{film_box, film_session, image_box, referenced_uids};
use super::{COLOR_META, Reply, Scu, ScuError};
use crate::net::dataset as codec;
use crate::net::status;
use crate::print::uids;
use dicom_core::{Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;
use std::time::{Duration, Instant};

/// A step of a film, to say which one a status belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    SessionCreate,
    FilmBoxCreate,
    /// Image Box Position (1-based).
    ImageBoxSet(u16),
    Action,
    SessionDelete,
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Step::SessionCreate => write!(f, "film session N-CREATE"),
            Step::FilmBoxCreate => write!(f, "film box N-CREATE"),
            Step::ImageBoxSet(p) => write!(f, "image box {p} N-SET"),
            Step::Action => write!(f, "N-ACTION"),
            Step::SessionDelete => write!(f, "film session N-DELETE"),
        }
    }
}

/// What to print: one film box of one film session.
pub struct FilmSpec<'a> {
    /// The Meta SOP Class whose context carries everything: [`super::GRAY_META`] or
    /// [`COLOR_META`] (which also selects the color image box and sequence).
    pub meta: &'a str,
    /// Image Display Format (2010,0010), e.g. `STANDARD\2,2`.
    pub format: &'a str,
    /// Film Size ID (2010,0050).
    pub size: &'a str,
    /// Film Orientation (2010,0040).
    pub orientation: &'a str,
    /// More film box attributes (tag, VR, value as text).
    pub film_box_extra: Vec<(Tag, VR, &'a str)>,
    /// One image per box, in position order; `None` leaves the box empty.
    pub images: Vec<Option<InMemDicomObject>>,
    /// More image box attributes, the same for every box.
    pub image_box_extra: Vec<(Tag, VR, &'a str)>,
    /// Print with N-ACTION on the film session instead of the film box.
    pub session_print: bool,
    /// Film Session Label (2000,0050).
    pub label: &'a str,
}

impl<'a> FilmSpec<'a> {
    /// A grayscale portrait 8INX10IN film.
    pub fn gray(format: &'a str, images: Vec<Option<InMemDicomObject>>) -> Self {
        FilmSpec {
            meta: super::GRAY_META,
            format,
            size: "8INX10IN",
            orientation: "PORTRAIT",
            film_box_extra: vec![],
            images,
            image_box_extra: vec![],
            session_print: false,
            label: "test film",
        }
    }

    fn color(&self) -> bool {
        self.meta == COLOR_META
    }
}

/// A film that reached its N-ACTION.
#[derive(Debug, Clone)]
pub struct PrintedFilm {
    pub session_uid: String,
    pub film_box_uid: String,
    /// The film box N-CREATE response data set (image box references, defaults).
    pub film_box: InMemDicomObject,
    /// The N-ACTION response: its status may be a failure, which the caller judges.
    pub action: Reply,
    /// From sending the N-ACTION request to its response.
    pub action_time: Duration,
    /// Warning statuses of the other steps (PS3.7 C.1.2), in order.
    pub warnings: Vec<(Step, u16)>,
}

/// The N-SET data sets of `spec`'s image boxes, encoded in `transfer_syntax`: the load
/// generator encodes them once and sends the same bytes for every film.
pub fn encode_image_boxes(
    spec: &FilmSpec,
    transfer_syntax: &str,
) -> Result<Vec<Option<Vec<u8>>>, ScuError> {
    spec.images
        .iter()
        .enumerate()
        .map(|(i, img)| {
            img.as_ref()
                .map(|img| {
                    let ds = image_box(
                        i as u16 + 1,
                        img.clone(),
                        spec.color(),
                        &spec.image_box_extra,
                    );
                    codec::encode(&ds, transfer_syntax).map_err(|e| ScuError::Encode(e.to_string()))
                })
                .transpose()
        })
        .collect()
}

/// Prints `spec` on an open association.
pub fn print_film(scu: &mut Scu, spec: &FilmSpec) -> Result<PrintedFilm, ScuError> {
    let (_, ts) = scu
        .context(spec.meta)
        .ok_or_else(|| ScuError::NoContext(spec.meta.into()))?;
    let boxes = encode_image_boxes(spec, &ts)?;
    print_film_encoded(scu, spec, &boxes)
}

/// Prints `spec` with image box data sets from [`encode_image_boxes`] (in the transfer
/// syntax of `spec.meta`'s context); `spec.images` is not read.
///
/// A failure status of any step but the N-ACTION is an [`ScuError::Status`]; once the
/// session exists it is still deleted (best effort), so that the association can print
/// its next film: an SCP may hold one film session per association (PS3.4 H.4.1).
pub fn print_film_encoded(
    scu: &mut Scu,
    spec: &FilmSpec,
    image_boxes: &[Option<Vec<u8>>],
) -> Result<PrintedFilm, ScuError> {
    let mut warnings = Vec::new();
    let session_uid = crate::print::new_uid();
    let r = scu.n_create(
        spec.meta,
        uids::BASIC_FILM_SESSION,
        Some(&session_uid),
        &film_session(1, spec.label),
    )?;
    judge(Step::SessionCreate, &r, &mut warnings)?;
    let printed = film_steps(scu, spec, image_boxes, &session_uid, &mut warnings);
    let deleted = scu.n_delete(spec.meta, uids::BASIC_FILM_SESSION, &session_uid);
    let printed = match (printed, deleted) {
        // The film's own error says more than the clean-up's.
        (Err(e), _) => return Err(e),
        (Ok(_), Err(e)) => return Err(e),
        (Ok(p), Ok(r)) => {
            judge(Step::SessionDelete, &r, &mut warnings)?;
            p
        }
    };
    let (film_box_uid, film_box, action, action_time) = printed;
    Ok(PrintedFilm {
        session_uid,
        film_box_uid,
        film_box,
        action,
        action_time,
        warnings,
    })
}

type FilmSteps = (String, InMemDicomObject, Reply, Duration);

/// Film box N-CREATE, image box N-SETs and the N-ACTION.
fn film_steps(
    scu: &mut Scu,
    spec: &FilmSpec,
    image_boxes: &[Option<Vec<u8>>],
    session_uid: &str,
    warnings: &mut Vec<(Step, u16)>,
) -> Result<FilmSteps, ScuError> {
    let fb = scu.n_create(
        spec.meta,
        uids::BASIC_FILM_BOX,
        None,
        &film_box(
            session_uid,
            spec.format,
            spec.size,
            spec.orientation,
            &spec.film_box_extra,
        ),
    )?;
    judge(Step::FilmBoxCreate, &fb, warnings)?;
    // PS3.4 H.4.2.2.4: the SCP returns the film box's SOP Instance UID and the Referenced
    // Image Box Sequence in the N-CREATE response.
    let fb_uid = fb
        .command
        .affected_sop_instance_uid
        .clone()
        .ok_or_else(|| ScuError::Protocol("film box N-CREATE response has no UID".into()))?;
    let data = fb
        .data
        .ok_or_else(|| ScuError::Protocol("film box N-CREATE response has no data set".into()))?;
    let boxes = referenced_uids(&data, tags::REFERENCED_IMAGE_BOX_SEQUENCE);
    let class = if spec.color() {
        uids::BASIC_COLOR_IMAGE_BOX
    } else {
        uids::BASIC_GRAYSCALE_IMAGE_BOX
    };
    for (i, bytes) in image_boxes.iter().enumerate() {
        let Some(bytes) = bytes else { continue };
        let uid = boxes.get(i).ok_or_else(|| {
            ScuError::Protocol(format!(
                "the film box has {} image boxes, the film needs {}",
                boxes.len(),
                image_boxes.len()
            ))
        })?;
        let r = scu.n_set_encoded(spec.meta, class, uid, bytes)?;
        judge(Step::ImageBoxSet(i as u16 + 1), &r, warnings)?;
    }
    let start = Instant::now();
    let action = if spec.session_print {
        scu.n_action(spec.meta, uids::BASIC_FILM_SESSION, session_uid)?
    } else {
        scu.n_action(spec.meta, uids::BASIC_FILM_BOX, &fb_uid)?
    };
    Ok((fb_uid, data, action, start.elapsed()))
}

/// Success passes, a warning is recorded, anything else fails the film (PS3.7 C.1).
fn judge(step: Step, reply: &Reply, warnings: &mut Vec<(Step, u16)>) -> Result<(), ScuError> {
    let s = reply.status();
    if status::is_success(s) {
        Ok(())
    } else if status::is_warning(s) {
        warnings.push((step, s));
        Ok(())
    } else {
        Err(ScuError::Status {
            step,
            status: s,
            comment: reply.command.error_comment.clone(),
        })
    }
}
