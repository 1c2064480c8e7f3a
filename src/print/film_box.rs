//! Basic Film Box SOP Class (PS3.4 H.4.2): N-CREATE (which creates the image and annotation
//! boxes), N-SET, N-DELETE, N-ACTION.

use super::annotation::AnnotationBox;
use super::attrs::{self, Refusal, tag_u32};
use super::image_box::ImageBoxState;
use super::status;
use super::uids;
use super::{PrintHandler, new_uid};
use crate::film::compose::image_area;
use crate::film::{
    AreaDensity, DisplayFormat, FilmSize, Magnification, Orientation, PresentationLut,
};
use crate::net::Response;
use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

/// A film box and its boxes (PS3.3 C.13.3).
#[derive(Debug, Clone)]
pub struct FilmBox {
    pub uid: String,
    pub display_format: DisplayFormat,
    pub annotation_format: Option<String>,
    pub orientation: Orientation,
    pub size: FilmSize,
    pub magnification: Magnification,
    pub smoothing_type: Option<String>,
    pub border_density: AreaDensity,
    pub empty_image_density: AreaDensity,
    pub min_density: u16,
    pub max_density: u16,
    pub trim: bool,
    pub configuration_information: Option<String>,
    pub high_resolution: bool,
    pub presentation_lut: Option<PresentationLut>,
    pub illumination: Option<u16>,
    pub reflected_ambient_light: Option<u16>,
    pub image_boxes: Vec<ImageBoxState>,
    pub annotation_boxes: Vec<AnnotationBox>,
}

impl FilmBox {
    pub fn has_images(&self) -> bool {
        self.image_boxes.iter().any(|b| b.image_box.image.is_some())
    }
}

/// Attributes a film box N-SET may change (PS3.4 H.4.2.2.2).
const SETTABLE: [Tag; 11] = [
    tags::MAGNIFICATION_TYPE,
    tags::SMOOTHING_TYPE,
    tags::BORDER_DENSITY,
    tags::EMPTY_IMAGE_DENSITY,
    tags::MIN_DENSITY,
    tags::MAX_DENSITY,
    tags::TRIM,
    tags::CONFIGURATION_INFORMATION,
    tags::ILLUMINATION,
    tags::REFLECTED_AMBIENT_LIGHT,
    tags::REFERENCED_PRESENTATION_LUT_SEQUENCE,
];

/// Attributes only N-CREATE takes, in addition to [`SETTABLE`].
const CREATE_ONLY: [Tag; 6] = [
    tags::IMAGE_DISPLAY_FORMAT,
    tags::ANNOTATION_DISPLAY_FORMAT_ID,
    tags::FILM_ORIENTATION,
    tags::FILM_SIZE_ID,
    tags::REQUESTED_RESOLUTION_ID,
    tags::REFERENCED_FILM_SESSION_SEQUENCE,
];

fn area_density(obj: &InMemDicomObject, tag: Tag) -> Result<Option<AreaDensity>, Refusal> {
    attrs::term(
        obj,
        tag,
        AreaDensity::parse,
        "BLACK, WHITE or hundredths of OD",
    )
}

fn us(tag: Tag, v: u16) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::US, PrimitiveValue::from(v))
}

fn cs(tag: Tag, v: &str) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::CS, PrimitiveValue::from(v))
}

/// A reference sequence item: Referenced SOP Class UID and Instance UID.
pub fn reference(class: &str, instance: &str) -> InMemDicomObject {
    InMemDicomObject::from_element_iter([
        DataElement::new(
            tags::REFERENCED_SOP_CLASS_UID,
            VR::UI,
            PrimitiveValue::from(class),
        ),
        DataElement::new(
            tags::REFERENCED_SOP_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from(instance),
        ),
    ])
}

impl PrintHandler {
    /// Applies the N-SET-able attributes; returns a warning status or success.
    fn apply_film_box_attributes(
        &self,
        fb: &mut FilmBox,
        data: &InMemDicomObject,
    ) -> Result<u16, Refusal> {
        let mut warning = status::SUCCESS;
        if let Some(m) = attrs::term(
            data,
            tags::MAGNIFICATION_TYPE,
            Magnification::from_term,
            "REPLICATE, BILINEAR, CUBIC or NONE",
        )? {
            fb.magnification = m;
        }
        if let Some(s) = attrs::string(data, tags::SMOOTHING_TYPE)? {
            fb.smoothing_type = Some(s);
        }
        if let Some(d) = area_density(data, tags::BORDER_DENSITY)? {
            fb.border_density = d;
        }
        if let Some(d) = area_density(data, tags::EMPTY_IMAGE_DENSITY)? {
            fb.empty_image_density = d;
        }
        let (min, max, w) = self.densities(data, fb.min_density, fb.max_density)?;
        fb.min_density = min;
        fb.max_density = max;
        if w != status::SUCCESS {
            warning = w;
        }
        if let Some(t) = attrs::term(
            data,
            tags::TRIM,
            |s| match s {
                "YES" => Some(true),
                "NO" => Some(false),
                _ => None,
            },
            "YES or NO",
        )? {
            fb.trim = t;
        }
        if let Some(c) = attrs::string(data, tags::CONFIGURATION_INFORMATION)? {
            fb.configuration_information = Some(c);
        }
        if let Some(v) = attrs::unsigned(data, tags::ILLUMINATION)? {
            fb.illumination = Some(v.min(u32::from(u16::MAX)) as u16);
        }
        if let Some(v) = attrs::unsigned(data, tags::REFLECTED_AMBIENT_LIGHT)? {
            fb.reflected_ambient_light = Some(v.min(u32::from(u16::MAX)) as u16);
        }
        if data
            .get(tags::REFERENCED_PRESENTATION_LUT_SEQUENCE)
            .is_some()
        {
            fb.presentation_lut = self.lut_reference(data)?;
        }
        Ok(warning)
    }

    /// Min and Max Density with the printer's range (B605 when outside it, PS3.4 H.4.2.2.1.2).
    pub(crate) fn densities(
        &self,
        data: &InMemDicomObject,
        min: u16,
        max: u16,
    ) -> Result<(u16, u16, u16), Refusal> {
        let q = self.queue();
        let mut warning = status::SUCCESS;
        let mut read = |tag: Tag, current: u16| -> Result<u16, Refusal> {
            match attrs::unsigned(data, tag)? {
                None => Ok(current),
                Some(v) if v < u32::from(q.min_density) => {
                    warning = status::DENSITY_OUT_OF_RANGE;
                    Ok(q.min_density)
                }
                Some(v) if v > u32::from(q.max_density) => {
                    warning = status::DENSITY_OUT_OF_RANGE;
                    Ok(q.max_density)
                }
                Some(v) => Ok(v as u16),
            }
        };
        let min = read(tags::MIN_DENSITY, min)?;
        let max = read(tags::MAX_DENSITY, max)?;
        if min >= max {
            return Err(Refusal::invalid(
                tags::MAX_DENSITY,
                format!("Max Density {max} must exceed Min Density {min}"),
            ));
        }
        Ok((min, max, warning))
    }

    /// Resolves Referenced Presentation LUT Sequence to a copy of the LUT (an empty
    /// sequence removes the reference).
    pub(crate) fn lut_reference(
        &self,
        data: &InMemDicomObject,
    ) -> Result<Option<PresentationLut>, Refusal> {
        match attrs::referenced_instance(data, tags::REFERENCED_PRESENTATION_LUT_SEQUENCE)? {
            None => Ok(None),
            Some(uid) => self
                .luts
                .get(&uid)
                .map(|l| Some(l.lut.clone()))
                .ok_or_else(|| {
                    Refusal::invalid(
                        tags::REFERENCED_PRESENTATION_LUT_SEQUENCE,
                        format!("Presentation LUT {uid} does not exist"),
                    )
                }),
        }
    }

    fn film_box_data_set(&self, fb: &FilmBox, session_uid: &str, color: bool) -> InMemDicomObject {
        let image_class = if color {
            uids::BASIC_COLOR_IMAGE_BOX
        } else {
            uids::BASIC_GRAYSCALE_IMAGE_BOX
        };
        let mut obj = InMemDicomObject::from_element_iter([
            DataElement::new(
                tags::IMAGE_DISPLAY_FORMAT,
                VR::ST,
                PrimitiveValue::from(fb.display_format.to_string()),
            ),
            cs(tags::FILM_ORIENTATION, fb.orientation.term()),
            cs(tags::FILM_SIZE_ID, fb.size.id),
            cs(tags::MAGNIFICATION_TYPE, fb.magnification.term()),
            cs(tags::BORDER_DENSITY, &fb.border_density.term()),
            cs(tags::EMPTY_IMAGE_DENSITY, &fb.empty_image_density.term()),
            us(tags::MIN_DENSITY, fb.min_density),
            us(tags::MAX_DENSITY, fb.max_density),
            cs(tags::TRIM, if fb.trim { "YES" } else { "NO" }),
            cs(
                tags::REQUESTED_RESOLUTION_ID,
                if fb.high_resolution {
                    "HIGH"
                } else {
                    "STANDARD"
                },
            ),
            DataElement::new(
                tags::REFERENCED_FILM_SESSION_SEQUENCE,
                VR::SQ,
                DataSetSequence::from(vec![reference(uids::BASIC_FILM_SESSION, session_uid)]),
            ),
            DataElement::new(
                tags::REFERENCED_IMAGE_BOX_SEQUENCE,
                VR::SQ,
                DataSetSequence::from(
                    fb.image_boxes
                        .iter()
                        .map(|b| reference(image_class, &b.uid))
                        .collect::<Vec<_>>(),
                ),
            ),
        ]);
        if let Some(s) = &fb.smoothing_type {
            obj.put(cs(tags::SMOOTHING_TYPE, s));
        }
        if let Some(a) = &fb.annotation_format {
            obj.put(cs(tags::ANNOTATION_DISPLAY_FORMAT_ID, a));
        }
        if !fb.annotation_boxes.is_empty() {
            obj.put(DataElement::new(
                tags::REFERENCED_BASIC_ANNOTATION_BOX_SEQUENCE,
                VR::SQ,
                DataSetSequence::from(
                    fb.annotation_boxes
                        .iter()
                        .map(|b| reference(uids::BASIC_ANNOTATION_BOX, &b.uid))
                        .collect::<Vec<_>>(),
                ),
            ));
        }
        obj
    }

    pub(crate) fn film_box_create(
        &mut self,
        instance: Option<String>,
        data: &InMemDicomObject,
    ) -> Result<Response, Refusal> {
        let Some(session) = self.session().cloned() else {
            return Err(Refusal::new(
                status::INVALID_OBJECT_INSTANCE,
                "no film session exists on this association: N-CREATE a Basic Film Session first",
            ));
        };
        match attrs::referenced_instance(data, tags::REFERENCED_FILM_SESSION_SEQUENCE)? {
            None => {
                return Err(Refusal::at(
                    status::MISSING_ATTRIBUTE,
                    tags::REFERENCED_FILM_SESSION_SEQUENCE,
                    "Referenced Film Session Sequence missing",
                ));
            }
            Some(uid) if uid != session.uid => {
                return Err(Refusal::invalid(
                    tags::REFERENCED_FILM_SESSION_SEQUENCE,
                    format!("film session {uid} does not exist"),
                ));
            }
            Some(_) => {}
        }
        let Some(format_text) = attrs::string(data, tags::IMAGE_DISPLAY_FORMAT)? else {
            return Err(Refusal::at(
                status::MISSING_ATTRIBUTE,
                tags::IMAGE_DISPLAY_FORMAT,
                "Image Display Format missing",
            ));
        };
        let display_format = DisplayFormat::parse(&format_text, &self.config.custom_layouts)
            .map_err(|e| Refusal::invalid(tags::IMAGE_DISPLAY_FORMAT, e.to_string()))?;
        let q = self.queue.clone();
        if !q.accepts_display_format(&display_format) {
            let kinds: Vec<&str> = q.display_formats.iter().map(|k| k.term()).collect();
            return Err(Refusal::invalid(
                tags::IMAGE_DISPLAY_FORMAT,
                format!("queue {} prints only {} layouts", q.name, kinds.join(", ")),
            ));
        }
        let size = attrs::term(
            data,
            tags::FILM_SIZE_ID,
            |s| q.film_sizes.iter().copied().find(|f| f.id == s),
            "a Film Size ID this printer loads",
        )?
        .unwrap_or(q.default_film_size);
        let orientation = attrs::term(
            data,
            tags::FILM_ORIENTATION,
            Orientation::from_term,
            "PORTRAIT or LANDSCAPE",
        )?
        .unwrap_or_default();
        let high_resolution = attrs::term(
            data,
            tags::REQUESTED_RESOLUTION_ID,
            |s| match s {
                "STANDARD" => Some(false),
                "HIGH" => Some(true),
                _ => None,
            },
            "STANDARD or HIGH",
        )?
        .unwrap_or(false);
        // The ID as the SCU sent it is kept (and echoed); an alias of this queue stands for
        // its format (`annotation_aliases`, see film_annotations).
        let annotation_format = attrs::string(data, tags::ANNOTATION_DISPLAY_FORMAT_ID)?;
        let annotation_count = match &annotation_format {
            None => 0,
            Some(id) => self
                .config
                .annotation_formats
                .positions(q.annotation_aliases.resolve(id))
                .ok_or_else(|| {
                    Refusal::invalid(
                        tags::ANNOTATION_DISPLAY_FORMAT_ID,
                        format!(
                            "Annotation Display Format ID {id:?} unknown on queue {}",
                            q.name
                        ),
                    )
                })?,
        };
        let mut fb = FilmBox {
            uid: instance.unwrap_or_else(new_uid),
            display_format,
            annotation_format,
            orientation,
            size,
            magnification: q.default_magnification,
            smoothing_type: None,
            border_density: AreaDensity::Black,
            empty_image_density: AreaDensity::Black,
            min_density: q.default_min_density,
            max_density: q.default_max_density,
            trim: false,
            configuration_information: None,
            high_resolution,
            presentation_lut: None,
            illumination: None,
            reflected_ambient_light: None,
            image_boxes: Vec::new(),
            annotation_boxes: Vec::new(),
        };
        if self.film_boxes.iter().any(|f| f.uid == fb.uid) {
            return Err(Refusal::new(
                status::DUPLICATE_SOP_INSTANCE,
                format!("film box {} already exists", fb.uid),
            ));
        }
        let warning = self.apply_film_box_attributes(&mut fb, data)?;
        fb.annotation_boxes = (1..=annotation_count)
            .map(|p| AnnotationBox {
                uid: new_uid(),
                position: p,
                text: None,
            })
            .collect();
        // SLIDE and SUPERSLIDE hold as many boxes as fit the film, its annotation bands aside.
        let area = image_area(&self.film_for(&fb), &self.device(fb.high_resolution));
        let box_count = fb.display_format.box_count(&area);
        if box_count == 0 {
            return Err(Refusal::invalid(
                tags::IMAGE_DISPLAY_FORMAT,
                format!(
                    "no {} frame fits a {} film on this printer",
                    fb.display_format, fb.size.id
                ),
            ));
        }
        fb.image_boxes = (1..=box_count)
            .map(|p| ImageBoxState::new(new_uid(), p))
            .collect();
        let mut allowed: Vec<Tag> = SETTABLE.to_vec();
        allowed.extend_from_slice(&CREATE_ONLY);
        let unknown = attrs::unsupported(data, &allowed);
        let mut response = Response::status(warning);
        if !unknown.is_empty() && warning == status::SUCCESS {
            response.status = status::ATTRIBUTE_LIST_ERROR;
            response.offending_element = unknown.into_iter().map(tag_u32).collect();
            response.error_comment = Some("attributes not supported were ignored".into());
        }
        response.affected_sop_class_uid = Some(uids::BASIC_FILM_BOX.into());
        response.affected_sop_instance_uid = Some(fb.uid.clone());
        response.data = Some(self.film_box_data_set(&fb, &session.uid, session.color));
        self.film_boxes.push(fb);
        Ok(response)
    }

    /// The film box addressed by `instance`. The standard lets the SCU address only the
    /// last created one (H.4.2.2.2.3); serving an earlier one is harmless and interoperable.
    pub(crate) fn film_box_index(&self, instance: Option<&str>) -> Result<usize, Refusal> {
        let Some(uid) = instance else {
            return Err(Refusal::new(
                status::MISSING_ATTRIBUTE,
                "Requested SOP Instance UID missing",
            ));
        };
        let i = self
            .film_boxes
            .iter()
            .position(|f| f.uid == uid)
            .ok_or_else(|| {
                Refusal::new(
                    status::NO_SUCH_SOP_INSTANCE,
                    format!("no film box {uid} on this association"),
                )
            })?;
        if i + 1 != self.film_boxes.len() {
            tracing::info!(
                assoc = self.info.id,
                "SCU addresses film box {uid}, which is not the last created one"
            );
        }
        Ok(i)
    }

    pub(crate) fn film_box_set(
        &mut self,
        instance: Option<String>,
        data: &InMemDicomObject,
    ) -> Result<Response, Refusal> {
        let i = self.film_box_index(instance.as_deref())?;
        let mut fb = self.film_boxes[i].clone();
        let warning = self.apply_film_box_attributes(&mut fb, data)?;
        self.film_boxes[i] = fb;
        let unknown = attrs::unsupported(data, &SETTABLE);
        if !unknown.is_empty() && warning == status::SUCCESS {
            let mut r = Response::error(
                status::ATTRIBUTE_LIST_ERROR,
                "attributes not settable by N-SET were ignored",
                None,
            );
            r.offending_element = unknown.into_iter().map(tag_u32).collect();
            return Ok(r);
        }
        Ok(Response::status(warning))
    }

    pub(crate) fn film_box_delete(
        &mut self,
        instance: Option<String>,
    ) -> Result<Response, Refusal> {
        let i = self.film_box_index(instance.as_deref())?;
        let removed = self.film_boxes.remove(i);
        let bytes: usize = removed.image_boxes.iter().map(|b| b.bytes).sum();
        self.image_bytes = self.image_bytes.saturating_sub(bytes);
        Ok(Response::status(status::SUCCESS))
    }

    pub(crate) fn film_box_print(
        &mut self,
        instance: Option<String>,
        action: Option<u16>,
    ) -> Result<Response, Refusal> {
        let i = self.film_box_index(instance.as_deref())?;
        if action != Some(1) {
            return Err(Refusal::new(
                status::NO_SUCH_ACTION,
                format!("Action Type ID {action:?}: only 1 (print) exists"),
            ));
        }
        if !self.film_boxes[i].has_images() {
            return Ok(Response::error(
                status::FILM_BOX_EMPTY_PAGE,
                "no image box of the film box holds an image: nothing printed",
                None,
            ));
        }
        self.print(&[i], false)
    }
}
