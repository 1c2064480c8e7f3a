//! ICC profiles written by filmd itself: sRGB and a gray profile with the sRGB transfer
//! curve, for the PDF/A output intent and the pages' `ICCBased` colour spaces (ISO 19005-2
//! 6.2.3 and 6.2.4.2 want every colour device independent, described by an embedded ICC
//! profile).
//!
//! Both are version 2.1 display (`mntr`) profiles with an XYZ PCS (ICC.1:2001-04): v2 is
//! read by every PDF/A validator and viewer, and PDF/A-2 takes ICC profiles up to v4. The
//! tag values are computed here from the published constants: the primaries and D65 white
//! of IEC 61966-2-1 (sRGB), adapted to the PCS illuminant D50 with the Bradford transform
//! (ICC.1 Annex E), and the sRGB transfer function sampled into a `curv` table. Nothing is
//! copied from an existing profile.
//!
//! The profiles are built once per process ([`OnceLock`]); each is a few kilobytes.

use std::sync::OnceLock;

/// ICC.1 profile version 2.1.0, BCD in the header's version field (ICC.1 7.2.4).
const VERSION_2_1: u32 = 0x0210_0000;
/// Header date and time (ICC.1 7.2.8): fixed, so that every build writes the same bytes.
const PROFILE_DATE: [u16; 6] = [2026, 11, 1, 0, 0, 0];
/// The PCS illuminant D50 as ICC.1 7.2.16 gives it.
pub const D50: [f64; 3] = [0.9642, 1.0, 0.8249];
/// sRGB primaries (x, y): red, green, blue (IEC 61966-2-1 table 1).
const SRGB_PRIMARIES: [(f64, f64); 3] = [(0.64, 0.33), (0.30, 0.60), (0.15, 0.06)];
/// sRGB reference white D65 (x, y) (IEC 61966-2-1 table 1).
const SRGB_WHITE: (f64, f64) = (0.3127, 0.3290);
/// The Bradford cone response matrix (ICC.1:2010 Annex E.3).
const BRADFORD: [[f64; 3]; 3] = [
    [0.8951, 0.2664, -0.1614],
    [-0.7502, 1.7135, 0.0367],
    [0.0389, -0.0685, 1.0296],
];
/// Entries of the sampled sRGB transfer curve; lcms and poppler interpolate linearly
/// between them, which stays within 1e-4 of the function at 1024 samples.
const TRC_ENTRIES: usize = 1024;

/// The sRGB profile (`RGB ` data, XYZ PCS): what the PDF/A output intent names and what
/// RGB pages are tagged with.
pub fn srgb_profile() -> &'static [u8] {
    static PROFILE: OnceLock<Vec<u8>> = OnceLock::new();
    PROFILE.get_or_init(build_srgb)
}

/// The gray profile (`GRAY` data, XYZ PCS): D50 gray whose luminance follows the sRGB
/// transfer curve, so a gray value means what it means in sRGB (R = G = B).
pub fn gray_profile() -> &'static [u8] {
    static PROFILE: OnceLock<Vec<u8>> = OnceLock::new();
    PROFILE.get_or_init(build_gray)
}

/// The sRGB decoding function: encoded value in 0..=1 to linear light (IEC 61966-2-1 5.2).
pub fn srgb_to_linear(v: f64) -> f64 {
    if v <= 0.040_45 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }
}

/// The sRGB RGB → XYZ matrix for the D50 PCS: the columns are the XYZ of the red, green
/// and blue primaries after Bradford adaptation from D65 to D50.
pub fn srgb_to_d50_matrix() -> [[f64; 3]; 3] {
    let xyz = |(x, y): (f64, f64)| [x / y, 1.0, (1.0 - x - y) / y];
    let white = xyz(SRGB_WHITE);
    // Primaries scaled so that R = G = B = 1 gives the white (Y = 1).
    let mut primaries = [[0.0; 3]; 3];
    for (column, &p) in SRGB_PRIMARIES.iter().enumerate() {
        for (row, v) in xyz(p).into_iter().enumerate() {
            primaries[row][column] = v;
        }
    }
    let scale = mul_vec(&invert(&primaries), white);
    let mut rgb_to_d65 = primaries;
    for row in &mut rgb_to_d65 {
        for (v, s) in row.iter_mut().zip(scale) {
            *v *= s;
        }
    }
    // Bradford: into cone space, scale by the ratio of the whites' responses, back.
    let (source, dest) = (mul_vec(&BRADFORD, white), mul_vec(&BRADFORD, D50));
    let mut diagonal = [[0.0; 3]; 3];
    for i in 0..3 {
        diagonal[i][i] = dest[i] / source[i];
    }
    let adapt = mul(&invert(&BRADFORD), &mul(&diagonal, &BRADFORD));
    mul(&adapt, &rgb_to_d65)
}

/// A number as s15Fixed16Number (ICC.1 5.1.11).
fn s15_fixed16(v: f64) -> i32 {
    (v * 65536.0).round() as i32
}

/// The primaries' columns in s15Fixed16, each row nudged (by at most a unit or two in the
/// largest entry) so that R = G = B = 1 lands exactly on the encoded D50: white converts to
/// L* = 100 with a* = b* = 0, not to a neighbour of it.
fn encoded_primaries() -> [[i32; 3]; 3] {
    let matrix = srgb_to_d50_matrix();
    let mut columns = [[0i32; 3]; 3];
    for (row, values) in matrix.iter().enumerate() {
        let mut encoded = values.map(s15_fixed16);
        let error = s15_fixed16(D50[row]) - encoded.iter().sum::<i32>();
        let largest = (0..3)
            .max_by(|&a, &b| values[a].abs().total_cmp(&values[b].abs()))
            .unwrap_or(0);
        encoded[largest] += error;
        for (column, v) in encoded.into_iter().enumerate() {
            columns[column][row] = v;
        }
    }
    columns
}

fn build_srgb() -> Vec<u8> {
    let [red, green, blue] = encoded_primaries();
    let trc = curve_tag(TRC_ENTRIES);
    let blocks = vec![
        desc_tag("filmd sRGB IEC61966-2.1"),
        text_tag(COPYRIGHT),
        xyz_tag(D50.map(s15_fixed16)),
        xyz_tag(red),
        xyz_tag(green),
        xyz_tag(blue),
        trc,
    ];
    // The three TRC tags share one data block (ICC.1 7.3.1 allows shared tag data).
    let tags = [
        (*b"desc", 0),
        (*b"cprt", 1),
        (*b"wtpt", 2),
        (*b"rXYZ", 3),
        (*b"gXYZ", 4),
        (*b"bXYZ", 5),
        (*b"rTRC", 6),
        (*b"gTRC", 6),
        (*b"bTRC", 6),
    ];
    assemble(*b"RGB ", &tags, &blocks)
}

fn build_gray() -> Vec<u8> {
    let blocks = vec![
        desc_tag("filmd Gray, sRGB transfer curve, D50"),
        text_tag(COPYRIGHT),
        xyz_tag(D50.map(s15_fixed16)),
        curve_tag(TRC_ENTRIES),
    ];
    let tags = [(*b"desc", 0), (*b"cprt", 1), (*b"wtpt", 2), (*b"kTRC", 3)];
    assemble(*b"GRAY", &tags, &blocks)
}

const COPYRIGHT: &str = "No copyright, use freely. Computed by filmd from IEC 61966-2-1.";

/// Header, tag table and 4-byte aligned tag data (ICC.1 7.1). `tags` name a block of
/// `blocks` each; a block named by several tags is stored once.
fn assemble(color_space: [u8; 4], tags: &[([u8; 4], usize)], blocks: &[Vec<u8>]) -> Vec<u8> {
    let table_len = 4 + 12 * tags.len();
    let mut offsets = Vec::with_capacity(blocks.len());
    let mut at = 128 + table_len;
    for block in blocks {
        offsets.push(at);
        at += block.len().next_multiple_of(4);
    }
    let size = at;

    let mut out = Vec::with_capacity(size);
    out.extend_from_slice(&(size as u32).to_be_bytes());
    out.extend_from_slice(&[0; 4]); // preferred CMM: none
    out.extend_from_slice(&VERSION_2_1.to_be_bytes());
    out.extend_from_slice(b"mntr");
    out.extend_from_slice(&color_space);
    out.extend_from_slice(b"XYZ ");
    for part in PROFILE_DATE {
        out.extend_from_slice(&part.to_be_bytes());
    }
    out.extend_from_slice(b"acsp");
    out.extend_from_slice(&[0; 4]); // primary platform: none
    out.extend_from_slice(&[0; 4]); // flags: not embedded-only, independent
    out.extend_from_slice(&[0; 8]); // device manufacturer and model
    out.extend_from_slice(&[0; 8]); // device attributes: reflective, glossy, positive, colour
    out.extend_from_slice(&0u32.to_be_bytes()); // rendering intent: perceptual
    for v in D50 {
        out.extend_from_slice(&s15_fixed16(v).to_be_bytes());
    }
    out.extend_from_slice(&[0; 4]); // profile creator
    out.resize(128, 0); // profile ID (v4 only) and reserved bytes stay zero
    debug_assert_eq!(&out[36..40], b"acsp");

    out.extend_from_slice(&(tags.len() as u32).to_be_bytes());
    for &(signature, block) in tags {
        out.extend_from_slice(&signature);
        out.extend_from_slice(&(offsets[block] as u32).to_be_bytes());
        out.extend_from_slice(&(blocks[block].len() as u32).to_be_bytes());
    }
    for block in blocks {
        out.extend_from_slice(block);
        out.resize(out.len().next_multiple_of(4), 0);
    }
    debug_assert_eq!(out.len(), size);
    out
}

/// textDescriptionType (ICC.1:2001-04 6.5.17): ASCII text, empty Unicode and ScriptCode
/// parts.
fn desc_tag(text: &str) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len() + 91);
    out.extend_from_slice(b"desc");
    out.extend_from_slice(&[0; 4]);
    out.extend_from_slice(&(text.len() as u32 + 1).to_be_bytes());
    out.extend_from_slice(text.as_bytes());
    out.push(0);
    out.extend_from_slice(&[0; 4]); // Unicode language code
    out.extend_from_slice(&[0; 4]); // Unicode count
    out.extend_from_slice(&[0; 2]); // ScriptCode code
    out.push(0); // ScriptCode count
    out.extend_from_slice(&[0; 67]); // Macintosh description
    out
}

/// textType (ICC.1:2001-04 6.5.18): NUL-terminated ASCII.
fn text_tag(text: &str) -> Vec<u8> {
    let mut out = b"text\0\0\0\0".to_vec();
    out.extend_from_slice(text.as_bytes());
    out.push(0);
    out
}

/// XYZType (ICC.1:2001-04 6.5.20) with one XYZNumber.
fn xyz_tag(xyz: [i32; 3]) -> Vec<u8> {
    let mut out = b"XYZ \0\0\0\0".to_vec();
    for v in xyz {
        out.extend_from_slice(&v.to_be_bytes());
    }
    out
}

/// curveType (ICC.1:2001-04 6.5.3): the sRGB decoding function sampled at `entries`
/// evenly spaced inputs, as u16 fractions of 65535.
fn curve_tag(entries: usize) -> Vec<u8> {
    let mut out = b"curv\0\0\0\0".to_vec();
    out.extend_from_slice(&(entries as u32).to_be_bytes());
    let last = (entries - 1) as f64;
    for i in 0..entries {
        let v = (srgb_to_linear(i as f64 / last) * 65535.0).round() as u16;
        out.extend_from_slice(&v.to_be_bytes());
    }
    out
}

fn mul(a: &[[f64; 3]; 3], b: &[[f64; 3]; 3]) -> [[f64; 3]; 3] {
    let mut out = [[0.0; 3]; 3];
    for (i, row) in out.iter_mut().enumerate() {
        for (j, v) in row.iter_mut().enumerate() {
            *v = (0..3).map(|k| a[i][k] * b[k][j]).sum();
        }
    }
    out
}

fn mul_vec(a: &[[f64; 3]; 3], v: [f64; 3]) -> [f64; 3] {
    a.map(|row| row.iter().zip(v).map(|(x, y)| x * y).sum())
}

/// Inverse of a 3×3 matrix by cofactors; the matrices here are far from singular.
fn invert(m: &[[f64; 3]; 3]) -> [[f64; 3]; 3] {
    let cofactor = |r: usize, c: usize| {
        let (r1, r2) = ((r + 1) % 3, (r + 2) % 3);
        let (c1, c2) = ((c + 1) % 3, (c + 2) % 3);
        m[r1][c1] * m[r2][c2] - m[r1][c2] * m[r2][c1]
    };
    let det: f64 = (0..3).map(|c| m[0][c] * cofactor(0, c)).sum();
    let mut out = [[0.0; 3]; 3];
    for (r, row) in out.iter_mut().enumerate() {
        for (c, v) in row.iter_mut().enumerate() {
            *v = cofactor(c, r) / det;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u32_at(p: &[u8], at: usize) -> u32 {
        u32::from_be_bytes(p[at..at + 4].try_into().unwrap())
    }

    /// (signature, offset, size) of each tag in the table.
    fn tags(p: &[u8]) -> Vec<([u8; 4], usize, usize)> {
        let count = u32_at(p, 128) as usize;
        (0..count)
            .map(|i| {
                let at = 132 + 12 * i;
                (
                    p[at..at + 4].try_into().unwrap(),
                    u32_at(p, at + 4) as usize,
                    u32_at(p, at + 8) as usize,
                )
            })
            .collect()
    }

    fn tag<'a>(p: &'a [u8], signature: &[u8; 4]) -> &'a [u8] {
        let (_, offset, size) = tags(p)
            .into_iter()
            .find(|(s, _, _)| s == signature)
            .unwrap_or_else(|| panic!("no {} tag", String::from_utf8_lossy(signature)));
        &p[offset..offset + size]
    }

    fn xyz(p: &[u8], signature: &[u8; 4]) -> [f64; 3] {
        let data = tag(p, signature);
        assert_eq!(&data[..8], b"XYZ \0\0\0\0");
        [8, 12, 16].map(|at| f64::from(u32_at(data, at) as i32) / 65536.0)
    }

    #[test]
    fn headers_are_valid_v2_display_profiles() {
        for (profile, space) in [(srgb_profile(), b"RGB "), (gray_profile(), b"GRAY")] {
            assert_eq!(u32_at(profile, 0) as usize, profile.len(), "declared size");
            assert_eq!(profile.len() % 4, 0);
            assert_eq!(u32_at(profile, 8), 0x0210_0000, "version 2.1.0");
            assert_eq!(&profile[12..16], b"mntr");
            assert_eq!(&profile[16..20], space);
            assert_eq!(&profile[20..24], b"XYZ ");
            assert_eq!(
                &profile[24..36],
                &[0x07, 0xEA, 0, 11, 0, 1, 0, 0, 0, 0, 0, 0]
            );
            assert_eq!(&profile[36..40], b"acsp");
            assert_eq!(u32_at(profile, 64), 0, "perceptual intent");
            // D50 as ICC.1 7.2.16 spells it out.
            assert_eq!(
                &profile[68..80],
                &[0, 0, 0xF6, 0xD6, 0, 1, 0, 0, 0, 0, 0xD3, 0x2D]
            );
            assert!(profile[84..128].iter().all(|&b| b == 0), "ID and reserved");
            for (signature, offset, size) in tags(profile) {
                let name = String::from_utf8_lossy(&signature);
                assert_eq!(offset % 4, 0, "{name} aligned");
                assert!(
                    offset >= 132 + 12 * tags(profile).len(),
                    "{name} after the table"
                );
                assert!(offset + size <= profile.len(), "{name} inside the profile");
            }
            let desc = tag(profile, b"desc");
            assert_eq!(&desc[..4], b"desc");
            let n = u32_at(desc, 8) as usize;
            assert_eq!(desc.len(), 12 + n + 4 + 4 + 2 + 1 + 67);
            assert_eq!(desc[12 + n - 1], 0, "NUL-terminated");
            assert!(tag(profile, b"cprt").starts_with(b"text"));
            assert_eq!(
                xyz(profile, b"wtpt"),
                D50.map(|v| (v * 65536.0).round() / 65536.0)
            );
        }
    }

    #[test]
    fn srgb_primaries_match_the_published_d50_values() {
        // rXYZ, gXYZ, bXYZ of the sRGB profiles in the ICC's sRGB registry entry, 4 decimals.
        let published = [
            [0.4361, 0.2225, 0.0139],
            [0.3851, 0.7169, 0.0971],
            [0.1431, 0.0606, 0.7141],
        ];
        let profile = srgb_profile();
        let columns = [b"rXYZ", b"gXYZ", b"bXYZ"].map(|s| xyz(profile, s));
        for (got, want) in columns.iter().zip(published) {
            for (g, w) in got.iter().zip(want) {
                assert!((g - w).abs() < 6e-4, "{got:?} vs {want:?}");
            }
        }
        // White (R = G = B = 1) is exactly the encoded D50.
        for row in 0..3 {
            let sum: i32 = encoded_primaries().iter().map(|c| c[row]).sum();
            assert_eq!(sum, s15_fixed16(D50[row]));
        }
    }

    #[test]
    fn transfer_curves_sample_the_srgb_function() {
        for (profile, signatures) in [
            (srgb_profile(), &[b"rTRC", b"gTRC", b"bTRC"][..]),
            (gray_profile(), &[b"kTRC"][..]),
        ] {
            for signature in signatures {
                let curve = tag(profile, signature);
                assert_eq!(&curve[..8], b"curv\0\0\0\0");
                let n = u32_at(curve, 8) as usize;
                assert_eq!(n, TRC_ENTRIES);
                assert_eq!(curve.len(), 12 + 2 * n);
                let values: Vec<u16> = curve[12..]
                    .chunks_exact(2)
                    .map(|b| u16::from_be_bytes([b[0], b[1]]))
                    .collect();
                assert_eq!((values[0], values[n - 1]), (0, 65535));
                assert!(values.windows(2).all(|w| w[0] <= w[1]), "monotonic");
                // Linear toe below 0.04045 (slope 1/12.92), then the power segment:
                // sRGB 0.5 is 21.404 % linear light.
                let at =
                    |x: f64| f64::from(values[(x * (n - 1) as f64).round() as usize]) / 65535.0;
                assert!((at(10.0 / 1023.0) - 10.0 / 1023.0 / 12.92).abs() < 2e-5);
                let mid = (values[511] as f64 + values[512] as f64) / 2.0 / 65535.0;
                assert!((mid - 0.214_04).abs() < 2e-4, "{mid}");
            }
        }
    }

    #[test]
    fn profiles_are_built_once() {
        assert!(std::ptr::eq(srgb_profile(), srgb_profile()));
        assert_eq!(gray_profile(), build_gray().as_slice());
    }
}
