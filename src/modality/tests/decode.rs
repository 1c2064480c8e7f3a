//! decode_frame on native Pixel Data built here: PS3.5 8.1.1's bit packing, masking and
//! sign extension.

use super::decode_frame;
use crate::modality::ModalityError;
use crate::modality::attributes::read_attributes;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::{DefaultDicomObject, FileMetaTableBuilder, InMemDicomObject};

fn file(
    rows: u16,
    columns: u16,
    bits: (u16, u16, u16),
    signed: bool,
    frames: u32,
    pixel_data: PrimitiveValue,
) -> DefaultDicomObject {
    let (allocated, stored, high) = bits;
    let obj = InMemDicomObject::from_element_iter([
        DataElement::new(
            tags::SOP_CLASS_UID,
            VR::UI,
            PrimitiveValue::from("1.2.840.10008.5.1.4.1.1.7"),
        ),
        DataElement::new(
            tags::SOP_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from("1.2.3.4"),
        ),
        DataElement::new(tags::SAMPLES_PER_PIXEL, VR::US, PrimitiveValue::from(1u16)),
        DataElement::new(
            tags::PHOTOMETRIC_INTERPRETATION,
            VR::CS,
            PrimitiveValue::from("MONOCHROME2"),
        ),
        DataElement::new(
            tags::NUMBER_OF_FRAMES,
            VR::IS,
            PrimitiveValue::from(frames.to_string()),
        ),
        DataElement::new(tags::ROWS, VR::US, PrimitiveValue::from(rows)),
        DataElement::new(tags::COLUMNS, VR::US, PrimitiveValue::from(columns)),
        DataElement::new(
            tags::BITS_ALLOCATED,
            VR::US,
            PrimitiveValue::from(allocated),
        ),
        DataElement::new(tags::BITS_STORED, VR::US, PrimitiveValue::from(stored)),
        DataElement::new(tags::HIGH_BIT, VR::US, PrimitiveValue::from(high)),
        DataElement::new(
            tags::PIXEL_REPRESENTATION,
            VR::US,
            PrimitiveValue::from(u16::from(signed)),
        ),
        DataElement::new(
            tags::PIXEL_DATA,
            if allocated == 16 { VR::OW } else { VR::OB },
            pixel_data,
        ),
    ]);
    InMemDicomObject::with_meta(
        obj,
        FileMetaTableBuilder::new()
            .transfer_syntax("1.2.840.10008.1.2.1")
            .media_storage_sop_class_uid("1.2.840.10008.5.1.4.1.1.7")
            .media_storage_sop_instance_uid("1.2.3.4"),
    )
    .unwrap()
}

#[test]
fn modality_native_bits_above_high_bit_are_masked_and_the_sign_extended() {
    // 16/12/11 signed: the top nibble is overlay or garbage, not pixel data.
    let words = vec![0xF7FF, 0x0800, 0xFFFF, 0x1001];
    let obj = file(
        2,
        2,
        (16, 12, 11),
        true,
        1,
        PrimitiveValue::U16(words.clone().into()),
    );
    let attrs = read_attributes(&obj).unwrap();
    let frame = decode_frame(&obj, &attrs, 0).unwrap();
    assert_eq!(frame.values, vec![2047, -2048, -1, 1]);
    // The same words unsigned, stored in bits 12..4 (High Bit 11, Bits Stored 8).
    let obj = file(
        2,
        2,
        (16, 8, 11),
        false,
        1,
        PrimitiveValue::U16(words.into()),
    );
    let attrs = read_attributes(&obj).unwrap();
    assert_eq!(
        decode_frame(&obj, &attrs, 0).unwrap().values,
        vec![0x7F, 0x80, 0xFF, 0x00]
    );
}

#[test]
fn modality_native_1_bit_frames_are_packed_without_gaps() {
    // Two 3 × 3 frames: 18 bits, the second frame starting at bit 9 of the stream.
    let frame_1 = [1, 0, 1, 0, 1, 0, 1, 0, 1];
    let frame_2 = [0, 1, 1, 0, 0, 1, 1, 0, 0];
    let bits: Vec<u8> = frame_1.iter().chain(&frame_2).copied().collect();
    let mut bytes = vec![0u8; 4];
    for (n, &b) in bits.iter().enumerate() {
        bytes[n / 8] |= b << (n % 8);
    }
    let obj = file(3, 3, (1, 1, 0), false, 2, PrimitiveValue::U8(bytes.into()));
    let attrs = read_attributes(&obj).unwrap();
    let decoded: Vec<i32> = frame_2.iter().map(|&b| i32::from(b)).collect();
    assert_eq!(decode_frame(&obj, &attrs, 1).unwrap().values, decoded);
    assert!(matches!(
        decode_frame(&obj, &attrs, 2),
        Err(ModalityError::Options(_))
    ));
}

#[test]
fn modality_short_pixel_data_is_invalid_not_a_panic() {
    let obj = file(
        4,
        4,
        (8, 8, 7),
        false,
        2,
        PrimitiveValue::U8(vec![0u8; 20].into()),
    );
    let attrs = read_attributes(&obj).unwrap();
    assert!(decode_frame(&obj, &attrs, 0).is_ok());
    match decode_frame(&obj, &attrs, 1) {
        Err(ModalityError::Invalid(m)) => assert!(m.contains("holds 20 bytes"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn modality_native_16_12_15_decodes_and_prints_from_the_top_bits() {
    // 16/12/15: the stored bits are 15..4, the low nibble is not pixel data.
    let words = vec![0x0000, 0x001F, 0x800F, 0xFFF0];
    let obj = file(
        2,
        2,
        (16, 12, 15),
        false,
        1,
        PrimitiveValue::U16(words.into()),
    );
    let attrs = read_attributes(&obj).unwrap();
    let frame = decode_frame(&obj, &attrs, 0).unwrap();
    assert_eq!(frame.values, vec![0, 1, 0x800, 0xFFF]);
    let image =
        crate::modality::pipeline::to_print_ready(&attrs, &frame, &Default::default()).unwrap();
    assert_eq!(image.bits_stored, 12);
    let samples: Vec<u16> = image
        .pixels
        .as_slice()
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    assert_eq!(samples, vec![0, 1, 0x800, 0xFFF]);
}

#[test]
fn modality_rle_samples_are_unpacked_as_stored_from_high_bit() {
    // PS3.5 G.2: RLE carries the whole 32-bit sample; 32/24/31 keeps bits 31..8.
    let mut obj = file(
        1,
        1,
        (32, 24, 31),
        false,
        1,
        PrimitiveValue::U8(vec![0; 4].into()),
    );
    let mut fragment = vec![0u8; 64];
    for (i, v) in [4u32, 64, 66, 68, 70].iter().enumerate() {
        fragment[i * 4..i * 4 + 4].copy_from_slice(&v.to_le_bytes());
    }
    // One literal byte a segment (PackBits header 0), most significant byte first.
    fragment.extend([0, 0xAB, 0, 0xCD, 0, 0xEF, 0, 0x12]);
    obj.put(dicom_object::mem::InMemElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        dicom_core::value::Value::from(dicom_core::value::PixelFragmentSequence::new(
            Vec::<u32>::new(),
            vec![fragment],
        )),
    ));
    obj.update_meta(|meta| meta.transfer_syntax = "1.2.840.10008.1.2.5".into());
    let attrs = read_attributes(&obj).unwrap();
    let frame = decode_frame(&obj, &attrs, 0).unwrap();
    assert_eq!(frame.values, vec![0xAB_CDEF]);
}

#[test]
fn modality_frames_beyond_the_image_budget_are_refused_before_decoding() {
    // Three 4×4 frames of 8 bits: 32 print-ready bytes each counted (2 a gray pixel).
    let obj = file(
        4,
        4,
        (8, 8, 7),
        false,
        3,
        PrimitiveValue::U8(vec![7; 48].into()),
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("three.dcm");
    obj.write_to_file(&path).unwrap();
    let options = crate::modality::ImageOptions::default();
    let mut budget = crate::modality::ImageBudget::with_bytes(2 * 32);
    match crate::modality::load_file_within(&path, &options, &mut budget) {
        Err(ModalityError::Options(m)) => assert!(m.contains("frame 3"), "{m}"),
        other => panic!("the third frame passes the budget: {other:?}"),
    }
    // The budget is shared: two frames fit in a fresh one, then nothing more.
    let mut budget = crate::modality::ImageBudget::with_bytes(2 * 32);
    let one = crate::modality::ImageOptions {
        frame: Some(1),
        ..Default::default()
    };
    assert_eq!(
        crate::modality::load_file_within(&path, &one, &mut budget)
            .unwrap()
            .len(),
        1
    );
    assert!(crate::modality::load_file_within(&path, &one, &mut budget).is_ok());
    assert!(crate::modality::load_file_within(&path, &one, &mut budget).is_err());
    assert_eq!(
        crate::modality::load_file(&path, &options).unwrap().len(),
        3
    );
}
