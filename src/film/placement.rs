//! Where an image goes inside its image box: Magnification Type (2010,0060), Pixel Aspect
//! Ratio (0028,0034), Requested Image Size (2020,0030) and Requested Decimate/Crop
//! Behavior (2020,0040). Pure arithmetic, shared by composition and by the print service,
//! which turns a [`Fit`] into the Annex H status of the N-SET or N-ACTION.
//!
//! filmd's reading of PS3.3 C.13.5 and PS3.4 H.4.3:
//! - The *print area* of an image is its box, or, when Requested Image Size is given and
//!   fits the box, a rectangle of that width (mm) with the image's own aspect ratio:
//!   Requested Image Size "overrides the size that corresponds with optimal filling of the
//!   Image Box".
//! - An image is *larger than its box* when its columns or rows, at one image pixel per
//!   device pixel (Pixel Aspect Ratio applied by enlarging the shorter pixel side), exceed
//!   the print area; or when the requested size itself does not fit the box. Requested
//!   Decimate/Crop Behavior then decides: DECIMATE shrinks it with the Magnification Type's
//!   filter (B60A); CROP keeps the scale and deletes rows and columns evenly on both sides,
//!   keeping the centre (B609); FAIL refuses it (C603). Without the attribute filmd
//!   shrinks it and warns B604 ("the image has been demagnified").
//! - An image that fits is magnified to fill its print area: REPLICATE by the largest
//!   integer factor that fits (so every image pixel becomes a k × k block), BILINEAR and
//!   CUBIC exactly, keeping the aspect ratio.
//! - NONE prints one image pixel per device pixel, centred; Pixel Aspect Ratio and
//!   Requested Image Size are not applied (there is no magnification to apply them with).
//!   An image larger than the box is cropped (absent behavior or CROP: B609); NONE cannot
//!   decimate, so DECIMATE and FAIL refuse it (C603).
//!
//! C613 (Combined Print Image larger than the box) concerns images combined with Image
//! Overlay Boxes, a retired SOP class filmd does not accept: the combined print image is
//! always the image itself, so C603 covers every case.

use super::model::{DecimateCrop, Magnification};

/// What became of the image in its box.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fit {
    /// Printed whole at the size its print area gives it.
    Whole,
    /// Larger than its box and shrunk, no Requested Decimate/Crop Behavior given (B604).
    Demagnified,
    /// Larger than its box and shrunk, as DECIMATE asked (B60A).
    Decimated,
    /// Larger than its box and cropped, as CROP (or NONE) asked (B609).
    Cropped,
}

/// The image cannot be printed in its box as asked (C603); the text says why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TooLarge(pub String);

/// How an image is drawn: which part of it, where in the box, and at what size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placement {
    /// The part of the image printed: (x, y, width, height) in image pixels.
    pub source: (usize, usize, usize, usize),
    /// Where it lands: (x, y, width, height) in device pixels from the box's top left.
    pub dest: (usize, usize, usize, usize),
    pub fit: Fit,
}

/// What the SCU asked for the image of one box.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Request {
    pub magnification: Magnification,
    /// Pixel Aspect Ratio (vertical, horizontal); (1, 1) when absent.
    pub pixel_aspect_ratio: (u32, u32),
    /// Requested Image Size converted to device pixels.
    pub requested_width_px: Option<f64>,
    pub decimate_crop: Option<DecimateCrop>,
}

/// Slack for comparisons of computed sizes with whole pixels.
const EPSILON: f64 = 1e-6;

/// Places an image of `columns` × `rows` in a box of `box_w` × `box_h` device pixels.
pub fn place(
    columns: usize,
    rows: usize,
    box_w: usize,
    box_h: usize,
    request: &Request,
) -> Result<Placement, TooLarge> {
    let empty = Placement {
        source: (0, 0, 0, 0),
        dest: (0, 0, 0, 0),
        fit: Fit::Whole,
    };
    if columns == 0 || rows == 0 || box_w == 0 || box_h == 0 {
        return Ok(empty);
    }
    if request.magnification == Magnification::None {
        return place_unmagnified(columns, rows, box_w, box_h, request.decimate_crop);
    }
    // Device pixels per image pixel at unit scale along each axis: the shorter side of a
    // non-square pixel is one device pixel.
    let (sx, sy) = match request.pixel_aspect_ratio {
        (0, _) | (_, 0) => (1.0, 1.0),
        (v, h) if v >= h => (1.0, f64::from(v) / f64::from(h)),
        (v, h) => (f64::from(h) / f64::from(v), 1.0),
    };
    let natural = (columns as f64 * sx, rows as f64 * sy);
    let (bw, bh) = (box_w as f64, box_h as f64);

    // The print area, and whether a requested size too large for the box was asked.
    let requested = request
        .requested_width_px
        .map(|w| (w, w * natural.1 / natural.0));
    let (area, requested_too_large) = match requested {
        Some((w, h)) if w <= bw + 0.5 && h <= bh + 0.5 => ((w.min(bw), h.min(bh)), false),
        Some(_) => ((bw, bh), true),
        None => ((bw, bh), false),
    };
    let fill = (area.0 / natural.0).min(area.1 / natural.1);
    if !requested_too_large && fill >= 1.0 - EPSILON {
        let scale = if request.magnification == Magnification::Replicate {
            (fill + EPSILON).floor()
        } else {
            fill
        };
        return Ok(centred(
            full(columns, rows),
            scaled(natural, scale, box_w, box_h),
            box_w,
            box_h,
            Fit::Whole,
        ));
    }
    // Larger than its print area (or asked larger than the box).
    let fit_box = (bw / natural.0).min(bh / natural.1);
    let what = || match requested {
        Some((w, _)) if requested_too_large => format!("a Requested Image Size {w:.0} px wide"),
        _ => format!("an image of {columns} x {rows} pixels"),
    };
    match request.decimate_crop {
        None | Some(DecimateCrop::Decimate) => {
            let fit = if request.decimate_crop.is_some() {
                Fit::Decimated
            } else {
                Fit::Demagnified
            };
            let scale = if requested_too_large { fit_box } else { fill };
            Ok(centred(
                full(columns, rows),
                scaled(natural, scale, box_w, box_h),
                box_w,
                box_h,
                fit,
            ))
        }
        Some(DecimateCrop::Crop) => {
            // Never a factor below 1: unit scale, or the requested magnification when the
            // requested size is what overflows the box; then delete what does not fit.
            let scale = match requested {
                Some((w, _)) if requested_too_large => (w / natural.0).max(1.0),
                _ => 1.0,
            };
            let (px, py) = (sx * scale, sy * scale);
            let keep_w = ((area.0 + EPSILON) / px).floor().clamp(1.0, columns as f64) as usize;
            let keep_h = ((area.1 + EPSILON) / py).floor().clamp(1.0, rows as f64) as usize;
            let source = ((columns - keep_w) / 2, (rows - keep_h) / 2, keep_w, keep_h);
            let size = scaled(
                (keep_w as f64 * sx, keep_h as f64 * sy),
                scale,
                box_w,
                box_h,
            );
            Ok(centred(source, size, box_w, box_h, Fit::Cropped))
        }
        Some(DecimateCrop::Fail) => Err(TooLarge(format!(
            "{} does not fit its image box of {box_w} x {box_h} device pixels and Requested Decimate/Crop Behavior is FAIL",
            what()
        ))),
    }
}

/// Magnification NONE: one image pixel per device pixel.
fn place_unmagnified(
    columns: usize,
    rows: usize,
    box_w: usize,
    box_h: usize,
    behavior: Option<DecimateCrop>,
) -> Result<Placement, TooLarge> {
    if columns <= box_w && rows <= box_h {
        return Ok(centred(
            full(columns, rows),
            (columns, rows),
            box_w,
            box_h,
            Fit::Whole,
        ));
    }
    match behavior {
        None | Some(DecimateCrop::Crop) => {
            let (w, h) = (columns.min(box_w), rows.min(box_h));
            let source = ((columns - w) / 2, (rows - h) / 2, w, h);
            Ok(centred(source, (w, h), box_w, box_h, Fit::Cropped))
        }
        Some(b) => Err(TooLarge(format!(
            "an image of {columns} x {rows} pixels does not fit its image box of {box_w} x {box_h} device pixels; \
             Magnification Type NONE cannot decimate and Requested Decimate/Crop Behavior is {}",
            b.term()
        ))),
    }
}

fn full(columns: usize, rows: usize) -> (usize, usize, usize, usize) {
    (0, 0, columns, rows)
}

/// `natural` × `scale`, rounded, at least one pixel and at most the box.
fn scaled(natural: (f64, f64), scale: f64, box_w: usize, box_h: usize) -> (usize, usize) {
    let w = ((natural.0 * scale).round() as usize).clamp(1, box_w);
    let h = ((natural.1 * scale).round() as usize).clamp(1, box_h);
    (w, h)
}

fn centred(
    source: (usize, usize, usize, usize),
    (w, h): (usize, usize),
    box_w: usize,
    box_h: usize,
    fit: Fit,
) -> Placement {
    Placement {
        source,
        dest: ((box_w - w) / 2, (box_h - h) / 2, w, h),
        fit,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn request(magnification: Magnification) -> Request {
        Request {
            magnification,
            pixel_aspect_ratio: (1, 1),
            requested_width_px: None,
            decimate_crop: None,
        }
    }

    #[test]
    fn replicate_uses_the_largest_integer_factor_that_fits() {
        let p = place(30, 20, 100, 100, &request(Magnification::Replicate)).unwrap();
        assert_eq!(p.dest, (5, 20, 90, 60));
        assert_eq!(p.fit, Fit::Whole);
        // The same image BILINEAR fills the box's width.
        let p = place(30, 20, 100, 100, &request(Magnification::Bilinear)).unwrap();
        assert_eq!(p.dest, (0, 16, 100, 67));
    }

    #[test]
    fn an_image_larger_than_its_box_is_demagnified_unless_told_otherwise() {
        let mut r = request(Magnification::Replicate);
        let p = place(400, 200, 100, 100, &r).unwrap();
        assert_eq!((p.dest, p.fit), ((0, 25, 100, 50), Fit::Demagnified));
        r.decimate_crop = Some(DecimateCrop::Decimate);
        assert_eq!(place(400, 200, 100, 100, &r).unwrap().fit, Fit::Decimated);
        r.decimate_crop = Some(DecimateCrop::Crop);
        let p = place(400, 200, 100, 100, &r).unwrap();
        assert_eq!(
            (p.source, p.dest, p.fit),
            ((150, 50, 100, 100), (0, 0, 100, 100), Fit::Cropped)
        );
        r.decimate_crop = Some(DecimateCrop::Fail);
        assert!(place(400, 200, 100, 100, &r).is_err());
        // An image that fits is never refused, whatever the behavior.
        assert_eq!(place(100, 50, 100, 100, &r).unwrap().fit, Fit::Whole);
    }

    #[test]
    fn requested_image_size_sets_the_width_when_it_fits() {
        let mut r = request(Magnification::Cubic);
        r.requested_width_px = Some(60.0);
        let p = place(20, 10, 100, 100, &r).unwrap();
        assert_eq!((p.dest, p.fit), ((20, 35, 60, 30), Fit::Whole));
        // Smaller than the image: the image is larger than its print area.
        r.requested_width_px = Some(10.0);
        assert_eq!(place(20, 10, 100, 100, &r).unwrap().fit, Fit::Demagnified);
        // Larger than the box: shrunk to the box, cropped at the requested scale, or refused.
        r.requested_width_px = Some(150.0);
        let p = place(20, 10, 100, 100, &r).unwrap();
        assert_eq!((p.dest, p.fit), ((0, 25, 100, 50), Fit::Demagnified));
        r.decimate_crop = Some(DecimateCrop::Crop);
        let p = place(20, 10, 100, 100, &r).unwrap();
        assert_eq!((p.source, p.fit), ((3, 0, 13, 10), Fit::Cropped));
        assert_eq!(p.dest, (1, 12, 98, 75));
        // Requested smaller than the image: CROP keeps one image pixel per device pixel.
        r.requested_width_px = Some(10.0);
        let p = place(20, 10, 100, 100, &r).unwrap();
        assert_eq!(
            (p.source, p.dest, p.fit),
            ((5, 2, 10, 5), (45, 47, 10, 5), Fit::Cropped)
        );
        r.decimate_crop = Some(DecimateCrop::Fail);
        assert!(
            place(20, 10, 100, 100, &r)
                .unwrap_err()
                .0
                .contains("an image of 20 x 10")
        );
        r.requested_width_px = Some(150.0);
        assert!(
            place(20, 10, 100, 100, &r)
                .unwrap_err()
                .0
                .contains("Requested Image Size 150 px")
        );
    }

    #[test]
    fn magnification_none_crops_and_cannot_decimate() {
        let mut r = request(Magnification::None);
        r.requested_width_px = Some(90.0);
        assert_eq!(
            place(10, 20, 100, 100, &r).unwrap().dest,
            (45, 40, 10, 20),
            "size not applied"
        );
        let p = place(300, 20, 100, 100, &r).unwrap();
        assert_eq!(
            (p.source, p.dest, p.fit),
            ((100, 0, 100, 20), (0, 40, 100, 20), Fit::Cropped)
        );
        r.decimate_crop = Some(DecimateCrop::Decimate);
        assert!(
            place(300, 20, 100, 100, &r)
                .unwrap_err()
                .0
                .contains("NONE cannot decimate")
        );
        r.decimate_crop = Some(DecimateCrop::Fail);
        assert!(place(300, 20, 100, 100, &r).is_err());
    }

    #[test]
    fn pixel_aspect_ratio_is_honoured_by_magnifying_types() {
        let mut r = request(Magnification::Replicate);
        r.pixel_aspect_ratio = (2, 1); // pixels twice as tall as wide
        let p = place(10, 10, 100, 100, &r).unwrap();
        assert_eq!(p.dest, (25, 0, 50, 100));
        r.magnification = Magnification::Bilinear;
        r.pixel_aspect_ratio = (1, 2);
        assert_eq!(place(10, 10, 100, 100, &r).unwrap().dest, (0, 25, 100, 50));
    }

    fn any_magnification() -> impl Strategy<Value = Magnification> {
        prop_oneof![
            Just(Magnification::Replicate),
            Just(Magnification::Bilinear),
            Just(Magnification::Cubic),
            Just(Magnification::None)
        ]
    }

    fn any_behavior() -> impl Strategy<Value = Option<DecimateCrop>> {
        prop_oneof![
            Just(None),
            Just(Some(DecimateCrop::Decimate)),
            Just(Some(DecimateCrop::Crop)),
            Just(Some(DecimateCrop::Fail))
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn every_image_stays_inside_its_box(
            columns in 1usize..3000, rows in 1usize..3000,
            box_w in 1usize..2000, box_h in 1usize..2000,
            magnification in any_magnification(),
            aspect in (1u32..=4, 1u32..=4),
            requested in proptest::option::of(1.0f64..3000.0),
            behavior in any_behavior(),
        ) {
            let r = Request { magnification, pixel_aspect_ratio: aspect, requested_width_px: requested, decimate_crop: behavior };
            match place(columns, rows, box_w, box_h, &r) {
                Ok(p) => {
                    let (x, y, w, h) = p.dest;
                    prop_assert!(w >= 1 && h >= 1 && x + w <= box_w && y + h <= box_h, "{:?}", p);
                    let (sx, sy, sw, sh) = p.source;
                    prop_assert!(sw >= 1 && sh >= 1 && sx + sw <= columns && sy + sh <= rows, "{:?}", p);
                    if magnification == Magnification::None {
                        prop_assert_eq!((w, h), (sw, sh));
                    }
                    if p.fit == Fit::Cropped {
                        prop_assert!(behavior == Some(DecimateCrop::Crop) || magnification == Magnification::None);
                    }
                    if behavior == Some(DecimateCrop::Fail) {
                        prop_assert_eq!(p.fit, Fit::Whole);
                    }
                }
                Err(_) => prop_assert!(behavior.is_some()),
            }
        }

        #[test]
        fn replicate_blocks_are_whole_when_the_image_fits(columns in 1usize..200, rows in 1usize..200, box_w in 1usize..2000, box_h in 1usize..2000) {
            let p = place(columns, rows, box_w, box_h, &request(Magnification::Replicate)).unwrap();
            if p.fit == Fit::Whole {
                let k = p.dest.2 / columns;
                prop_assert!(k >= 1);
                prop_assert_eq!((p.dest.2, p.dest.3), (columns * k, rows * k));
                prop_assert!(columns * (k + 1) > box_w || rows * (k + 1) > box_h, "a larger factor fits");
            }
        }
    }
}
