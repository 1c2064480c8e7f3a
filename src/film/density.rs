//! From image values to device gray: the PS3.14 Grayscale Standard Display Function
//! pipeline, pure and table driven.
//!
//! A grayscale image value goes through (PS3.4 H.4.2.2.1, PS3.14 chapter 7):
//!
//! 1. inversion for MONOCHROME1 or Polarity REVERSE (the two together cancel);
//! 2. the Presentation LUT (IDENTITY, LIN OD or an explicit table), giving a P-value;
//! 3. for IDENTITY and tables: linear steps in GSDF JND space between Lmin (the luminance
//!    of Max Density) and Lmax (the luminance of Min Density), then the density D of that
//!    luminance; for LIN OD: D linear between Max and Min Density;
//! 4. the device characteristic below, turning D into an 8-bit drive value.
//!
//! Luminance of a density: transmissive film L = La + L0·10^−D (PS3.14 7.2), reflective
//! paper L = L0·10^−D (PS3.14 7.3). An Illumination of 0 is taken as the PS3.14 default
//! (2000 cd/m² for film, 150 cd/m² for paper).
//!
//! # Device characteristic (PDF / paper queue)
//!
//! Nothing is measured for a PDF page, so the characteristic is stated, not calibrated:
//! the reflectance R = 10^−D of a density, relative to what the device can print,
//! r = (R − 10^−Dmax_dev) / (10^−Dmin_dev − 10^−Dmax_dev), is written as the sRGB encoding
//! of r. The device's Min Density prints as 255 (paper white) and its Max Density as 0.
//! Requested densities outside the device range are clamped to it (the print service
//! reports that with 0xB605).
//!
//! A queue with a measured characteristic curve (`characteristic_curve` in its
//! configuration: `[density, drive]` points, e.g. read off a printed step wedge with a
//! densitometer) uses that curve instead, interpolated linearly between its points.
//!
//! Everything is computed once per image box into a table of every input value
//! (256 or 4096 entries); pixels are then one table lookup each.

use super::model::{
    AreaDensity, Device, Film, Image, ImageBox, Medium, Photometric, Polarity, PresentationLut,
};

/// PS3.14 7.1 coefficients of L(j), in powers of ln j.
const LUM_A: f64 = -1.301_187_7;
const LUM_B: f64 = -2.584_019_1e-2;
const LUM_C: f64 = 8.024_263_6e-2;
const LUM_D: f64 = -1.032_022_9e-1;
const LUM_E: f64 = 1.364_669_9e-1;
const LUM_F: f64 = 2.874_562e-2;
const LUM_G: f64 = -2.546_840_4e-2;
const LUM_H: f64 = -3.197_897_7e-3;
const LUM_K: f64 = 1.299_263_4e-4;
const LUM_M: f64 = 1.363_533_4e-3;

/// PS3.14 7.1 coefficients of j(L), in powers of log10 L.
const JND: [f64; 9] = [
    71.498_068,
    94.593_053,
    41.912_053,
    9.824_700_4,
    0.281_754_07,
    -1.187_845_5,
    -0.180_143_49,
    0.147_108_99,
    -0.017_046_845,
];

/// The GSDF is defined for JND indices 1 to 1023 (PS3.14 7.1).
pub const JND_MIN: f64 = 1.0;
pub const JND_MAX: f64 = 1023.0;
/// Luminance at JND index 1 and 1023, cd/m² (PS3.14 Annex B).
pub const GSDF_L_MIN: f64 = 0.05;
pub const GSDF_L_MAX: f64 = 3993.4;

/// PS3.14 7.2: typical illumination of a light box, cd/m².
pub const DEFAULT_FILM_ILLUMINATION: f64 = 2000.0;
/// PS3.14 7.3: typical illumination of paper, cd/m².
pub const DEFAULT_PAPER_ILLUMINATION: f64 = 150.0;

/// Luminance in cd/m² of JND index `j` (PS3.14 7.1, equation 1). `j` is clamped to 1..=1023.
pub fn gsdf_luminance(j: f64) -> f64 {
    let x = j.clamp(JND_MIN, JND_MAX).ln();
    let (x2, x3, x4) = (x * x, x * x * x, x * x * x * x);
    let num = LUM_A + LUM_C * x + LUM_E * x2 + LUM_G * x3 + LUM_M * x4;
    let den = 1.0 + LUM_B * x + LUM_D * x2 + LUM_F * x3 + LUM_H * x4 + LUM_K * x4 * x;
    10f64.powf(num / den)
}

/// JND index of luminance `l` in cd/m² (PS3.14 7.1, equation 2). `l` is clamped to the
/// GSDF range 0.05..=3993.4 cd/m², outside of which the polynomial is meaningless.
pub fn gsdf_jnd(l: f64) -> f64 {
    let x = l.clamp(GSDF_L_MIN, GSDF_L_MAX).log10();
    JND.iter().rev().fold(0.0, |acc, &c| acc * x + c)
}

/// The viewing conditions a density is meant for (PS3.14 7.2, 7.3).
#[derive(Debug, Clone, Copy, PartialEq)]
struct Viewing {
    /// L0, cd/m².
    illumination: f64,
    /// La, cd/m²; zero for paper.
    ambient: f64,
}

impl Viewing {
    fn new(medium: Medium, illumination: u16, reflected_ambient_light: u16) -> Self {
        let default = if medium.is_transmissive() {
            DEFAULT_FILM_ILLUMINATION
        } else {
            DEFAULT_PAPER_ILLUMINATION
        };
        Viewing {
            illumination: if illumination == 0 {
                default
            } else {
                f64::from(illumination)
            },
            ambient: if medium.is_transmissive() {
                f64::from(reflected_ambient_light)
            } else {
                0.0
            },
        }
    }

    fn luminance(&self, density: f64) -> f64 {
        self.ambient + self.illumination * 10f64.powf(-density)
    }

    fn density(&self, luminance: f64) -> f64 {
        let reflected = (luminance - self.ambient).max(f64::MIN_POSITIVE);
        -(reflected / self.illumination).log10()
    }
}

/// Everything that decides how a grayscale image box prints.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ToneParams<'a> {
    /// Bits Stored of the input values (8 or 12).
    pub bits: u8,
    /// MONOCHROME1 inverts; RGB is treated as MONOCHROME2.
    pub photometric: Photometric,
    pub polarity: Polarity,
    pub presentation_lut: &'a PresentationLut,
    /// Requested Min Density, hundredths of OD.
    pub min_density: u16,
    /// Requested Max Density, hundredths of OD.
    pub max_density: u16,
    pub medium: Medium,
    /// Illumination L0, cd/m².
    pub illumination: u16,
    /// Reflected Ambient Light La, cd/m² (transmissive media only).
    pub reflected_ambient_light: u16,
}

impl<'a> ToneParams<'a> {
    /// The parameters of one image box on a film: the image box's Min/Max Density and
    /// Presentation LUT override the film box's (PS3.4 H.4.2.2.1).
    pub fn for_image_box(film: &'a Film, image_box: &'a ImageBox, image: &Image) -> Self {
        ToneParams {
            bits: image.bits_stored,
            photometric: image.photometric,
            polarity: image_box.polarity,
            presentation_lut: image_box
                .presentation_lut
                .as_ref()
                .unwrap_or(&film.presentation_lut),
            min_density: image_box.min_density.unwrap_or(film.min_density),
            max_density: image_box.max_density.unwrap_or(film.max_density),
            medium: film.medium,
            illumination: film.illumination,
            reflected_ambient_light: film.reflected_ambient_light,
        }
    }
}

/// A lookup table from every input value of an image box to an 8-bit device gray
/// (0 = black, 255 = white).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToneMap {
    table: Vec<u8>,
}

impl ToneMap {
    /// Builds the table for `params` on `device`: 2^bits entries (bits clamped to 1..=16).
    pub fn new(params: &ToneParams, device: &Device) -> ToneMap {
        let bits = params.bits.clamp(1, 16);
        let max_value = (1u32 << bits) - 1;
        let invert = (params.photometric == Photometric::Monochrome1)
            != (params.polarity == Polarity::Reverse);
        let viewing = Viewing::new(
            params.medium,
            params.illumination,
            params.reflected_ambient_light,
        );
        let (d_min, d_max) = ordered(params.min_density, params.max_density);
        let gsdf = GsdfSpan::new(&viewing, d_min, d_max);
        let table = (0..=max_value)
            .map(|value| {
                let value = if invert { max_value - value } else { value };
                let density = match params.presentation_lut {
                    PresentationLut::LinOd => {
                        let p = f64::from(value) / f64::from(max_value);
                        d_max - p * (d_max - d_min)
                    }
                    PresentationLut::Identity => {
                        gsdf.density(&viewing, f64::from(value) / f64::from(max_value))
                    }
                    PresentationLut::Table {
                        first_mapped,
                        bits: entry_bits,
                        entries,
                    } => match table_fraction(value, *first_mapped, *entry_bits, entries) {
                        Some(p) => gsdf.density(&viewing, p),
                        None => gsdf.density(&viewing, f64::from(value) / f64::from(max_value)),
                    },
                };
                density_gray(density, device)
            })
            .collect();
        ToneMap { table }
    }

    /// The table, indexed by input value.
    pub fn table(&self) -> &[u8] {
        &self.table
    }

    /// The gray of one input value; values beyond the table take its last entry.
    #[inline]
    pub fn map(&self, value: u16) -> u8 {
        let last = self.table.len() - 1;
        self.table[usize::from(value).min(last)]
    }
}

/// The JND span between Lmin and Lmax for one set of requested densities.
struct GsdfSpan {
    j_min: f64,
    j_max: f64,
    l_min: f64,
    l_max: f64,
    /// L(j_min), L(j_max): differ from l_min/l_max by the polynomials' round-trip error and
    /// by clamping to the GSDF range; an affine correction makes the ends exact.
    fit_min: f64,
    fit_max: f64,
}

impl GsdfSpan {
    fn new(viewing: &Viewing, d_min: f64, d_max: f64) -> Self {
        let l_min = viewing.luminance(d_max);
        let l_max = viewing.luminance(d_min);
        let j_min = gsdf_jnd(l_min);
        let j_max = gsdf_jnd(l_max);
        GsdfSpan {
            j_min,
            j_max,
            l_min,
            l_max,
            fit_min: gsdf_luminance(j_min),
            fit_max: gsdf_luminance(j_max),
        }
    }

    /// Density of the P-value fraction `p` (0 = darkest, 1 = lightest).
    fn density(&self, viewing: &Viewing, p: f64) -> f64 {
        let l = gsdf_luminance(self.j_min + p * (self.j_max - self.j_min));
        let span = self.fit_max - self.fit_min;
        let l = if span > 0.0 {
            self.l_min + (l - self.fit_min) * (self.l_max - self.l_min) / span
        } else {
            self.l_min
        };
        viewing.density(l)
    }
}

/// Min and max density in OD, in order whatever order they were requested in.
fn ordered(min_hundredths: u16, max_hundredths: u16) -> (f64, f64) {
    let (a, b) = (
        f64::from(min_hundredths) / 100.0,
        f64::from(max_hundredths) / 100.0,
    );
    (a.min(b), a.max(b))
}

/// The output of an explicit Presentation LUT for `value`, as a fraction of the P-value
/// range; values outside the table clamp to its first or last entry. `None` for an empty
/// table.
fn table_fraction(value: u32, first_mapped: u16, bits: u8, entries: &[u16]) -> Option<f64> {
    let last = entries.len().checked_sub(1)?;
    let index = (value.saturating_sub(u32::from(first_mapped)) as usize).min(last);
    let full_scale = f64::from((1u32 << bits.clamp(1, 16)) - 1);
    Some((f64::from(entries[index]) / full_scale).min(1.0))
}

/// The device drive value (gray, 0 = black) of a density in OD: the queue's
/// characteristic curve when it has one, else the default characteristic of the module
/// doc. Densities outside the device range are clamped to it.
pub fn density_gray(density: f64, device: &Device) -> u8 {
    let (dev_min, dev_max) = ordered(device.min_density, device.max_density);
    let d = if density.is_nan() {
        dev_max
    } else {
        density.clamp(dev_min, dev_max)
    };
    if device.curve.len() >= 2 {
        return curve_drive(&device.curve, d);
    }
    let r_dark = 10f64.powf(-dev_max);
    let r_white = 10f64.powf(-dev_min);
    if r_white - r_dark <= f64::EPSILON {
        return 255;
    }
    let r = ((10f64.powf(-d) - r_dark) / (r_white - r_dark)).clamp(0.0, 1.0);
    (srgb_encode(r) * 255.0).round() as u8
}

/// Linear interpolation of a measured characteristic curve (`[density, drive]` points,
/// densities increasing, checked by the configuration); beyond its ends the end points'
/// drive values hold, since the device cannot print outside what was measured.
fn curve_drive(curve: &[[f64; 2]], d: f64) -> u8 {
    let i = curve.partition_point(|p| p[0] < d);
    let drive = if i == 0 {
        curve[0][1]
    } else if i == curve.len() {
        curve[curve.len() - 1][1]
    } else {
        let ([d0, v0], [d1, v1]) = (curve[i - 1], curve[i]);
        v0 + (v1 - v0) * (d - d0) / (d1 - d0)
    };
    drive.round().clamp(0.0, 255.0) as u8
}

/// The sRGB transfer function (IEC 61966-2-1), linear 0..=1 to encoded 0..=1.
fn srgb_encode(linear: f64) -> f64 {
    if linear <= 0.003_130_8 {
        12.92 * linear
    } else {
        1.055 * linear.powf(1.0 / 2.4) - 0.055
    }
}

/// The gray of a Border Density or Empty Image Density (2010,0100), (2010,0110):
/// BLACK is the device's Max Density, WHITE its Min Density.
pub fn area_gray(density: AreaDensity, device: &Device) -> u8 {
    match density {
        AreaDensity::Black => 0,
        AreaDensity::White => 255,
        AreaDensity::Hundredths(h) => density_gray(f64::from(h) / 100.0, device),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn device() -> Device {
        Device {
            dpi: 300,
            min_density: 10,
            max_density: 250,
            margin_mm: 0.0,
            gap_mm: 0.0,
            ..Device::default()
        }
    }

    fn params(lut: &PresentationLut) -> ToneParams<'_> {
        ToneParams {
            bits: 8,
            photometric: Photometric::Monochrome2,
            polarity: Polarity::Normal,
            presentation_lut: lut,
            min_density: 10,
            max_density: 250,
            medium: Medium::Paper,
            illumination: 150,
            reflected_ambient_light: 0,
        }
    }

    #[test]
    fn gsdf_matches_the_published_end_points() {
        assert!(
            (gsdf_luminance(1.0) - 0.05).abs() < 1e-3,
            "{}",
            gsdf_luminance(1.0)
        );
        assert!(
            (gsdf_luminance(1023.0) - 3993.4).abs() < 0.5,
            "{}",
            gsdf_luminance(1023.0)
        );
        // PS3.14 Annex B table samples.
        for (j, l) in [(10.0, 0.0991), (100.0, 1.8508), (500.0, 119.13)] {
            let got = gsdf_luminance(j);
            assert!((got - l).abs() / l < 2e-3, "L({j}) = {got}, expected {l}");
        }
    }

    #[test]
    fn gsdf_round_trips_within_a_tenth_of_a_jnd() {
        for j in [1.0, 2.0, 10.0, 57.0, 100.0, 300.0, 640.0, 1000.0, 1023.0] {
            let back = gsdf_jnd(gsdf_luminance(j));
            assert!((back - j).abs() < 0.1, "j {j} -> {back}");
        }
        for l in [0.05, 0.5, 10.0, 150.0, 2000.0] {
            let back = gsdf_luminance(gsdf_jnd(l));
            assert!((back - l).abs() / l < 5e-3, "L {l} -> {back}");
        }
    }

    #[test]
    fn gsdf_is_finite_and_monotonic_outside_its_range() {
        assert_eq!(gsdf_jnd(0.0), gsdf_jnd(GSDF_L_MIN));
        assert_eq!(gsdf_luminance(-5.0), gsdf_luminance(1.0));
        let mut last = 0.0;
        for j in 1..=1023 {
            let l = gsdf_luminance(f64::from(j));
            assert!(l > last);
            last = l;
        }
    }

    #[test]
    fn monochrome2_normal_never_prints_darker_for_higher_values() {
        for lut in [PresentationLut::Identity, PresentationLut::LinOd] {
            for medium in [Medium::Paper, Medium::ClearFilm] {
                let p = ToneParams {
                    medium,
                    illumination: 2000,
                    reflected_ambient_light: 10,
                    ..params(&lut)
                };
                let t = ToneMap::new(&p, &device());
                assert!(
                    t.table().windows(2).all(|w| w[0] <= w[1]),
                    "{lut:?} {medium:?}"
                );
                assert_eq!(t.table()[0], 0);
                assert_eq!(t.table()[255], 255);
            }
        }
    }

    #[test]
    fn monochrome1_and_reverse_each_invert_and_cancel_together() {
        let lut = PresentationLut::Identity;
        let normal = ToneMap::new(&params(&lut), &device());
        let mut reversed_table = normal.table().to_vec();
        reversed_table.reverse();
        let mono1 = ToneParams {
            photometric: Photometric::Monochrome1,
            ..params(&lut)
        };
        let reverse = ToneParams {
            polarity: Polarity::Reverse,
            ..params(&lut)
        };
        let both = ToneParams {
            polarity: Polarity::Reverse,
            ..mono1
        };
        assert_eq!(ToneMap::new(&mono1, &device()).table(), &reversed_table[..]);
        assert_eq!(
            ToneMap::new(&reverse, &device()).table(),
            &reversed_table[..]
        );
        assert_eq!(ToneMap::new(&both, &device()), normal);
    }

    #[test]
    fn a_lower_max_density_prints_value_zero_lighter() {
        let lut = PresentationLut::Identity;
        let full = ToneMap::new(&params(&lut), &device());
        assert_eq!(full.map(0), 0, "Max Density = device max prints black");
        let lighter = ToneMap::new(
            &ToneParams {
                max_density: 150,
                ..params(&lut)
            },
            &device(),
        );
        assert!(lighter.map(0) > 0);
        assert_eq!(lighter.map(0), density_gray(1.5, &device()));
    }

    #[test]
    fn densities_beyond_the_device_range_clamp() {
        let lut = PresentationLut::Identity;
        let t = ToneMap::new(
            &ToneParams {
                min_density: 0,
                max_density: 400,
                ..params(&lut)
            },
            &device(),
        );
        assert_eq!(t.map(0), 0);
        assert_eq!(t.map(255), 255);
        assert_eq!(density_gray(9.0, &device()), 0);
        assert_eq!(density_gray(-1.0, &device()), 255);
        assert_eq!(density_gray(f64::NAN, &device()), 0);
    }

    #[test]
    fn a_characteristic_curve_replaces_the_default() {
        let dev = Device {
            curve: vec![[0.0, 250.0], [1.0, 150.0], [3.0, 10.0]],
            min_density: 0,
            max_density: 300,
            ..device()
        };
        assert_eq!(density_gray(0.0, &dev), 250);
        assert_eq!(density_gray(0.5, &dev), 200);
        assert_eq!(density_gray(1.0, &dev), 150);
        assert_eq!(density_gray(2.0, &dev), 80);
        assert_eq!(density_gray(3.0, &dev), 10);
        // Clamped to the device range (max 3.00 OD) before the curve.
        assert_eq!(density_gray(4.0, &dev), 10);
        assert_eq!(area_gray(AreaDensity::Hundredths(50), &dev), 200);
        // The whole pipeline goes through it: LIN OD from Min 0.00 to Max 3.00 puts value
        // 0 at 3.00 OD and the top value at 0.00 OD.
        let lut = PresentationLut::LinOd;
        let mut p = params(&lut);
        p.min_density = 0;
        p.max_density = 300;
        let t = ToneMap::new(&p, &dev);
        assert_eq!(t.map(0), 10);
        assert_eq!(t.map(255), 250);
    }

    #[test]
    fn identity_and_lin_od_differ() {
        let identity = ToneMap::new(&params(&PresentationLut::Identity), &device());
        let lin_od = ToneMap::new(&params(&PresentationLut::LinOd), &device());
        assert_ne!(identity, lin_od);
        // LIN OD: the middle value is the middle density.
        assert_eq!(
            lin_od.map(128),
            density_gray(2.5 - 128.0 / 255.0 * 2.4, &device())
        );
    }

    #[test]
    fn twelve_bit_tables_have_4096_entries() {
        let lut = PresentationLut::Identity;
        let t = ToneMap::new(
            &ToneParams {
                bits: 12,
                ..params(&lut)
            },
            &device(),
        );
        assert_eq!(t.table().len(), 4096);
        assert_eq!(t.map(0), 0);
        assert_eq!(t.map(4095), 255);
        assert_eq!(t.map(u16::MAX), 255);
        assert!(t.table().windows(2).all(|w| w[0] <= w[1]));
    }

    #[test]
    fn explicit_table_is_normalised_and_clamps_to_its_last_entry() {
        // A 10-bit table inverting the first 128 values, shorter than the input range.
        let entries: Vec<u16> = (0..128).map(|i| 1023 - i * 8).collect();
        let lut = PresentationLut::Table {
            first_mapped: 0,
            bits: 10,
            entries,
        };
        let t = ToneMap::new(&params(&lut), &device());
        assert_eq!(t.map(0), 255, "entry 1023 of 10 bits is the top P-value");
        assert!(t.table()[..128].windows(2).all(|w| w[0] >= w[1]));
        assert!(t.table()[127..].iter().all(|&g| g == t.map(127)));
        let empty = PresentationLut::Table {
            first_mapped: 0,
            bits: 12,
            entries: vec![],
        };
        let fallback = ToneMap::new(&params(&empty), &device());
        assert_eq!(
            fallback,
            ToneMap::new(&params(&PresentationLut::Identity), &device())
        );
    }

    #[test]
    fn area_densities_map_through_the_device_range() {
        let d = device();
        assert_eq!(area_gray(AreaDensity::Black, &d), 0);
        assert_eq!(area_gray(AreaDensity::White, &d), 255);
        assert_eq!(area_gray(AreaDensity::Hundredths(250), &d), 0);
        assert_eq!(area_gray(AreaDensity::Hundredths(10), &d), 255);
        assert_eq!(area_gray(AreaDensity::Hundredths(0), &d), 255);
        let mid = area_gray(AreaDensity::Hundredths(100), &d);
        assert!(mid > 0 && mid < 255);
        assert!(area_gray(AreaDensity::Hundredths(50), &d) > mid);
    }

    #[test]
    fn film_illumination_zero_takes_the_default() {
        let lut = PresentationLut::Identity;
        let film = |illumination| ToneParams {
            medium: Medium::ClearFilm,
            illumination,
            reflected_ambient_light: 10,
            ..params(&lut)
        };
        assert_eq!(
            ToneMap::new(&film(0), &device()),
            ToneMap::new(&film(2000), &device())
        );
    }
}
