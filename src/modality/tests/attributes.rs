//! read_attributes against PS3.3 C.7.6.3, C.11.1.1.1 and C.7.6.16 on data sets built here.

use super::read_attributes;
use crate::modality::{ModalityError, ModalityLut, StoredPhotometric, Window};
use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

/// A 4 × 3 MONOCHROME2 16/12/11 image without pixel data.
fn image(signed: bool) -> InMemDicomObject {
    InMemDicomObject::from_element_iter([
        DataElement::new(tags::SAMPLES_PER_PIXEL, VR::US, PrimitiveValue::from(1u16)),
        DataElement::new(
            tags::PHOTOMETRIC_INTERPRETATION,
            VR::CS,
            PrimitiveValue::from("MONOCHROME2"),
        ),
        DataElement::new(tags::ROWS, VR::US, PrimitiveValue::from(3u16)),
        DataElement::new(tags::COLUMNS, VR::US, PrimitiveValue::from(4u16)),
        DataElement::new(tags::BITS_ALLOCATED, VR::US, PrimitiveValue::from(16u16)),
        DataElement::new(tags::BITS_STORED, VR::US, PrimitiveValue::from(12u16)),
        DataElement::new(tags::HIGH_BIT, VR::US, PrimitiveValue::from(11u16)),
        DataElement::new(
            tags::PIXEL_REPRESENTATION,
            VR::US,
            PrimitiveValue::from(u16::from(signed)),
        ),
    ])
}

fn sequence(tag: dicom_core::Tag, items: Vec<InMemDicomObject>) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::SQ, DataSetSequence::from(items))
}

#[test]
fn modality_missing_rows_is_invalid_naming_rows() {
    let mut obj = image(false);
    obj.remove_element(tags::ROWS);
    match read_attributes(&obj) {
        Err(ModalityError::Invalid(m)) => assert!(m.contains("Rows (0028,0010)"), "{m}"),
        other => panic!("{other:?}"),
    }
    let plain = read_attributes(&image(false)).unwrap();
    assert_eq!((plain.rows, plain.columns, plain.frames), (3, 4, 1));
    assert_eq!(plain.photometric, StoredPhotometric::Monochrome2);
    assert_eq!(plain.modality_lut, ModalityLut::IDENTITY);
}

#[test]
fn modality_lut_descriptor_0_is_65536_entries_and_its_first_value_is_signed_when_pixels_are() {
    let item = InMemDicomObject::from_element_iter([
        DataElement::new(
            tags::LUT_DESCRIPTOR,
            VR::US,
            PrimitiveValue::U16([0u16, 0xfc00, 16].iter().copied().collect()),
        ),
        DataElement::new(
            tags::LUT_DATA,
            VR::OW,
            PrimitiveValue::U16((0..=u16::MAX).collect()),
        ),
    ]);
    let mut obj = image(true);
    obj.put(sequence(tags::MODALITY_LUT_SEQUENCE, vec![item.clone()]));
    let attrs = read_attributes(&obj).unwrap();
    let ModalityLut::Table(lut) = attrs.modality_lut else {
        panic!("a table");
    };
    assert_eq!(
        (lut.data.len(), lut.first_mapped, lut.bits),
        (65536, -1024, 16)
    );
    // Unsigned pixels: the same descriptor value is 64512.
    let mut obj = image(false);
    obj.put(sequence(tags::MODALITY_LUT_SEQUENCE, vec![item]));
    let ModalityLut::Table(lut) = read_attributes(&obj).unwrap().modality_lut else {
        panic!("a table");
    };
    assert_eq!(lut.first_mapped, 64512);
}

#[test]
fn modality_windows_keep_their_explanations_and_counts_must_match() {
    let mut obj = image(false);
    obj.put(DataElement::new(
        tags::WINDOW_CENTER,
        VR::DS,
        PrimitiveValue::from("40\\300"),
    ));
    obj.put(DataElement::new(
        tags::WINDOW_WIDTH,
        VR::DS,
        PrimitiveValue::from("400\\1500"),
    ));
    obj.put(DataElement::new(
        tags::WINDOW_CENTER_WIDTH_EXPLANATION,
        VR::LO,
        PrimitiveValue::from("SOFT\\BONE"),
    ));
    let attrs = read_attributes(&obj).unwrap();
    assert_eq!(
        attrs.windows,
        vec![
            (
                Window {
                    center: 40.0,
                    width: 400.0
                },
                "SOFT".to_string()
            ),
            (
                Window {
                    center: 300.0,
                    width: 1500.0
                },
                "BONE".to_string()
            ),
        ]
    );
    obj.put(DataElement::new(
        tags::WINDOW_WIDTH,
        VR::DS,
        PrimitiveValue::from("400"),
    ));
    match read_attributes(&obj) {
        Err(ModalityError::Invalid(m)) => assert!(m.contains("Window Width"), "{m}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn modality_shared_functional_groups_give_rescale_window_and_spacing() {
    let transformation = InMemDicomObject::from_element_iter([
        DataElement::new(tags::RESCALE_SLOPE, VR::DS, PrimitiveValue::from("2")),
        DataElement::new(
            tags::RESCALE_INTERCEPT,
            VR::DS,
            PrimitiveValue::from("-1024"),
        ),
    ]);
    let voi = InMemDicomObject::from_element_iter([
        DataElement::new(tags::WINDOW_CENTER, VR::DS, PrimitiveValue::from("50")),
        DataElement::new(tags::WINDOW_WIDTH, VR::DS, PrimitiveValue::from("350")),
    ]);
    let measures = InMemDicomObject::from_element_iter([DataElement::new(
        tags::PIXEL_SPACING,
        VR::DS,
        PrimitiveValue::from("0.5\\0.25"),
    )]);
    let shared = InMemDicomObject::from_element_iter([
        sequence(
            tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE,
            vec![transformation],
        ),
        sequence(tags::FRAME_VOILUT_SEQUENCE, vec![voi]),
        sequence(tags::PIXEL_MEASURES_SEQUENCE, vec![measures]),
    ]);
    let mut obj = image(false);
    obj.put(sequence(
        tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE,
        vec![shared],
    ));
    obj.put(DataElement::new(
        tags::NUMBER_OF_FRAMES,
        VR::IS,
        PrimitiveValue::from("3"),
    ));
    let attrs = read_attributes(&obj).unwrap();
    assert_eq!(attrs.frames, 3);
    assert_eq!(
        attrs.modality_lut,
        ModalityLut::Rescale {
            slope: 2.0,
            intercept: -1024.0
        }
    );
    assert_eq!(
        attrs.windows[0].0,
        Window {
            center: 50.0,
            width: 350.0
        }
    );
    assert_eq!(attrs.pixel_spacing, Some((0.5, 0.25)));
}

#[test]
fn modality_absurd_frame_counts_are_refused_before_decoding() {
    let mut obj = image(false);
    obj.put(DataElement::new(
        tags::ROWS,
        VR::US,
        PrimitiveValue::from(65535u16),
    ));
    obj.put(DataElement::new(
        tags::COLUMNS,
        VR::US,
        PrimitiveValue::from(65535u16),
    ));
    assert!(matches!(
        read_attributes(&obj),
        Err(ModalityError::Unsupported(_))
    ));
    let mut obj = image(false);
    obj.put(DataElement::new(
        tags::NUMBER_OF_FRAMES,
        VR::IS,
        PrimitiveValue::from("2000000000"),
    ));
    assert!(matches!(
        read_attributes(&obj),
        Err(ModalityError::Unsupported(_))
    ));
}

#[test]
fn modality_malformed_geometry_is_left_out_not_refused() {
    let mut obj = image(false);
    obj.put(DataElement::new(
        tags::PIXEL_ASPECT_RATIO,
        VR::IS,
        PrimitiveValue::from("0\\0"),
    ));
    obj.put(DataElement::new(
        tags::PIXEL_SPACING,
        VR::DS,
        PrimitiveValue::from("0.5\\0.25\\1"),
    ));
    let attrs = read_attributes(&obj).expect("a malformed aspect does not refuse the image");
    assert_eq!(
        (attrs.pixel_aspect_ratio, attrs.pixel_spacing),
        (None, None)
    );
    obj.put(DataElement::new(
        tags::PIXEL_SPACING,
        VR::DS,
        PrimitiveValue::from("0.5\\0.25"),
    ));
    assert_eq!(
        read_attributes(&obj).unwrap().pixel_spacing,
        Some((0.5, 0.25))
    );
}

#[test]
fn modality_a_bad_second_window_or_unknown_function_does_not_refuse_the_image() {
    let mut obj = image(false);
    obj.put(DataElement::new(
        tags::WINDOW_CENTER,
        VR::DS,
        PrimitiveValue::from("40\\40"),
    ));
    obj.put(DataElement::new(
        tags::WINDOW_WIDTH,
        VR::DS,
        PrimitiveValue::from("400\\0"),
    ));
    obj.put(DataElement::new(
        tags::VOILUT_FUNCTION,
        VR::CS,
        PrimitiveValue::from("GAMMA"),
    ));
    let attrs = read_attributes(&obj).expect("read; the chosen window is checked later");
    assert_eq!(attrs.voi_function, crate::modality::VoiFunction::Linear);
    assert_eq!(attrs.windows.len(), 2);
    assert_eq!(attrs.windows[1].0.width, 0.0);
}
