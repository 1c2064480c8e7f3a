//! Paper for a film: PWG self-describing media names (PWG 5101.1 §5), the choice of one of
//! a printer's media for a film of a given size, and fitting the composed film onto it.
//!
//! An IPP printer lists its sizes in `media-supported` and what is loaded in `media-ready`
//! (RFC 8011 §5.2.11, PWG 5100.7) as names like `na_letter_8.5x11in` or
//! `iso_a4_210x297mm`: class, size name, then width × height in inches or millimetres,
//! portrait. `custom_min_…`/`custom_max_…` name the range of custom sizes, not a sheet,
//! and are ignored.
//!
//! Choice ([`choose_media`]), in this order:
//! 1. a media within ±1 mm of the film, in either orientation: the film prints 1:1;
//! 2. else the smallest media (by area) that holds the film in either orientation;
//! 3. else the media on which fit-to-page gives the largest scale (ties: the larger media).
//!
//! Fitting ([`fit_page`]): the film is scaled uniformly and never enlarged, centred, and
//! turned 90° counter-clockwise (IPP's `landscape`, RFC 8011 §5.2.10) when that lets it
//! print larger; the rest of the page is paper white. Scaling uses the kernels of
//! [`crate::film::resample`].

use super::pwg::ImageBox;
use crate::film::Page;
use crate::film::resample::{self, Filter, Region, ResampleError, Source, Target};

use crate::film::size::MM_PER_INCH;
const PT_PER_INCH: f64 = 72.0;

/// Tolerance of an exact media match, per side.
pub const EXACT_MATCH_MM: f64 = 1.0;

/// Largest media side accepted from a printer: above ISO 4A0's 2378 mm, and a bound on
/// what a name from the network can make us allocate.
pub const MAX_MEDIA_MM: f64 = 2500.0;

/// Largest fitted page buffer (bytes). 14×17 in at 600 dpi in RGB is 257 MB.
pub const MAX_FITTED_BYTES: usize = 1 << 30;

/// Resolutions accepted for a fitted page.
pub const DPI_RANGE: std::ops::RangeInclusive<u32> = 1..=2400;

/// Paper white in both sgray and sRGB.
const WHITE: u8 = 255;

/// A sheet size parsed from a PWG media name, portrait.
#[derive(Debug, Clone, PartialEq)]
pub struct MediaSize {
    /// The name as the printer gave it, for `media` / PageSizeName.
    pub name: String,
    pub width_mm: f64,
    pub height_mm: f64,
}

impl MediaSize {
    /// Parses a self-describing media name (PWG 5101.1 §5: `class_size-name_WxHunit`,
    /// unit `in` or `mm`). `None` for custom ranges, legacy names without dimensions,
    /// and sizes that are zero, negative or beyond [`MAX_MEDIA_MM`].
    pub fn parse(name: &str) -> Option<MediaSize> {
        let (class, rest) = name.split_once('_')?;
        let (size_name, dimensions) = rest.rsplit_once('_')?;
        if class.is_empty() || size_name.is_empty() || class == "custom" {
            return None;
        }
        let (numbers, unit_mm) = if let Some(n) = dimensions.strip_suffix("in") {
            (n, MM_PER_INCH)
        } else {
            (dimensions.strip_suffix("mm")?, 1.0)
        };
        let (w, h) = numbers.split_once('x')?;
        let number = |s: &str| -> Option<f64> {
            let digits = s.bytes().all(|b| b.is_ascii_digit() || b == b'.');
            let mm = s.parse::<f64>().ok()? * unit_mm;
            (digits && mm > 0.0 && mm <= MAX_MEDIA_MM).then_some(mm)
        };
        Some(MediaSize {
            name: name.to_string(),
            width_mm: number(w)?,
            height_mm: number(h)?,
        })
    }

    pub fn width_pt(&self) -> f64 {
        self.width_mm / MM_PER_INCH * PT_PER_INCH
    }

    pub fn height_pt(&self) -> f64 {
        self.height_mm / MM_PER_INCH * PT_PER_INCH
    }

    fn area(&self) -> f64 {
        self.width_mm * self.height_mm
    }

    /// The largest uniform scale (at most 1) at which a `w` × `h` mm film fits, turned
    /// either way.
    fn fit_scale(&self, w: f64, h: f64) -> f64 {
        let upright = (self.width_mm / w).min(self.height_mm / h);
        let turned = (self.width_mm / h).min(self.height_mm / w);
        upright.max(turned).min(1.0)
    }
}

/// How the chosen media relates to the film.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaFit {
    /// Same size within [`EXACT_MATCH_MM`].
    Exact,
    /// Larger: the film prints at its size with paper around it.
    Holds,
    /// Smaller than the film: fit-to-page.
    Scaled,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MediaChoice {
    pub media: MediaSize,
    pub fit: MediaFit,
    /// Scale the film prints at without margins: 1 unless [`MediaFit::Scaled`].
    pub scale: f64,
}

/// Chooses the media for a film of `film_width_mm` × `film_height_mm` from a printer's
/// media names (rules in the module doc). Unparseable names are skipped; `None` when no
/// name describes a sheet.
pub fn choose_media<S: AsRef<str>>(
    film_width_mm: f64,
    film_height_mm: f64,
    media: &[S],
) -> Option<MediaChoice> {
    let (w, h) = (film_width_mm, film_height_mm);
    if !(w > 0.0 && h > 0.0 && w.is_finite() && h.is_finite()) {
        return None;
    }
    let sizes: Vec<MediaSize> = media
        .iter()
        .filter_map(|name| MediaSize::parse(name.as_ref()))
        .collect();
    let near = |a: f64, b: f64| (a - b).abs() <= EXACT_MATCH_MM;
    let exact = sizes.iter().find(|m| {
        (near(m.width_mm, w) && near(m.height_mm, h))
            || (near(m.width_mm, h) && near(m.height_mm, w))
    });
    if let Some(m) = exact {
        return Some(MediaChoice {
            media: m.clone(),
            fit: MediaFit::Exact,
            scale: 1.0,
        });
    }
    const EPS: f64 = 1e-9;
    let holds = sizes
        .iter()
        .filter(|m| m.fit_scale(w, h) >= 1.0 - EPS)
        .min_by(|a, b| a.area().total_cmp(&b.area()));
    if let Some(m) = holds {
        return Some(MediaChoice {
            media: m.clone(),
            fit: MediaFit::Holds,
            scale: 1.0,
        });
    }
    let mut best: Option<(&MediaSize, f64)> = None;
    for m in &sizes {
        let s = m.fit_scale(w, h);
        let better = match best {
            None => true,
            Some((b, bs)) => s > bs + EPS || (s > bs - EPS && m.area() > b.area()),
        };
        if better {
            best = Some((m, s));
        }
    }
    best.map(|(m, scale)| MediaChoice {
        media: m.clone(),
        fit: MediaFit::Scaled,
        scale,
    })
}

/// A film laid out on a whole sheet of media at the printer's resolution.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedPage {
    /// The sheet: media size in points, the printer's dpi, paper white around the film.
    pub page: Page,
    /// Physical scale of the film (1 = true size; never above 1).
    pub scale: f64,
    /// Turned 90° counter-clockwise.
    pub rotated: bool,
    /// Where the film lies on the sheet, for the PWG header.
    pub image_box: ImageBox,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum FitError {
    #[error("film page is not a valid {0}")]
    Page(&'static str),
    #[error("{dpi} dpi is outside {DPI_RANGE:?}")]
    Resolution { dpi: u32 },
    #[error("media {0} at this resolution exceeds the page buffer limit")]
    TooLarge(String),
    #[error("margins of {0} pt leave no printable area")]
    Margins(f64),
    #[error("scaling: {0}")]
    Resample(#[from] ResampleError),
}

/// Lays `page` (a composed film) onto `media` at `dpi` with `margin_pt` on every side.
pub fn fit_page(
    page: &Page,
    media: &MediaSize,
    dpi: u32,
    margin_pt: f64,
) -> Result<FittedPage, FitError> {
    let channels = usize::from(page.channels);
    if channels != 1 && channels != 3 {
        return Err(FitError::Page("channels"));
    }
    let (src_w, src_h) = (page.width_px as usize, page.height_px as usize);
    if src_w == 0 || src_h == 0 || page.pixels.len() != src_w * src_h * channels {
        return Err(FitError::Page("pixel buffer"));
    }
    let physical = |pt: f64| pt.is_finite() && pt > 0.0;
    if !physical(page.width_pt) || !physical(page.height_pt) {
        return Err(FitError::Page("size"));
    }
    if !DPI_RANGE.contains(&dpi) {
        return Err(FitError::Resolution { dpi });
    }
    let px = |pt: f64| (pt / PT_PER_INCH * f64::from(dpi)).round() as usize;
    let (out_w, out_h) = (px(media.width_pt()), px(media.height_pt()));
    if out_w == 0
        || out_h == 0
        || out_w.saturating_mul(out_h).saturating_mul(channels) > MAX_FITTED_BYTES
    {
        return Err(FitError::TooLarge(media.name.clone()));
    }
    let avail_w_pt = media.width_pt() - 2.0 * margin_pt;
    let avail_h_pt = media.height_pt() - 2.0 * margin_pt;
    let margin_px = px(margin_pt.max(0.0));
    if !(margin_pt >= 0.0 && avail_w_pt > 0.0 && avail_h_pt > 0.0)
        || 2 * margin_px >= out_w.min(out_h)
    {
        return Err(FitError::Margins(margin_pt));
    }
    let (avail_w, avail_h) = (out_w - 2 * margin_px, out_h - 2 * margin_px);

    let (fw, fh) = (page.width_pt, page.height_pt);
    let upright = (avail_w_pt / fw).min(avail_h_pt / fh).min(1.0);
    let turned = (avail_w_pt / fh).min(avail_h_pt / fw).min(1.0);
    let rotated = turned > upright + 1e-9;
    let (scale, (film_w_pt, film_h_pt)) = if rotated {
        (turned, (fh, fw))
    } else {
        (upright, (fw, fh))
    };
    let w = px(film_w_pt * scale).clamp(1, avail_w);
    let h = px(film_h_pt * scale).clamp(1, avail_h);
    let (x, y) = ((out_w - w) / 2, (out_h - h) / 2);

    let turned_pixels;
    let source = if rotated {
        turned_pixels = rotate_counter_clockwise(&page.pixels, src_w, src_h, channels);
        Source {
            pixels: &turned_pixels,
            width: src_h,
            height: src_w,
            channels,
        }
    } else {
        Source {
            pixels: &page.pixels,
            width: src_w,
            height: src_h,
            channels,
        }
    };
    let stride = out_w * channels;
    let mut pixels = vec![WHITE; stride * out_h];
    if (source.width, source.height) == (w, h) {
        // Same pixel size: a copy, no filtering.
        let row = w * channels;
        for (sy, src_row) in source.pixels.chunks_exact(row).enumerate() {
            let at = (y + sy) * stride + x * channels;
            pixels[at..at + row].copy_from_slice(src_row);
        }
    } else {
        let mut target = Target {
            pixels: &mut pixels,
            stride,
            channels,
        };
        let region = Region {
            x,
            y,
            width: w,
            height: h,
        };
        resample::resample(&source, &mut target, region, Filter::CatmullRom)?;
    }
    Ok(FittedPage {
        page: Page {
            width_px: out_w as u32,
            height_px: out_h as u32,
            width_pt: media.width_pt(),
            height_pt: media.height_pt(),
            dpi,
            channels: page.channels,
            pixels,
        },
        scale,
        rotated,
        image_box: ImageBox {
            left: x as u32,
            top: y as u32,
            right: (x + w - 1) as u32,
            bottom: (y + h - 1) as u32,
        },
    })
}

/// Turns an image 90° counter-clockwise: pixel (x, y) of a `w` × `h` image goes to
/// (y, w − 1 − x) of the `h` × `w` result. Works in tiles so that both buffers are read
/// and written in cache-sized pieces.
fn rotate_counter_clockwise(pixels: &[u8], w: usize, h: usize, channels: usize) -> Vec<u8> {
    const TILE: usize = 64;
    let mut out = vec![0u8; pixels.len()];
    for ty in (0..h).step_by(TILE) {
        for tx in (0..w).step_by(TILE) {
            for y in ty..(ty + TILE).min(h) {
                for x in tx..(tx + TILE).min(w) {
                    let from = (y * w + x) * channels;
                    let to = ((w - 1 - x) * h + y) * channels;
                    out[to..to + channels].copy_from_slice(&pixels[from..from + channels]);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const LETTER: &str = "na_letter_8.5x11in";
    const LEGAL: &str = "na_legal_8.5x14in";
    const A4: &str = "iso_a4_210x297mm";

    fn inch(v: f64) -> f64 {
        v * MM_PER_INCH
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-6
    }

    #[test]
    fn parses_self_describing_names() {
        let letter = MediaSize::parse(LETTER).unwrap();
        assert!(close(letter.width_mm, 215.9) && close(letter.height_mm, 279.4));
        assert!(close(letter.width_pt(), 612.0) && close(letter.height_pt(), 792.0));
        let a4 = MediaSize::parse(A4).unwrap();
        assert_eq!((a4.width_mm, a4.height_mm), (210.0, 297.0));
        assert!((a4.width_pt() - 595.2756).abs() < 1e-3);
        let env = MediaSize::parse("na_number-10_4.125x9.5in").unwrap();
        assert!(close(env.width_mm, 104.775) && close(env.height_mm, 241.3));
        let index = MediaSize::parse("na_index-4x6_4x6in").unwrap();
        assert_eq!(index.name, "na_index-4x6_4x6in");
        assert!(close(index.height_mm, 152.4));
        assert!(MediaSize::parse("om_small-photo_100x150mm").is_some());
    }

    #[test]
    fn rejects_custom_ranges_and_malformed_names() {
        for bad in [
            "custom_min_3x5in",
            "custom_max_17x24in",
            "letter",
            "na_letter",
            "na_letter_8.5x11",
            "na_letter_8.5x11inch",
            "na_letter_x11in",
            "na_letter_0x11in",
            "na_letter_-1x11in",
            "na_letter_1e3x11in",
            "na_huge_100x200in",
            "_a_1x1in",
            "na__1x1in",
            "",
        ] {
            assert_eq!(MediaSize::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_14x17_film_fits_to_page_on_legal_the_largest_scale() {
        let c = choose_media(inch(14.0), inch(17.0), &[LETTER, LEGAL, A4]).unwrap();
        assert_eq!(c.media.name, LEGAL, "letter ties on scale, legal is larger");
        assert_eq!(c.fit, MediaFit::Scaled);
        assert!(close(c.scale, 8.5 / 14.0), "{}", c.scale);
        // A4 alone: 210 / 355.6 mm.
        let c = choose_media(inch(14.0), inch(17.0), &[A4]).unwrap();
        assert!(close(c.scale, 210.0 / 355.6));
    }

    #[test]
    fn an_8x10_film_fits_letter_unscaled() {
        let c = choose_media(inch(8.0), inch(10.0), &[LETTER]).unwrap();
        assert_eq!(
            (c.media.name.as_str(), c.fit, c.scale),
            (LETTER, MediaFit::Holds, 1.0)
        );
        // The smallest media that holds it, whatever the order of the list.
        let c = choose_media(inch(8.0), inch(10.0), &["iso_a3_297x420mm", LEGAL, LETTER]).unwrap();
        assert_eq!(c.media.name, LETTER);
        // Landscape films are held by portrait media too.
        let c = choose_media(inch(10.0), inch(8.0), &[LEGAL]).unwrap();
        assert_eq!(c.fit, MediaFit::Holds);
    }

    #[test]
    fn exact_matches_win_in_either_orientation_within_a_millimetre() {
        let c = choose_media(215.9, 279.4, &[LEGAL, A4, LETTER]).unwrap();
        assert_eq!((c.media.name.as_str(), c.fit), (LETTER, MediaFit::Exact));
        let c = choose_media(297.0, 210.0, &[LETTER, "iso_a3_297x420mm", A4]).unwrap();
        assert_eq!((c.media.name.as_str(), c.fit), (A4, MediaFit::Exact));
        let c = choose_media(240.0, 300.0, &[LEGAL, "om_film_240.9x299.1mm"]).unwrap();
        assert_eq!(c.fit, MediaFit::Exact);
        let c = choose_media(240.0, 300.0, &["om_film_241.2x300mm", "iso_a3_297x420mm"]).unwrap();
        assert_eq!(
            (c.media.name.as_str(), c.fit),
            ("om_film_241.2x300mm", MediaFit::Holds)
        );
    }

    #[test]
    fn no_usable_media_is_none() {
        assert_eq!(
            choose_media(100.0, 100.0, &["custom_max_20x30in", "bogus"]),
            None
        );
        assert_eq!(choose_media(100.0, 100.0, &[] as &[&str]), None);
        assert_eq!(choose_media(0.0, 100.0, &[LETTER]), None);
        assert_eq!(choose_media(f64::NAN, 100.0, &[LETTER]), None);
    }

    /// A film page of `w_in` × `h_in` inches at `dpi` whose pixels are `f(x, y)`.
    fn film(w_in: f64, h_in: f64, dpi: u32, channels: u8, f: impl Fn(usize, usize) -> u8) -> Page {
        let (w, h) = (
            (w_in * f64::from(dpi)).round() as usize,
            (h_in * f64::from(dpi)).round() as usize,
        );
        let mut pixels = Vec::with_capacity(w * h * usize::from(channels));
        for y in 0..h {
            for x in 0..w {
                for _ in 0..channels {
                    pixels.push(f(x, y));
                }
            }
        }
        Page {
            width_px: w as u32,
            height_px: h as u32,
            width_pt: w_in * 72.0,
            height_pt: h_in * 72.0,
            dpi,
            channels,
            pixels,
        }
    }

    fn at(p: &Page, x: usize, y: usize) -> &[u8] {
        let c = usize::from(p.channels);
        let i = (y * p.width_px as usize + x) * c;
        &p.pixels[i..i + c]
    }

    #[test]
    fn an_8x10_film_is_centred_on_letter_pixel_for_pixel() {
        let f = film(8.0, 10.0, 300, 1, |x, y| ((x * 7 + y * 13) % 251) as u8);
        let letter = MediaSize::parse(LETTER).unwrap();
        let fit = fit_page(&f, &letter, 300, 0.0).unwrap();
        assert_eq!((fit.scale, fit.rotated), (1.0, false));
        let p = &fit.page;
        assert_eq!((p.width_px, p.height_px, p.dpi), (2550, 3300, 300));
        assert_eq!((p.width_pt, p.height_pt), (612.0, 792.0));
        // 0.25 in of paper left and right, 0.5 in top and bottom.
        assert_eq!(
            fit.image_box,
            ImageBox {
                left: 75,
                top: 150,
                right: 75 + 2399,
                bottom: 150 + 2999
            }
        );
        assert_eq!(at(p, 74, 150), [255]);
        assert_eq!(at(p, 75, 149), [255]);
        for (x, y) in [(0, 0), (1, 0), (2399, 2999), (1234, 567)] {
            assert_eq!(at(p, 75 + x, 150 + y)[0], at(&f, x, y)[0], "({x},{y})");
        }
        assert_eq!(at(p, 2475, 3150), [255]);
    }

    #[test]
    fn a_14x17_film_shrinks_onto_legal_and_stays_centred() {
        let f = film(14.0, 17.0, 30, 1, |_, _| 100);
        let legal = MediaSize::parse(LEGAL).unwrap();
        let fit = fit_page(&f, &legal, 30, 0.0).unwrap();
        assert!(!fit.rotated);
        assert!(close(fit.scale, 8.5 / 14.0));
        let p = &fit.page;
        assert_eq!((p.width_px, p.height_px), (255, 420));
        // 17 in × 0.607 = 10.32 in = 310 px, centred: 55 px above and below.
        assert_eq!(
            fit.image_box,
            ImageBox {
                left: 0,
                top: 55,
                right: 254,
                bottom: 364
            }
        );
        for x in [0, 100, 254] {
            assert_eq!(at(p, x, 54), [255]);
            assert_eq!(at(p, x, 55), [100]);
            assert_eq!(at(p, x, 364), [100]);
            assert_eq!(at(p, x, 365), [255]);
        }
    }

    #[test]
    fn a_landscape_film_turns_counter_clockwise_when_it_prints_larger() {
        // 17 × 14 in, a black 2 in block in its top-left corner, gray elsewhere.
        let f = film(
            17.0,
            14.0,
            20,
            1,
            |x, y| if x < 40 && y < 40 { 0 } else { 128 },
        );
        let letter = MediaSize::parse(LETTER).unwrap();
        let fit = fit_page(&f, &letter, 20, 0.0).unwrap();
        assert!(fit.rotated);
        assert!(close(fit.scale, 8.5 / 14.0), "upright would be 8.5/17");
        let b = fit.image_box;
        let p = &fit.page;
        assert_eq!((b.left, b.right), (0, 169));
        // The film's top-left corner lands bottom-left; its top-right corner top-left.
        assert_eq!(at(p, 5, b.bottom as usize - 5), [0]);
        assert_eq!(at(p, 5, b.top as usize + 5), [128]);
        assert_eq!(at(p, 164, b.bottom as usize - 5), [128]);
        // Upright films on portrait media are not turned.
        let portrait = film(14.0, 17.0, 20, 1, |_, _| 0);
        assert!(!fit_page(&portrait, &letter, 20, 0.0).unwrap().rotated);
    }

    #[test]
    fn rotation_maps_pixels_as_documented() {
        // 3 × 2 image, values = index: turned it is 2 × 3.
        let turned = rotate_counter_clockwise(&[0, 1, 2, 3, 4, 5], 3, 2, 1);
        assert_eq!(turned, [2, 5, 1, 4, 0, 3]);
        let rgb = rotate_counter_clockwise(&[1, 1, 1, 2, 2, 2], 2, 1, 3);
        assert_eq!(rgb, [2, 2, 2, 1, 1, 1]);
    }

    #[test]
    fn margins_shrink_a_film_that_matches_the_media() {
        let f = film(8.5, 11.0, 72, 3, |_, _| 0);
        let letter = MediaSize::parse(LETTER).unwrap();
        let fit = fit_page(&f, &letter, 72, 36.0).unwrap();
        assert!(close(fit.scale, 540.0 / 612.0));
        assert!(!fit.rotated);
        let b = fit.image_box;
        assert_eq!((b.left, b.right), (36, 575));
        assert_eq!(at(&fit.page, 35, 396), [255, 255, 255]);
        assert_eq!(at(&fit.page, 300, 396), [0, 0, 0]);
    }

    #[test]
    fn rgb_films_keep_their_colours_and_are_never_enlarged() {
        let red = film(4.0, 5.0, 30, 3, |_, _| 0);
        let red = Page {
            pixels: red.pixels.chunks(3).flat_map(|_| [255, 0, 0]).collect(),
            ..red
        };
        let legal = MediaSize::parse(LEGAL).unwrap();
        let fit = fit_page(&red, &legal, 60, 0.0).unwrap();
        assert_eq!(fit.scale, 1.0, "small films print at their size");
        let b = fit.image_box;
        // 4 × 5 in at 60 dpi = 240 × 300 px, on 510 × 840.
        assert_eq!((b.right - b.left + 1, b.bottom - b.top + 1), (240, 300));
        assert_eq!((b.left, b.top), (135, 270));
        assert_eq!(at(&fit.page, 300, 400), [255, 0, 0]);
        assert_eq!(at(&fit.page, 100, 400), [255, 255, 255]);
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        let f = film(1.0, 1.0, 50, 1, |_, _| 0);
        let letter = MediaSize::parse(LETTER).unwrap();
        let broken = Page {
            pixels: vec![0; 3],
            ..f.clone()
        };
        assert_eq!(
            fit_page(&broken, &letter, 300, 0.0),
            Err(FitError::Page("pixel buffer"))
        );
        let two = Page {
            channels: 2,
            ..f.clone()
        };
        assert_eq!(
            fit_page(&two, &letter, 300, 0.0),
            Err(FitError::Page("channels"))
        );
        assert_eq!(
            fit_page(&f, &letter, 0, 0.0),
            Err(FitError::Resolution { dpi: 0 })
        );
        assert_eq!(
            fit_page(&f, &letter, 300, 400.0),
            Err(FitError::Margins(400.0))
        );
        assert!(matches!(
            fit_page(&f, &letter, 300, f64::NAN),
            Err(FitError::Margins(m)) if m.is_nan()
        ));
        let huge = MediaSize::parse("iso_2a0_1189x1682mm").unwrap();
        assert_eq!(
            fit_page(&f, &huge, 2400, 0.0),
            Err(FitError::TooLarge(huge.name.clone()))
        );
    }

    /// `cargo test --release --lib backend::media::tests::speed -- --ignored --nocapture`
    #[test]
    #[ignore = "timing, run by hand"]
    fn speed_of_fitting_a_14x17_film_onto_legal_at_300_dpi() {
        let f = film(14.0, 17.0, 300, 1, |x, y| ((x ^ y) & 0xff) as u8);
        let legal = MediaSize::parse(LEGAL).unwrap();
        let cpu_ns = || {
            std::fs::read_to_string("/proc/thread-self/schedstat")
                .ok()
                .and_then(|s| s.split_whitespace().next()?.parse::<u64>().ok())
                .unwrap_or(0)
        };
        let cpu = cpu_ns();
        let fit = fit_page(&f, &legal, 300, 0.0).unwrap();
        eprintln!(
            "14x17 in at 300 dpi onto legal at 300 dpi (scale {:.3}): {:.1} ms CPU",
            fit.scale,
            (cpu_ns() - cpu) as f64 / 1e6
        );
    }
}
