//! Printer SOP Class (PS3.4 H.4.6) and Printer Configuration Retrieval SOP Class (H.4.11):
//! N-GET on their well-known instances. The identity they report is the queue's (its
//! Printer Name, Manufacturer, Model Name, Serial Number, Software Versions), so that one
//! filmd can stand for several printer models a modality knows.

use super::PrintHandler;
use super::attrs::Refusal;
use super::status;
use super::uids;
use crate::config::QueueSettings;
use crate::film::Smoothing;
use crate::net::{AssociationInfo, EventReport, EventSender, Response};
use crate::outputs::board::{PrinterBoard, PrinterCondition, PrinterStatus};
use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

fn text(tag: Tag, vr: VR, v: &str) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, vr, PrimitiveValue::from(v))
}

/// Keeps only the requested attributes (an empty list asks for all, PS3.7 10.1.2.1.3).
fn select(obj: InMemDicomObject, requested: &[u32]) -> (InMemDicomObject, Vec<u32>) {
    if requested.is_empty() {
        return (obj, Vec::new());
    }
    let mut out = InMemDicomObject::new_empty();
    let mut missing = Vec::new();
    for &t in requested {
        let tag = Tag((t >> 16) as u16, (t & 0xFFFF) as u16);
        match obj.get(tag) {
            Some(e) => {
                out.put(e.clone());
            }
            None => missing.push(t),
        }
    }
    (out, missing)
}

/// What a queue says of its device in Printer N-GET (PS3.3 C.13.9): Printer Name,
/// Manufacturer, Manufacturer's Model Name, Device Serial Number and Software Versions,
/// the queue's own where configured (`config::QueueIdentity`), since some modalities pick
/// their print profile from them.
fn identity_elements(queue: &QueueSettings) -> [DataElement<InMemDicomObject>; 5] {
    let id = &queue.identity;
    [
        text(tags::PRINTER_NAME, VR::LO, &queue.printer_name),
        text(tags::MANUFACTURER, VR::LO, &id.manufacturer),
        text(tags::MANUFACTURER_MODEL_NAME, VR::LO, &id.model),
        text(tags::DEVICE_SERIAL_NUMBER, VR::LO, &id.serial_number),
        DataElement::new(
            tags::SOFTWARE_VERSIONS,
            VR::LO,
            PrimitiveValue::Strs(id.software_versions.iter().cloned().collect()),
        ),
    ]
}

/// The context a Printer N-EVENT-REPORT goes on: the Printer SOP class's own, else a
/// Print Management Meta SOP class that includes it (PS3.4 H.3.1, H.4.6).
fn printer_context(info: &AssociationInfo) -> Option<u8> {
    [
        uids::PRINTER,
        uids::BASIC_GRAYSCALE_PRINT_MANAGEMENT_META,
        uids::BASIC_COLOR_PRINT_MANAGEMENT_META,
    ]
    .iter()
    .find_map(|a| info.context_for(a))
    .map(|c| c.id)
}

/// The Printer N-EVENT-REPORT of a status (PS3.4 H.4.6.1.1, Table H.4-10): Event Type ID
/// 1 NORMAL, 2 WARNING, 3 FAILURE; WARNING and FAILURE carry Printer Status Info and
/// Printer Name.
pub(crate) fn printer_event(
    context_id: u8,
    status: &PrinterCondition,
    printer_name: &str,
) -> EventReport {
    let data = (status.status != PrinterStatus::Normal).then(|| {
        InMemDicomObject::from_element_iter([
            text(tags::PRINTER_STATUS_INFO, VR::CS, &status.info),
            text(tags::PRINTER_NAME, VR::LO, printer_name),
        ])
    });
    EventReport {
        context_id,
        sop_class_uid: uids::PRINTER.into(),
        sop_instance_uid: uids::PRINTER_INSTANCE.into(),
        event_type_id: status.status.event_type_id(),
        data,
    }
}

/// Sends every change of `queue`'s printer status to this association while it is open,
/// when it negotiated a context that includes the Printer SOP class.
pub(crate) fn watch_printer(
    info: &AssociationInfo,
    queue: &QueueSettings,
    board: &PrinterBoard,
    events: EventSender,
) {
    let (Some(context_id), Some(mut rx)) = (printer_context(info), board.subscribe(&queue.name))
    else {
        return;
    };
    let Ok(runtime) = tokio::runtime::Handle::try_current() else {
        return;
    };
    let printer_name = queue.printer_name.clone();
    let association = info.id;
    rx.borrow_and_update();
    runtime.spawn(async move {
        loop {
            tokio::select! {
                _ = events.closed() => break,
                changed = rx.changed() => {
                    if changed.is_err() {
                        break;
                    }
                    let status = rx.borrow_and_update().clone();
                    tracing::debug!(assoc = association, "Printer N-EVENT-REPORT {}", status.status.term());
                    if events.send(printer_event(context_id, &status, &printer_name)).is_err() {
                        break;
                    }
                }
            }
        }
    });
}

impl PrintHandler {
    fn printer_attributes(&self) -> InMemDicomObject {
        let p = &self.config.printer;
        // The live state of this association's queue (outputs::board).
        let live = self.printers.get(&self.queue().name);
        let mut obj = InMemDicomObject::from_element_iter([
            text(tags::PRINTER_STATUS, VR::CS, live.status.term()),
            text(tags::PRINTER_STATUS_INFO, VR::CS, &live.info),
        ]);
        for e in identity_elements(self.queue()) {
            obj.put(e);
        }
        // Type 2 in N-GET: present, empty when unknown.
        obj.put(text(
            tags::DATE_OF_LAST_CALIBRATION,
            VR::DA,
            &p.calibration_date,
        ));
        obj.put(text(
            tags::TIME_OF_LAST_CALIBRATION,
            VR::TM,
            &p.calibration_time,
        ));
        obj
    }

    pub(crate) fn printer_get(
        &self,
        instance: Option<String>,
        requested: &[u32],
    ) -> Result<Response, Refusal> {
        if instance.as_deref() != Some(uids::PRINTER_INSTANCE) {
            return Err(Refusal::new(
                status::NO_SUCH_SOP_INSTANCE,
                format!(
                    "the Printer is the well-known instance {}",
                    uids::PRINTER_INSTANCE
                ),
            ));
        }
        Ok(Self::get_response(
            uids::PRINTER,
            uids::PRINTER_INSTANCE,
            self.printer_attributes(),
            requested,
        ))
    }

    /// N-GET response with the selected attributes; unknown ones make a 0x0107 warning.
    pub(crate) fn get_response(
        class: &str,
        instance: &str,
        all: InMemDicomObject,
        requested: &[u32],
    ) -> Response {
        let (data, missing) = select(all, requested);
        let mut r = if missing.is_empty() {
            Response::status(status::SUCCESS)
        } else {
            let mut r = Response::error(
                status::ATTRIBUTE_LIST_ERROR,
                "some requested attributes are not supported",
                None,
            );
            r.attribute_identifier_list = missing;
            r
        };
        r.affected_sop_class_uid = Some(class.into());
        r.affected_sop_instance_uid = Some(instance.into());
        r.data = Some(data);
        r
    }

    fn printer_configuration(&self) -> InMemDicomObject {
        let q = self.queue();
        let mut classes = vec![
            uids::BASIC_GRAYSCALE_PRINT_MANAGEMENT_META,
            uids::PRESENTATION_LUT,
            uids::BASIC_ANNOTATION_BOX,
            uids::PRINT_JOB,
        ];
        if q.accepts_color() {
            classes.push(uids::BASIC_COLOR_PRINT_MANAGEMENT_META);
        }
        let media: Vec<InMemDicomObject> = q
            .medium_types
            .iter()
            .flat_map(|m| q.film_sizes.iter().map(move |s| (*m, *s)))
            .enumerate()
            .map(|(i, (m, s))| {
                InMemDicomObject::from_element_iter([
                    DataElement::new(
                        tags::ITEM_NUMBER,
                        VR::IS,
                        PrimitiveValue::from((i + 1).to_string()),
                    ),
                    text(tags::MEDIUM_TYPE, VR::CS, m.term()),
                    text(tags::FILM_SIZE_ID, VR::CS, s.id),
                    DataElement::new(
                        tags::MIN_DENSITY,
                        VR::US,
                        PrimitiveValue::from(q.min_density),
                    ),
                    DataElement::new(
                        tags::MAX_DENSITY,
                        VR::US,
                        PrimitiveValue::from(q.max_density),
                    ),
                ])
            })
            .collect();
        let item = InMemDicomObject::from_element_iter([
            DataElement::new(
                tags::SOP_CLASSES_SUPPORTED,
                VR::UI,
                PrimitiveValue::Strs(classes.iter().map(|s| s.to_string()).collect()),
            ),
            DataElement::new(tags::MEMORY_BIT_DEPTH, VR::US, PrimitiveValue::from(16u16)),
            DataElement::new(tags::PRINTING_BIT_DEPTH, VR::US, PrimitiveValue::from(8u16)),
            DataElement::new(
                tags::MEDIA_INSTALLED_SEQUENCE,
                VR::SQ,
                DataSetSequence::from(media),
            ),
            text(
                tags::DEFAULT_MAGNIFICATION_TYPE,
                VR::CS,
                q.default_magnification.term(),
            ),
            DataElement::new(
                tags::OTHER_MAGNIFICATION_TYPES_AVAILABLE,
                VR::CS,
                PrimitiveValue::Strs(
                    ["REPLICATE", "BILINEAR", "CUBIC", "NONE"]
                        .iter()
                        .map(|s| s.to_string())
                        .collect(),
                ),
            ),
            // PS3.3 C.13.9 Printer Configuration: the smoothing kernels CUBIC offers
            // (film::resample), SHARP being what an image box without Smoothing Type gets.
            text(
                tags::DEFAULT_SMOOTHING_TYPE,
                VR::CS,
                Smoothing::default().term(),
            ),
            DataElement::new(
                tags::OTHER_SMOOTHING_TYPES_AVAILABLE,
                VR::CS,
                PrimitiveValue::Strs(
                    Smoothing::ALL
                        .iter()
                        .filter(|s| **s != Smoothing::default())
                        .map(|s| s.term().to_string())
                        .collect(),
                ),
            ),
            DataElement::new(
                tags::MAXIMUM_COLLATED_FILMS,
                VR::US,
                PrimitiveValue::from(64u16),
            ),
            text(tags::MANUFACTURER, VR::LO, &q.identity.manufacturer),
            text(tags::MANUFACTURER_MODEL_NAME, VR::LO, &q.identity.model),
            text(tags::PRINTER_NAME, VR::LO, &q.printer_name),
        ]);
        InMemDicomObject::from_element_iter([DataElement::new(
            tags::PRINTER_CONFIGURATION_SEQUENCE,
            VR::SQ,
            DataSetSequence::from(vec![item]),
        )])
    }

    pub(crate) fn printer_configuration_get(
        &self,
        instance: Option<String>,
        requested: &[u32],
    ) -> Result<Response, Refusal> {
        if instance.as_deref() != Some(uids::PRINTER_CONFIGURATION_RETRIEVAL_INSTANCE) {
            return Err(Refusal::new(
                status::NO_SUCH_SOP_INSTANCE,
                format!(
                    "Printer Configuration Retrieval is the well-known instance {}",
                    uids::PRINTER_CONFIGURATION_RETRIEVAL_INSTANCE
                ),
            ));
        }
        Ok(Self::get_response(
            uids::PRINTER_CONFIGURATION_RETRIEVAL,
            uids::PRINTER_CONFIGURATION_RETRIEVAL_INSTANCE,
            self.printer_configuration(),
            requested,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ConfigFile, Settings};
    use crate::film::AnnotationFormats;
    use crate::film::custom::CustomLayouts;

    fn values(elements: &[DataElement<InMemDicomObject>]) -> Vec<(Tag, String)> {
        elements
            .iter()
            .map(|e| {
                let v = e.to_multi_str().map(|v| v.join("\\")).unwrap_or_default();
                (e.header().tag, v)
            })
            .collect()
    }

    #[test]
    fn each_queue_reports_its_own_identity_over_the_printer_section() {
        let text = "[printer]\nname = \"Radiology\"\nmanufacturer = \"ACME\"\n\
                    model = \"Laser 1\"\nserial_number = \"S1\"\n\
                    [[queue]]\nname = \"ct\"\nprinter_name = \"DRYVIEW 5950\"\n\
                    manufacturer = \"Carestream Health\"\nmodel = \"DRYVIEW 5950\"\n\
                    serial_number = \"59501234\"\nsoftware_versions = \"5.0.1\\\\FW 12\"\n\
                    [[queue]]\nname = \"mr\"\nae_titles = [\"MR\"]\n";
        let file = ConfigFile::parse(text, std::path::Path::new("t.toml")).expect("valid");
        let settings = Settings::resolve(
            &file,
            std::path::Path::new("t.toml"),
            CustomLayouts::embedded(),
            AnnotationFormats::embedded().clone(),
        );
        assert_eq!(
            values(&identity_elements(&settings.queues[0])),
            [
                (tags::PRINTER_NAME, "DRYVIEW 5950".into()),
                (tags::MANUFACTURER, "Carestream Health".into()),
                (tags::MANUFACTURER_MODEL_NAME, "DRYVIEW 5950".into()),
                (tags::DEVICE_SERIAL_NUMBER, "59501234".into()),
                (tags::SOFTWARE_VERSIONS, "5.0.1\\FW 12".into()),
            ]
        );
        let mr = identity_elements(&settings.queues[1]);
        assert_eq!(
            values(&mr),
            [
                (tags::PRINTER_NAME, "Radiology mr".into()),
                (tags::MANUFACTURER, "ACME".into()),
                (tags::MANUFACTURER_MODEL_NAME, "Laser 1".into()),
                (tags::DEVICE_SERIAL_NUMBER, "S1".into()),
                (
                    tags::SOFTWARE_VERSIONS,
                    crate::config::FILMD_SOFTWARE_VERSION.into()
                ),
            ]
        );
        assert_eq!(mr[4].value().multiplicity(), 1);
        assert_eq!(
            identity_elements(&settings.queues[0])[4]
                .value()
                .multiplicity(),
            2
        );
    }

    #[test]
    fn printer_events_carry_info_and_name_except_for_normal() {
        let warning = PrinterCondition {
            status: PrinterStatus::Warning,
            info: "SUPPLY LOW".into(),
            detail: "media-low-warning".into(),
        };
        let e = printer_event(3, &warning, "filmd ct");
        assert_eq!((e.context_id, e.event_type_id), (3, 2));
        assert_eq!(e.sop_class_uid, uids::PRINTER);
        assert_eq!(e.sop_instance_uid, uids::PRINTER_INSTANCE);
        let data = e.data.expect("WARNING carries data");
        assert_eq!(
            data.element(tags::PRINTER_STATUS_INFO)
                .unwrap()
                .to_str()
                .unwrap(),
            "SUPPLY LOW"
        );
        assert_eq!(
            data.element(tags::PRINTER_NAME).unwrap().to_str().unwrap(),
            "filmd ct"
        );
        let normal = printer_event(3, &PrinterCondition::normal(), "filmd ct");
        assert_eq!(normal.event_type_id, 1);
        assert!(normal.data.is_none());
    }
}
