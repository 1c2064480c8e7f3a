//! Segmented Palette Color Lookup Table Data (PS3.3 C.7.9.2): discrete, linear and
//! indirect segments expanded into the table they stand for, never past its declared
//! number of entries.

/// Expands `words` (the Segmented … Palette Color Lookup Table Data) into `entries`
/// values; an error says which segment is wrong.
pub fn expand(words: &[u16], entries: usize) -> Result<Vec<u16>, String> {
    let mut out = Vec::with_capacity(entries.min(1 << 16));
    // Every segment read, at any level, costs a step: an indirect segment repeating up to
    // 65,535 segments of no entries would otherwise cost its length again and again
    // (quadratic work from a small file). A valid table needs at most one segment per
    // word of data and one per entry.
    let mut steps = words.len() + entries;
    expand_into(words, usize::MAX, entries, true, &mut out, &mut steps)?;
    if out.len() != entries {
        return Err(format!(
            "the segments make {} entries, the descriptor {entries}",
            out.len()
        ));
    }
    Ok(out)
}

/// Appends the first `segments` segments of `words` to `out`, each costing one of
/// `steps`. Indirect segments may not nest (`indirect_allowed`).
fn expand_into(
    words: &[u16],
    segments: usize,
    entries: usize,
    indirect_allowed: bool,
    out: &mut Vec<u16>,
    steps: &mut usize,
) -> Result<(), String> {
    let mut at = 0;
    let mut done = 0;
    while at < words.len() && done < segments {
        *steps = steps
            .checked_sub(1)
            .ok_or("the segments repeat more than the table's size allows")?;
        let word = |i: usize| {
            words
                .get(at + i)
                .copied()
                .ok_or_else(|| format!("segment {} ends early", done + 1))
        };
        let opcode = word(0)?;
        let length = usize::from(word(1)?);
        match opcode {
            // C.7.9.2.1 discrete: `length` values follow.
            0 => {
                let values = words
                    .get(at + 2..at + 2 + length)
                    .ok_or_else(|| format!("discrete segment {} ends early", done + 1))?;
                check_room(out.len() + length, entries)?;
                out.extend_from_slice(values);
                at += 2 + length;
            }
            // C.7.9.2.2 linear: from the last value to `y1` in `length` steps.
            1 => {
                let y0 = f64::from(
                    *out.last()
                        .ok_or("a linear segment comes first: nothing to start from")?,
                );
                let y1 = f64::from(word(2)?);
                check_room(out.len() + length, entries)?;
                for step in 1..=length {
                    let y = y0 + (y1 - y0) * step as f64 / length as f64;
                    out.push(y.round() as u16);
                }
                at += 3;
            }
            // C.7.9.2.3 indirect: `length` segments again, from a word offset.
            2 => {
                if !indirect_allowed {
                    return Err("an indirect segment points at another indirect one".into());
                }
                let offset = usize::from(word(2)?) | (usize::from(word(3)?) << 16);
                let from = words
                    .get(offset..)
                    .ok_or_else(|| format!("indirect segment {} points past the data", done + 1))?;
                expand_into(from, length, entries, false, out, steps)?;
                at += 4;
            }
            other => return Err(format!("segment {} has opcode {other}", done + 1)),
        }
        done += 1;
    }
    Ok(())
}

fn check_room(len: usize, entries: usize) -> Result<(), String> {
    if len > entries {
        Err(format!("the segments make more than {entries} entries"))
    } else {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::expand;

    #[test]
    fn modality_segmented_discrete_linear_and_indirect_expand_as_c_7_9_2() {
        // discrete [0, 10], linear to 40 in 3 steps, indirect: the first segment again.
        let words = [0, 2, 0, 10, 1, 3, 40, 2, 1, 0, 0];
        assert_eq!(expand(&words, 7).unwrap(), vec![0, 10, 20, 30, 40, 0, 10]);
        assert!(expand(&words, 6).is_err(), "more entries than declared");
        assert!(expand(&[1, 2, 5], 2).is_err(), "linear first");
        // Many indirect segments, each repeating 65,535 segments of no entries: refused
        // after a bounded number of steps, not 10^9 of them.
        let mut crafted: Vec<u16> = Vec::new();
        for _ in 0..16_000 {
            crafted.extend([2, u16::MAX, 0, 0]);
        }
        let empties = crafted.len() as u16;
        // Each points at the empty segments after the list.
        for i in (0..crafted.len()).step_by(4) {
            crafted[i + 2] = empties;
        }
        crafted.extend(std::iter::repeat_n([0u16, 0], 65_535).flatten());
        let err = expand(&crafted, 256).unwrap_err();
        assert!(err.contains("repeat"), "{err}");
        assert!(expand(&[7, 1, 0], 1).is_err(), "unknown opcode");
    }
}
