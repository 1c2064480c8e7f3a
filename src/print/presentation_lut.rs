//! Presentation LUT SOP Class (PS3.4 H.4.9): N-CREATE and N-DELETE. A LUT is either a shape
//! (IDENTITY, LIN OD) or an explicit table (PS3.3 C.11.4). The N-CREATE response carries
//! the created attributes (PS3.7 10.1.5.1.6, Table H.4-23): some SCUs fail on an N-CREATE
//! response without a data set.

use super::attrs::{self, Refusal};
use super::status;
use super::uids;
use super::{PrintHandler, new_uid};
use crate::film::PresentationLut;
use crate::net::Response;
use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

/// A Presentation LUT instance of an association.
#[derive(Debug, Clone)]
pub struct StoredLut {
    pub lut: PresentationLut,
}

/// Reads LUT Data as 16-bit entries whether it arrived as US (explicit) or OW (implicit).
fn lut_entries(item: &InMemDicomObject) -> Result<Vec<u16>, Refusal> {
    let e = item.get(tags::LUT_DATA).ok_or_else(|| {
        Refusal::at(
            status::MISSING_ATTRIBUTE,
            tags::LUT_DATA,
            "LUT Data missing",
        )
    })?;
    if e.vr() == VR::US {
        return e
            .to_multi_int::<u16>()
            .map_err(|_| Refusal::invalid(tags::LUT_DATA, "LUT Data unreadable"));
    }
    let bytes = e
        .to_bytes()
        .map_err(|_| Refusal::invalid(tags::LUT_DATA, "LUT Data unreadable"))?;
    Ok(bytes
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect())
}

/// Parses a Presentation LUT Sequence item.
pub fn parse_table(item: &InMemDicomObject) -> Result<PresentationLut, Refusal> {
    let descriptor = item.get(tags::LUT_DESCRIPTOR).ok_or_else(|| {
        Refusal::at(
            status::MISSING_ATTRIBUTE,
            tags::LUT_DESCRIPTOR,
            "LUT Descriptor missing",
        )
    })?;
    let d: Vec<u32> = match descriptor.to_multi_int::<u32>() {
        Ok(v) => v,
        Err(_) => {
            let b = descriptor
                .to_bytes()
                .map_err(|_| Refusal::invalid(tags::LUT_DESCRIPTOR, "LUT Descriptor unreadable"))?;
            b.chunks_exact(2)
                .map(|c| u32::from(u16::from_le_bytes([c[0], c[1]])))
                .collect()
        }
    };
    let [entries, first, bits] = d[..] else {
        return Err(Refusal::invalid(
            tags::LUT_DESCRIPTOR,
            "LUT Descriptor needs three values",
        ));
    };
    // PS3.3 C.11.4.1: 256 entries for 8-bit images, 4096 for 12-bit; first mapped value 0;
    // 10 to 16 bits per entry.
    if entries != 256 && entries != 4096 {
        return Err(Refusal::invalid(
            tags::LUT_DESCRIPTOR,
            format!("LUT Descriptor: {entries} entries; use 256 or 4096"),
        ));
    }
    if first != 0 {
        return Err(Refusal::invalid(
            tags::LUT_DESCRIPTOR,
            "LUT Descriptor: first mapped value must be 0",
        ));
    }
    if !(10..=16).contains(&bits) {
        return Err(Refusal::invalid(
            tags::LUT_DESCRIPTOR,
            format!("LUT Descriptor: {bits} bits per entry; use 10 to 16"),
        ));
    }
    let table = lut_entries(item)?;
    if table.len() != entries as usize {
        return Err(Refusal::invalid(
            tags::LUT_DATA,
            format!(
                "LUT Data has {} entries, the descriptor says {entries}",
                table.len()
            ),
        ));
    }
    let max = ((1u32 << bits) - 1) as u16;
    Ok(PresentationLut::Table {
        first_mapped: 0,
        bits: bits as u8,
        entries: table.into_iter().map(|v| v.min(max)).collect(),
    })
}

/// The attributes of a created Presentation LUT, for the N-CREATE response (PS3.4 Table
/// H.4-23, SCP usage M): its Presentation LUT Shape, or its Presentation LUT Sequence with
/// the LUT Descriptor as received, the LUT Explanation if one was sent, and the LUT Data
/// as applied (entries above the descriptor's bits clamped).
pub fn created_attributes(lut: &PresentationLut, explanation: Option<&str>) -> InMemDicomObject {
    let shape = |term: &str| {
        InMemDicomObject::from_element_iter([DataElement::new(
            tags::PRESENTATION_LUT_SHAPE,
            VR::CS,
            PrimitiveValue::from(term),
        )])
    };
    match lut {
        PresentationLut::Identity => shape("IDENTITY"),
        PresentationLut::LinOd => shape("LIN OD"),
        PresentationLut::Table {
            first_mapped,
            bits,
            entries,
        } => {
            // Validated: 256 or 4096 entries, first mapped 0.
            let count = u16::try_from(entries.len()).unwrap_or(u16::MAX);
            let mut item = InMemDicomObject::from_element_iter([
                DataElement::new(
                    tags::LUT_DESCRIPTOR,
                    VR::US,
                    PrimitiveValue::U16(
                        [count, *first_mapped, u16::from(*bits)]
                            .into_iter()
                            .collect(),
                    ),
                ),
                DataElement::new(
                    tags::LUT_DATA,
                    VR::US,
                    PrimitiveValue::U16(entries.iter().copied().collect()),
                ),
            ]);
            if let Some(text) = explanation {
                item.put(DataElement::new(
                    tags::LUT_EXPLANATION,
                    VR::LO,
                    PrimitiveValue::from(text),
                ));
            }
            InMemDicomObject::from_element_iter([DataElement::new(
                tags::PRESENTATION_LUT_SEQUENCE,
                VR::SQ,
                DataSetSequence::from(vec![item]),
            )])
        }
    }
}

impl PrintHandler {
    pub(crate) fn presentation_lut_create(
        &mut self,
        instance: Option<String>,
        data: &InMemDicomObject,
    ) -> Result<Response, Refusal> {
        let shape = attrs::string(data, tags::PRESENTATION_LUT_SHAPE)?;
        let sequence = data
            .get(tags::PRESENTATION_LUT_SEQUENCE)
            .and_then(|e| e.items())
            .and_then(|i| i.first());
        let mut explanation = None;
        let lut = match (shape.as_deref(), sequence) {
            (Some(_), Some(_)) => {
                return Err(Refusal::invalid(
                    tags::PRESENTATION_LUT_SHAPE,
                    "send Presentation LUT Shape or Presentation LUT Sequence, not both",
                ));
            }
            (Some("IDENTITY"), None) => PresentationLut::Identity,
            (Some("LIN OD"), None) => PresentationLut::LinOd,
            (Some(other), None) => {
                return Err(Refusal::invalid(
                    tags::PRESENTATION_LUT_SHAPE,
                    format!("Presentation LUT Shape {other:?}; use IDENTITY or LIN OD"),
                ));
            }
            (None, Some(item)) => {
                // Only echoed in the response: a malformed one is dropped, not refused.
                explanation = attrs::string(item, tags::LUT_EXPLANATION).ok().flatten();
                parse_table(item)?
            }
            (None, None) => {
                return Err(Refusal::at(
                    status::MISSING_ATTRIBUTE,
                    tags::PRESENTATION_LUT_SHAPE,
                    "Presentation LUT Shape or Presentation LUT Sequence required",
                ));
            }
        };
        let uid = instance.unwrap_or_else(new_uid);
        if self.luts.contains_key(&uid) {
            return Err(Refusal::new(
                status::DUPLICATE_SOP_INSTANCE,
                format!("Presentation LUT {uid} already exists"),
            ));
        }
        if self.luts.len() >= 64 {
            return Err(Refusal::new(
                status::RESOURCE_LIMITATION,
                "64 Presentation LUTs per association at most",
            ));
        }
        let mut r = Response::status(status::SUCCESS);
        r.affected_sop_class_uid = Some(uids::PRESENTATION_LUT.into());
        r.affected_sop_instance_uid = Some(uid.clone());
        r.data = Some(created_attributes(&lut, explanation.as_deref()));
        self.luts.insert(uid, StoredLut { lut });
        Ok(r)
    }

    pub(crate) fn presentation_lut_delete(
        &mut self,
        instance: Option<String>,
    ) -> Result<Response, Refusal> {
        let uid = instance.ok_or_else(|| {
            Refusal::new(
                status::MISSING_ATTRIBUTE,
                "Requested SOP Instance UID missing",
            )
        })?;
        self.luts
            .remove(&uid)
            .map(|_| Response::status(status::SUCCESS))
            .ok_or_else(|| {
                Refusal::new(
                    status::NO_SUCH_SOP_INSTANCE,
                    format!("no Presentation LUT {uid} on this association"),
                )
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use dicom_core::{DataElement, PrimitiveValue};

    fn table(descriptor: [u16; 3], data: Vec<u16>) -> InMemDicomObject {
        InMemDicomObject::from_element_iter([
            DataElement::new(
                tags::LUT_DESCRIPTOR,
                VR::US,
                PrimitiveValue::U16(descriptor.into_iter().collect()),
            ),
            DataElement::new(
                tags::LUT_DATA,
                VR::US,
                PrimitiveValue::U16(data.into_iter().collect()),
            ),
        ])
    }

    #[test]
    fn the_n_create_response_carries_the_shape_or_the_table_as_created() {
        for (lut, term) in [
            (PresentationLut::Identity, "IDENTITY"),
            (PresentationLut::LinOd, "LIN OD"),
        ] {
            let data = created_attributes(&lut, None);
            assert_eq!(
                data.element(tags::PRESENTATION_LUT_SHAPE)
                    .unwrap()
                    .to_str()
                    .unwrap(),
                term
            );
            assert!(data.get(tags::PRESENTATION_LUT_SEQUENCE).is_none());
        }
        let mut sent = table([256, 0, 10], (0..256).map(|i| i * 8).collect());
        sent.put(DataElement::new(
            tags::LUT_EXPLANATION,
            VR::LO,
            PrimitiveValue::from("gamma 2.2"),
        ));
        let lut = parse_table(&sent).unwrap();
        let data = created_attributes(&lut, Some("gamma 2.2"));
        assert!(data.get(tags::PRESENTATION_LUT_SHAPE).is_none());
        let items = data
            .element(tags::PRESENTATION_LUT_SEQUENCE)
            .unwrap()
            .items()
            .unwrap();
        assert_eq!(items.len(), 1);
        let item = &items[0];
        assert_eq!(
            item.element(tags::LUT_DESCRIPTOR)
                .unwrap()
                .to_multi_int::<u16>()
                .unwrap(),
            [256, 0, 10]
        );
        let entries = item
            .element(tags::LUT_DATA)
            .unwrap()
            .to_multi_int::<u16>()
            .unwrap();
        assert_eq!(entries.len(), 256);
        // As applied: 8 * 200 = 1600 is above 10 bits and was clamped to 1023.
        assert_eq!((entries[1], entries[100], entries[200]), (8, 800, 1023));
        assert_eq!(
            item.element(tags::LUT_EXPLANATION)
                .unwrap()
                .to_str()
                .unwrap(),
            "gamma 2.2"
        );
    }

    #[test]
    fn tables_follow_the_descriptor_rules() {
        let ok = parse_table(&table([256, 0, 12], (0..256).map(|i| i * 16).collect())).unwrap();
        assert!(
            matches!(ok, PresentationLut::Table { bits: 12, ref entries, .. } if entries.len() == 256 && entries[255] == 4080)
        );
        assert!(parse_table(&table([4096, 0, 16], vec![7; 4096])).is_ok());
        assert!(
            parse_table(&table([100, 0, 12], vec![0; 100])).is_err(),
            "entries"
        );
        assert!(
            parse_table(&table([256, 5, 12], vec![0; 256])).is_err(),
            "first mapped"
        );
        assert!(
            parse_table(&table([256, 0, 8], vec![0; 256])).is_err(),
            "bits"
        );
        assert!(
            parse_table(&table([256, 0, 12], vec![0; 255])).is_err(),
            "length"
        );
        // Entries above the declared bits are clamped.
        let PresentationLut::Table { entries, .. } =
            parse_table(&table([256, 0, 10], vec![5000; 256])).unwrap()
        else {
            panic!()
        };
        assert_eq!(entries[0], 1023);
    }
}
