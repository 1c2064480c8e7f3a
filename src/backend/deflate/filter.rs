//! PNG row filters (PNG spec §9.2, ISO/IEC 15948): each row is written as a filter-type
//! byte followed by the row's bytes minus a prediction from already-decoded neighbours:
//! the byte `bpp` to the left (a), the byte above (b) and the one above-left (c). PDF
//! reads the same rows with `/Predictor 15` (ISO 32000-1 7.4.4.4, Table 8).
//!
//! The predictions here read only the raw rows, never filtered output, so every loop is
//! a straight pass over independent lanes that the compiler vectorises.

/// PNG filter types (PNG spec §9.2, Table 9.1); the value is the row's tag byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    None = 0,
    Sub = 1,
    Up = 2,
    Average = 3,
    Paeth = 4,
}

impl Filter {
    /// The filter of a tag byte, or `None` for an invalid tag.
    pub fn from_tag(tag: u8) -> Option<Filter> {
        Some(match tag {
            0 => Filter::None,
            1 => Filter::Sub,
            2 => Filter::Up,
            3 => Filter::Average,
            4 => Filter::Paeth,
            _ => return None,
        })
    }
}

/// Appends the tag byte and the filtered bytes of `row` to `out`. `above` is the raw row
/// above, or `None` where there is none to use (a strip's first row): Up, Average and
/// Paeth then fall back to Sub, which needs no row above.
#[inline(always)]
pub fn filter_row(filter: Filter, bpp: usize, above: Option<&[u8]>, row: &[u8], out: &mut Vec<u8>) {
    let filter = match (filter, above) {
        (Filter::Up | Filter::Average | Filter::Paeth, None) => Filter::Sub,
        (filter, _) => filter,
    };
    let start = out.len();
    out.push(filter as u8);
    out.resize(start + 1 + row.len(), 0);
    let dst = &mut out[start + 1..];
    let bpp = bpp.clamp(1, row.len().max(1));
    let n = row.len();
    match (filter, above) {
        (Filter::None, _) => dst.copy_from_slice(row),
        (Filter::Sub, _) => sub(row, bpp, dst),
        (Filter::Up, Some(b)) => {
            for ((d, &x), &up) in dst.iter_mut().zip(row).zip(b) {
                *d = x.wrapping_sub(up);
            }
        }
        (Filter::Average, Some(b)) => {
            for i in 0..bpp.min(n) {
                dst[i] = row[i].wrapping_sub(b[i] >> 1);
            }
            if n > bpp {
                let lanes = dst[bpp..].iter_mut().zip(&row[bpp..]);
                for ((d, &x), (&left, &up)) in lanes.zip(row[..n - bpp].iter().zip(&b[bpp..])) {
                    *d = x.wrapping_sub(((u16::from(left) + u16::from(up)) >> 1) as u8);
                }
            }
        }
        (Filter::Paeth, Some(b)) => paeth(row, b, bpp, dst),
        (_, None) => unreachable!("filters needing the row above were replaced by Sub"),
    }
}

#[inline(always)]
fn sub(row: &[u8], bpp: usize, dst: &mut [u8]) {
    let n = row.len();
    dst[..bpp.min(n)].copy_from_slice(&row[..bpp.min(n)]);
    if n > bpp {
        for ((d, &x), &left) in dst[bpp..].iter_mut().zip(&row[bpp..]).zip(&row[..n - bpp]) {
            *d = x.wrapping_sub(left);
        }
    }
}

/// Paeth (PNG spec §9.4): the neighbour among a, b, c nearest to a + b − c, ties going to
/// a, then b.
#[inline(always)]
fn paeth(row: &[u8], above: &[u8], bpp: usize, dst: &mut [u8]) {
    let n = row.len();
    // With no left neighbour a = c = 0 and the predictor is b.
    for i in 0..bpp.min(n) {
        dst[i] = row[i].wrapping_sub(above[i]);
    }
    if n <= bpp {
        return;
    }
    let lanes = dst[bpp..].iter_mut().zip(&row[bpp..]);
    let neighbours = row[..n - bpp]
        .iter()
        .zip(&above[bpp..])
        .zip(&above[..n - bpp]);
    for ((d, &x), ((&a, &b), &c)) in lanes.zip(neighbours) {
        *d = x.wrapping_sub(paeth_predictor(a, b, c));
    }
}

#[inline(always)]
fn paeth_predictor(a: u8, b: u8, c: u8) -> u8 {
    let (ai, bi, ci) = (i16::from(a), i16::from(b), i16::from(c));
    let pa = (bi - ci).abs();
    let pb = (ai - ci).abs();
    let pc = (ai + bi - 2 * ci).abs();
    if pa <= pb && pa <= pc {
        a
    } else if pb <= pc {
        b
    } else {
        c
    }
}

/// Reverses [`filter_row`]: `filtered` is a tag byte and a row, `above` the decoded row
/// above (zeros for the first row, as PNG defines). `None` for an unknown tag.
pub fn unfilter_row(filtered: &[u8], bpp: usize, above: &[u8], out: &mut Vec<u8>) -> Option<()> {
    let (&tag, bytes) = filtered.split_first()?;
    let filter = Filter::from_tag(tag)?;
    let start = out.len();
    for (i, &x) in bytes.iter().enumerate() {
        let a = if i >= bpp { out[start + i - bpp] } else { 0 };
        let b = above.get(i).copied().unwrap_or(0);
        let c = if i >= bpp {
            above.get(i - bpp).copied().unwrap_or(0)
        } else {
            0
        };
        let prediction = match filter {
            Filter::None => 0,
            Filter::Sub => a,
            Filter::Up => b,
            Filter::Average => ((u16::from(a) + u16::from(b)) >> 1) as u8,
            Filter::Paeth => paeth_predictor(a, b, c),
        };
        out.push(x.wrapping_add(prediction));
    }
    Some(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_filter_round_trips_gray_and_rgb() {
        for bpp in [1usize, 3] {
            let width = 7 * bpp;
            let rows: Vec<Vec<u8>> = (0..5)
                .map(|r| {
                    (0..width)
                        .map(|i| ((i * 37 + r * 101) % 256) as u8)
                        .collect()
                })
                .collect();
            for filter in [
                Filter::None,
                Filter::Sub,
                Filter::Up,
                Filter::Average,
                Filter::Paeth,
            ] {
                let mut decoded: Vec<u8> = Vec::new();
                for (r, row) in rows.iter().enumerate() {
                    let above = (r > 0).then(|| rows[r - 1].as_slice());
                    let mut filtered = Vec::new();
                    filter_row(filter, bpp, above, row, &mut filtered);
                    let expected_tag = if r == 0 && filter as u8 >= 2 {
                        1
                    } else {
                        filter as u8
                    };
                    assert_eq!(filtered[0], expected_tag);
                    let zeros = vec![0; width];
                    let above_decoded = if r > 0 {
                        &decoded[(r - 1) * width..]
                    } else {
                        &zeros[..]
                    };
                    let above_decoded = above_decoded.to_vec();
                    unfilter_row(&filtered, bpp, &above_decoded, &mut decoded).expect("valid tag");
                }
                assert_eq!(decoded, rows.concat(), "{filter:?} bpp {bpp}");
            }
        }
    }

    #[test]
    fn paeth_prefers_a_then_b_on_ties() {
        assert_eq!(paeth_predictor(10, 10, 10), 10);
        assert_eq!(paeth_predictor(5, 9, 7), 7);
        assert_eq!(paeth_predictor(1, 2, 1), 2);
        assert_eq!(paeth_predictor(2, 1, 1), 2);
    }
}
