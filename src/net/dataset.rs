//! Data sets of DIMSE messages: a bounds walk before decoding, then dicom-object.
//!
//! dicom-object (0.10) allocates the length an element *declares* before reading it, so an
//! 8-byte message declaring 2 GiB would allocate 2 GiB. Every data set from the network
//! first goes through [`check_lengths`], which walks the element headers
//! (sequences and items included, explicit and implicit VR) and refuses any declared length
//! beyond the bytes actually received.

use dicom_core::dictionary::{DataDictionary, DataDictionaryEntry, VirtualVr};
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::StandardDataDictionary;
use dicom_dictionary_std::tags;
use dicom_encoding::transfer_syntax::TransferSyntaxIndex;
use dicom_object::InMemDicomObject;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

/// Implicit VR Little Endian.
pub const IMPLICIT_VR_LE: &str = "1.2.840.10008.1.2";
/// Explicit VR Little Endian.
pub const EXPLICIT_VR_LE: &str = "1.2.840.10008.1.2.1";

const UNDEFINED: u32 = 0xFFFF_FFFF;
const MAX_DEPTH: u32 = 16;

/// A data set that could not be decoded; answered with a processing failure.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid data set: {0}")]
pub struct DataSetError(pub String);

fn err<T>(msg: impl Into<String>) -> Result<T, DataSetError> {
    Err(DataSetError(msg.into()))
}

struct Walker<'a> {
    buf: &'a [u8],
    explicit: bool,
}

enum Stop {
    End,
    ItemDelimiter,
    SequenceDelimiter,
}

impl Walker<'_> {
    fn u16_at(&self, at: usize) -> u16 {
        u16::from_le_bytes([self.buf[at], self.buf[at + 1]])
    }
    fn u32_at(&self, at: usize) -> u32 {
        u32::from_le_bytes([
            self.buf[at],
            self.buf[at + 1],
            self.buf[at + 2],
            self.buf[at + 3],
        ])
    }

    /// Walks elements from `at` up to `end`; returns where it stopped and why.
    fn elements(
        &self,
        mut at: usize,
        end: usize,
        depth: u32,
    ) -> Result<(usize, Stop), DataSetError> {
        if depth > MAX_DEPTH {
            return err("sequences nested too deeply");
        }
        while at < end {
            if end - at < 8 {
                return err("truncated element header");
            }
            let group = self.u16_at(at);
            let element = self.u16_at(at + 2);
            if group == 0xFFFE {
                let len = self.u32_at(at + 4);
                if len != 0 {
                    return err("delimiter with a non-zero length");
                }
                return match element {
                    0xE00D => Ok((at + 8, Stop::ItemDelimiter)),
                    0xE0DD => Ok((at + 8, Stop::SequenceDelimiter)),
                    _ => err(format!(
                        "unexpected item tag (FFFE,{element:04X}) among elements"
                    )),
                };
            }
            let (vr, len, header) = if self.explicit {
                let vr_bytes = [self.buf[at + 4], self.buf[at + 5]];
                let Some(vr) = VR::from_binary(vr_bytes) else {
                    return err(format!(
                        "unknown VR {:?} at ({group:04X},{element:04X})",
                        String::from_utf8_lossy(&vr_bytes)
                    ));
                };
                if matches!(
                    vr,
                    VR::OB
                        | VR::OD
                        | VR::OF
                        | VR::OL
                        | VR::OV
                        | VR::OW
                        | VR::SQ
                        | VR::SV
                        | VR::UC
                        | VR::UN
                        | VR::UR
                        | VR::UT
                        | VR::UV
                ) {
                    if end - at < 12 {
                        return err("truncated element header");
                    }
                    (Some(vr), self.u32_at(at + 8), 12)
                } else {
                    (Some(vr), u32::from(self.u16_at(at + 6)), 8)
                }
            } else {
                (None, self.u32_at(at + 4), 8)
            };
            at += header;
            let tag = Tag(group, element);
            let is_sequence = match vr {
                Some(vr) => vr == VR::SQ || (len == UNDEFINED && vr == VR::UN),
                None => len == UNDEFINED || dictionary_says_sequence(tag),
            };
            if len == UNDEFINED {
                if is_sequence || matches!(vr, Some(VR::OB | VR::OW)) {
                    at = self.items(at, end, None, depth + 1)?;
                    continue;
                }
                return err(format!(
                    "undefined length on non-sequence element ({group:04X},{element:04X})"
                ));
            }
            let len = len as usize;
            if len > end - at {
                return err(format!(
                    "element ({group:04X},{element:04X}) declares {len} bytes but only {} remain",
                    end - at
                ));
            }
            if is_sequence {
                self.items(at, at + len, Some(at + len), depth + 1)?;
            } else {
                let size = match vr {
                    Some(vr) => value_size(vr),
                    None => implicit_value_size(tag),
                };
                if !len.is_multiple_of(size) {
                    return err(format!(
                        "element ({group:04X},{element:04X}) of {len} bytes is not a whole \
                         number of {size}-byte values"
                    ));
                }
            }
            at += len;
        }
        Ok((at, Stop::End))
    }

    /// Walks the items of a sequence; `defined_end` is set for a defined-length sequence.
    fn items(
        &self,
        mut at: usize,
        end: usize,
        defined_end: Option<usize>,
        depth: u32,
    ) -> Result<usize, DataSetError> {
        loop {
            if defined_end == Some(at) {
                return Ok(at);
            }
            if end - at < 8 {
                return err("truncated sequence");
            }
            let group = self.u16_at(at);
            let element = self.u16_at(at + 2);
            let len = self.u32_at(at + 4);
            at += 8;
            match (group, element) {
                (0xFFFE, 0xE0DD) if defined_end.is_none() => return Ok(at),
                (0xFFFE, 0xE000) => {
                    if len == UNDEFINED {
                        let (next, stop) = self.elements(at, end, depth)?;
                        if !matches!(stop, Stop::ItemDelimiter) {
                            return err("item without an item delimiter");
                        }
                        at = next;
                    } else {
                        let len = len as usize;
                        if len > end - at {
                            return err(format!(
                                "item declares {len} bytes but only {} remain",
                                end - at
                            ));
                        }
                        let (next, stop) = self.elements(at, at + len, depth)?;
                        if !matches!(stop, Stop::End) || next != at + len {
                            return err("delimiter inside a defined-length item");
                        }
                        at += len;
                    }
                }
                _ => {
                    return err(format!(
                        "expected an item, found ({group:04X},{element:04X})"
                    ));
                }
            }
        }
    }
}

/// Bytes of one value of a binary VR (PS3.5 Table 6.2-1); 1 for the others.
///
/// dicom-object reads `length / size` values of such an element but moves past
/// `length` bytes only in its bookkeeping: a US of 1 byte or a UL of 2 would leave the
/// reader out of step with the data, reading the next "header" from inside a value (the
/// fuzzer's way to a 4 GiB allocation from 46 bytes). Such lengths are refused here.
fn value_size(vr: VR) -> usize {
    match vr {
        VR::US | VR::SS | VR::OW => 2,
        VR::UL | VR::SL | VR::FL | VR::OF | VR::OL | VR::AT => 4,
        VR::FD | VR::OD | VR::SV | VR::UV | VR::OV => 8,
        _ => 1,
    }
}

/// [`value_size`] for Implicit VR, where the dictionary gives the VR: US or SS (`xs`),
/// US, SS or OW (`lt`), OB or OW (`ox`, `px`) count as 2-byte values.
fn implicit_value_size(tag: Tag) -> usize {
    match StandardDataDictionary.by_tag(tag).map(|e| e.vr()) {
        Some(VirtualVr::Exact(vr)) => value_size(vr),
        Some(VirtualVr::Xs | VirtualVr::Lt | VirtualVr::Ox | VirtualVr::Px) => 2,
        _ => 1,
    }
}

fn dictionary_says_sequence(tag: Tag) -> bool {
    StandardDataDictionary
        .by_tag(tag)
        .is_some_and(|e| e.vr() == VirtualVr::Exact(VR::SQ))
}

/// Checks that every length declared in `bytes` fits in `bytes`.
pub fn check_lengths(bytes: &[u8], explicit: bool) -> Result<(), DataSetError> {
    let walker = Walker {
        buf: bytes,
        explicit,
    };
    match walker.elements(0, bytes.len(), 0)? {
        (_, Stop::End) => Ok(()),
        _ => err("delimiter at the top level of the data set"),
    }
}

/// Decodes a data set received with the given transfer syntax, after [`check_lengths`].
pub fn decode(bytes: &[u8], transfer_syntax: &str) -> Result<InMemDicomObject, DataSetError> {
    let explicit = match transfer_syntax {
        IMPLICIT_VR_LE => false,
        EXPLICIT_VR_LE => true,
        other => return err(format!("transfer syntax {other} not supported")),
    };
    check_lengths(bytes, explicit)?;
    let Some(ts) = TransferSyntaxRegistry.get(transfer_syntax) else {
        return err(format!("transfer syntax {transfer_syntax} unknown"));
    };
    InMemDicomObject::read_dataset_with_ts(bytes, ts).map_err(|e| DataSetError(e.to_string()))
}

/// Encodes a data set with the given transfer syntax. A data set with text beyond ASCII
/// and no Specific Character Set (a Film Session Label "Müller" or "Иван" echoed back in
/// an N-CREATE response or a Print Job event) is sent as UTF-8 and says so, ISO_IR 192
/// (PS3.3 C.12.1.1.2): undeclared, it would go out as Latin-1, or not encode at all.
pub fn encode(obj: &InMemDicomObject, transfer_syntax: &str) -> Result<Vec<u8>, DataSetError> {
    let Some(ts) = TransferSyntaxRegistry.get(transfer_syntax) else {
        return err(format!("transfer syntax {transfer_syntax} unknown"));
    };
    let mut out = Vec::new();
    let declared;
    let obj = if needs_utf8_declared(obj) {
        let mut copy = obj.clone();
        copy.put(DataElement::new(
            tags::SPECIFIC_CHARACTER_SET,
            VR::CS,
            PrimitiveValue::from(UTF8),
        ));
        declared = copy;
        &declared
    } else {
        obj
    };
    obj.write_dataset_with_ts(&mut out, ts)
        .map_err(|e| DataSetError(e.to_string()))?;
    Ok(out)
}

/// The Specific Character Set term of UTF-8 (PS3.3 C.12.1.1.2).
pub const UTF8: &str = "ISO_IR 192";

/// Whether a data set has a text value beyond ASCII, in it or in its sequences' items,
/// and no Specific Character Set.
pub fn needs_utf8_declared(obj: &InMemDicomObject) -> bool {
    obj.get(tags::SPECIFIC_CHARACTER_SET).is_none() && has_non_ascii_text(obj)
}

fn has_non_ascii_text(obj: &InMemDicomObject) -> bool {
    use dicom_core::value::Value;
    obj.iter().any(|e| match e.value() {
        Value::Primitive(PrimitiveValue::Str(s)) => !s.is_ascii(),
        Value::Primitive(PrimitiveValue::Strs(v)) => v.iter().any(|s| !s.is_ascii()),
        Value::Sequence(seq) => seq.items().iter().any(has_non_ascii_text),
        _ => false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_beyond_ascii_goes_out_as_declared_utf8() {
        for ts in [IMPLICIT_VR_LE, EXPLICIT_VR_LE] {
            let obj = InMemDicomObject::from_element_iter([DataElement::new(
                tags::FILM_SESSION_LABEL,
                VR::LO,
                PrimitiveValue::from("Иван Müller"),
            )]);
            assert!(needs_utf8_declared(&obj));
            let bytes = encode(&obj, ts).expect("encodes");
            let back = decode(&bytes, ts).expect("decodes");
            assert_eq!(
                back.element(tags::SPECIFIC_CHARACTER_SET)
                    .unwrap()
                    .to_str()
                    .unwrap()
                    .trim(),
                UTF8
            );
            assert_eq!(
                back.element(tags::FILM_SESSION_LABEL)
                    .unwrap()
                    .to_str()
                    .unwrap(),
                "Иван Müller"
            );
            let ascii = InMemDicomObject::from_element_iter([DataElement::new(
                tags::FILM_SESSION_LABEL,
                VR::LO,
                PrimitiveValue::from("CHEST"),
            )]);
            let plain = decode(&encode(&ascii, ts).unwrap(), ts).unwrap();
            assert!(plain.element(tags::SPECIFIC_CHARACTER_SET).is_err());
        }
    }
    use dicom_core::{DataElement, PrimitiveValue, value::DataSetSequence};
    use dicom_dictionary_std::tags;

    fn sample() -> InMemDicomObject {
        let item = InMemDicomObject::from_element_iter([
            DataElement::new(tags::ROWS, VR::US, PrimitiveValue::from(2u16)),
            DataElement::new(
                tags::PIXEL_DATA,
                VR::OB,
                PrimitiveValue::from(vec![1u8, 2, 3, 4]),
            ),
        ]);
        InMemDicomObject::from_element_iter([
            DataElement::new(tags::IMAGE_BOX_POSITION, VR::US, PrimitiveValue::from(1u16)),
            DataElement::new(
                tags::BASIC_GRAYSCALE_IMAGE_SEQUENCE,
                VR::SQ,
                DataSetSequence::from(vec![item]),
            ),
        ])
    }

    #[test]
    fn both_transfer_syntaxes_round_trip() {
        for ts in [IMPLICIT_VR_LE, EXPLICIT_VR_LE] {
            let bytes = encode(&sample(), ts).unwrap();
            let back = decode(&bytes, ts).unwrap();
            let seq = back.element(tags::BASIC_GRAYSCALE_IMAGE_SEQUENCE).unwrap();
            assert_eq!(seq.items().unwrap().len(), 1, "{ts}");
        }
    }

    #[test]
    fn declared_lengths_beyond_the_data_are_refused() {
        // The fuzzer's 8-byte input that made dicom-object allocate ~185 MB.
        assert!(check_lengths(&[0x8c, 0xf7, 0xf7, 0xf7, 0xf7, 0x78, 0x0b, 0x0b], false).is_err());
        let mut bytes = encode(&sample(), EXPLICIT_VR_LE).unwrap();
        let n = bytes.len();
        // The data set ends with Pixel Data (4 bytes), an item and a sequence delimiter:
        // Pixel Data's 4-byte length sits just before its value.
        bytes[n - 24..n - 20].copy_from_slice(&0x7fff_fff0u32.to_le_bytes());
        assert!(decode(&bytes, EXPLICIT_VR_LE).is_err());
        assert!(decode(&bytes[..n - 3], EXPLICIT_VR_LE).is_err());
        let implicit = encode(&sample(), IMPLICIT_VR_LE).unwrap();
        assert!(decode(&implicit[..implicit.len() - 1], IMPLICIT_VR_LE).is_err());
    }

    /// Found by fuzz/fuzz_targets/dataset.rs (fuzz/corpus/dataset/crash-3e0546e1…): a US of
    /// one byte inside a sequence item put dicom-object one byte out of step, and the
    /// "length" it then read made it allocate 4 GiB.
    #[test]
    fn values_of_a_partial_binary_value_are_refused_before_dicom_object() {
        let fuzzed: &[u8] = &[
            0x00, 0x20, 0x1e, 0x00, b'S', b'Q', 0, 0, 0xff, 0xff, 0xff,
            0xff, // (2000,001E) SQ
            0xfe, 0xff, 0x00, 0xe0, 0xff, 0xff, 0xff, 0xff, // item, undefined length
            0x20, 0x00, 0xff, 0xff, b'U', b'S', 0x01, 0x00, 0x00, // (0020,FFFF) US, 1 byte
            0xfe, 0xff, 0x0d, 0xe0, 0, 0, 0, 0, // item delimiter
            0xfe, 0xff, 0xdd, 0xe0, 0, 0, 0, 0, // sequence delimiter
        ];
        let e = decode(fuzzed, EXPLICIT_VR_LE).unwrap_err();
        assert!(e.0.contains("(0020,FFFF) of 1 bytes"), "{e}");
        // A UL of 2 bytes, explicit and implicit (Rows is US, Pixel Data OB/OW).
        let ul = [0x08, 0x00, 0x00, 0x00, b'U', b'L', 2, 0, 1, 0];
        assert!(decode(&ul, EXPLICIT_VR_LE).is_err());
        let rows = [0x28, 0x00, 0x10, 0x00, 3, 0, 0, 0, 1, 2, 3];
        assert!(check_lengths(&rows, false).is_err());
        let pixels = [0xe0, 0x7f, 0x10, 0x00, 3, 0, 0, 0, 1, 2, 3];
        assert!(check_lengths(&pixels, false).is_err());
        // Whole values still pass: Rows of one US, an odd-length string.
        assert!(check_lengths(&[0x28, 0x00, 0x10, 0x00, 2, 0, 0, 0, 1, 0], false).is_ok());
        assert!(
            check_lengths(
                &[0x10, 0x00, 0x10, 0x00, b'P', b'N', 3, 0, b'a', b'b', b'c'],
                true
            )
            .is_ok()
        );
    }
}
