//! Colour layouts and colour spaces of the Image Pixel module (PS3.3 C.7.6.3.1.2,
//! C.7.6.3.1.3, C.7.6.3.1.5) to the 8-bit interleaved RGB a colour image box takes:
//! Planar Configuration 1 to interleaved, native YBR_FULL_422 (Y Y Cb Cr per two
//! pixels) to full YBR, YBR_FULL to RGB, PALETTE COLOR through its three tables.

use super::Palette;
use super::lut::{max_value, rescale_bits};

/// Plane after plane (R…R G…G B…B, Planar Configuration 1) to interleaved (R G B R G B…).
/// `values` holds exactly `pixels` × 3 samples (the caller checked).
pub fn interleave(values: &[i32], pixels: usize) -> Vec<i32> {
    let (red, rest) = values.split_at(pixels);
    let (green, blue) = rest.split_at(pixels);
    red.iter()
        .zip(green)
        .zip(blue)
        .flat_map(|((&r, &g), &b)| [r, g, b])
        .collect()
}

/// Native YBR_FULL_422 (PS3.3 C.7.6.3.1.2: "Y1 Y2 CB CR" for each two pixels of a row,
/// the chrominance shared by both) to one Y, Cb, Cr triple a pixel. `values` holds
/// `pixels` × 2 samples with `pixels` even (the caller checked).
pub fn expand_ybr_422(values: &[i32]) -> Vec<i32> {
    values
        .chunks_exact(4)
        .flat_map(|q| [q[0], q[2], q[3], q[1], q[2], q[3]])
        .collect()
}

/// YBR_FULL to RGB, the inverse of PS3.3 C.7.6.3.1.2's equations (ITU-T T.871):
/// R = Y + 1.402 (Cr − h), G = Y − 0.114·1.772/0.587 (Cb − h) − 0.299·1.402/0.587
/// (Cr − h), B = Y + 1.772 (Cb − h), h = 2^(bits−1); rounded half up and clamped to
/// 0..=2^bits−1, as pydicom's `convert_color_space` computes it.
pub fn ybr_full_to_rgb(y: i32, cb: i32, cr: i32, bits: u32) -> [i32; 3] {
    let half = f64::from(1u32 << (bits.clamp(1, 31) - 1));
    let max = f64::from(max_value(bits));
    let (y, cb, cr) = (f64::from(y), f64::from(cb) - half, f64::from(cr) - half);
    let r = y + 1.402 * cr;
    let g = y - (0.114 * 1.772 / 0.587) * cb - (0.299 * 1.402 / 0.587) * cr;
    let b = y + 1.772 * cb;
    [r, g, b].map(|v| (v + 0.5).floor().clamp(0.0, max) as i32)
}

/// A colour sample of `bits` bits as 8 bits (rounded to the nearest; values outside
/// 0..=2^bits−1 are clamped first).
pub fn sample_to_8(value: i32, bits: u32) -> u8 {
    let clamped = value.max(0) as u32;
    rescale_bits(clamped.min(max_value(bits)), bits, 8) as u8
}

/// PALETTE COLOR, PS3.3 C.7.6.3.1.5: one stored value to 8-bit R, G, B. Each table is
/// looked up as pydicom's `apply_color_lut` does (below the first mapped value the
/// first entry, above the last the last) and its entries scaled from the descriptor's
/// bits to 8 (16-bit entries: v × 255 / 65535, rounded).
pub fn palette_rgb(palette: &Palette, stored: i32) -> [u8; 3] {
    [&palette.red, &palette.green, &palette.blue].map(|lut| {
        let entry = lut.lookup(f64::from(stored));
        rescale_bits(u32::from(entry), u32::from(lut.bits), 8) as u8
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modality::Lut;

    /// Forward PS3.3 C.7.6.3.1.2 equations (YBR_FULL), to build test inputs.
    fn rgb_to_ybr(r: f64, g: f64, b: f64) -> [i32; 3] {
        let y = 0.299 * r + 0.587 * g + 0.114 * b;
        let cb = -0.1687 * r - 0.3313 * g + 0.5 * b + 128.0;
        let cr = 0.5 * r - 0.4187 * g - 0.0813 * b + 128.0;
        [y, cb, cr].map(|v| (v + 0.5).floor().clamp(0.0, 255.0) as i32)
    }

    #[test]
    fn ybr_full_grey_stays_grey() {
        assert_eq!(ybr_full_to_rgb(128, 128, 128, 8), [128, 128, 128]);
        assert_eq!(ybr_full_to_rgb(0, 128, 128, 8), [0, 0, 0]);
        assert_eq!(ybr_full_to_rgb(255, 128, 128, 8), [255, 255, 255]);
    }

    #[test]
    fn ybr_full_of_pure_colours_comes_back_within_one() {
        for rgb in [
            [255, 0, 0],
            [0, 255, 0],
            [0, 0, 255],
            [255, 255, 0],
            [12, 200, 99],
        ] {
            let [y, cb, cr] = rgb_to_ybr(rgb[0] as f64, rgb[1] as f64, rgb[2] as f64);
            let back = ybr_full_to_rgb(y, cb, cr, 8);
            for (a, b) in back.iter().zip(rgb) {
                assert!((a - b).abs() <= 1, "{rgb:?} → {:?} → {back:?}", [y, cb, cr]);
            }
        }
        // Pure red is Y 76, Cb 85, Cr 255 (PS3.3 C.7.6.3.1.2 equations).
        assert_eq!(rgb_to_ybr(255.0, 0.0, 0.0), [76, 85, 255]);
        assert_eq!(ybr_full_to_rgb(76, 85, 255, 8), [254, 0, 0]);
    }

    #[test]
    fn ybr_full_to_rgb_clamps_out_of_gamut() {
        // Y 255, Cb 0, Cr 255: R = 255 + 1.402·127 → clamped to 255;
        // G = 255 + 0.3441·128 − 0.7141·127 = 208.35; B = 255 − 1.772·128 = 28.18.
        assert_eq!(ybr_full_to_rgb(255, 0, 255, 8), [255, 208, 28]);
        assert_eq!(ybr_full_to_rgb(0, 0, 128, 8), [0, 44, 0]);
    }

    #[test]
    fn ybr_422_shares_chrominance_between_two_pixels() {
        let values = [10, 20, 100, 200, 30, 40, 101, 201];
        assert_eq!(
            expand_ybr_422(&values),
            vec![10, 100, 200, 20, 100, 200, 30, 101, 201, 40, 101, 201]
        );
    }

    #[test]
    fn planar_to_interleaved() {
        let planar = [1, 2, 3, 10, 20, 30, 100, 200, 255];
        assert_eq!(
            interleave(&planar, 3),
            vec![1, 10, 100, 2, 20, 200, 3, 30, 255]
        );
    }

    #[test]
    fn samples_are_scaled_to_8_bits() {
        assert_eq!(sample_to_8(65535, 16), 255);
        assert_eq!(sample_to_8(32768, 16), 128);
        assert_eq!(sample_to_8(200, 8), 200);
        assert_eq!(sample_to_8(-5, 8), 0);
        assert_eq!(sample_to_8(4095, 12), 255);
        assert_eq!(sample_to_8(9999, 12), 255);
    }

    #[test]
    fn palette_lookups_clamp_and_scale_16_bit_entries() {
        let lut = |first_mapped, data: Vec<u16>| Lut {
            first_mapped,
            bits: 16,
            data,
        };
        let palette = Palette {
            red: lut(10, vec![0, 0xFFFF, 0x8080]),
            green: lut(10, vec![0xFFFF, 0, 0x1010]),
            blue: Lut {
                first_mapped: 10,
                bits: 8,
                data: vec![7, 8, 9],
            },
        };
        assert_eq!(palette_rgb(&palette, 10), [0, 255, 7]);
        assert_eq!(palette_rgb(&palette, 11), [255, 0, 8]);
        assert_eq!(palette_rgb(&palette, 12), [128, 16, 9]);
        // Below the first mapped value: first entries; above the last: last entries.
        assert_eq!(palette_rgb(&palette, 0), [0, 255, 7]);
        assert_eq!(palette_rgb(&palette, 4000), [128, 16, 9]);
    }
}
