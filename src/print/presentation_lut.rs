//! Presentation LUT SOP Class (PS3.4 H.4.9): N-CREATE and N-DELETE. A LUT is either a shape
//! (IDENTITY, LIN OD) or an explicit table (PS3.3 C.11.4).

use super::attrs::{self, Refusal};
use super::status;
use super::uids;
use super::{PrintHandler, new_uid};
use crate::film::PresentationLut;
use crate::net::Response;
use dicom_core::VR;
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
            (None, Some(item)) => parse_table(item)?,
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
        self.luts.insert(uid.clone(), StoredLut { lut });
        let mut r = Response::status(status::SUCCESS);
        r.affected_sop_class_uid = Some(uids::PRESENTATION_LUT.into());
        r.affected_sop_instance_uid = Some(uid);
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
