//! Length-limited, complete Huffman codes for deflate (RFC 1951 3.2.2): code lengths from
//! symbol frequencies, no longer than a limit (15 for literal/length and distance codes,
//! 7 for the code-length code), and the canonical codes those lengths define.
//!
//! Lengths come from an ordinary Huffman tree built with two queues (leaves sorted by
//! weight, internal nodes made in nondecreasing weight). Leaves deeper than the limit are
//! lifted to it, which over-subscribes the code; the tree is then repaired one Kraft unit
//! (2^-limit) at a time by moving a leaf from the deepest level above the limit one level
//! down and pairing a lifted leaf with it, until the Kraft sum is exactly 1. The code must
//! be complete: zlib's inflate rejects an incomplete code with more than one symbol.

/// Code lengths for `freq` into `lengths` (0 for an unused symbol), each ≤ `limit`. With
/// two or more used symbols the code is complete; one used symbol gets length 1.
pub fn code_lengths(freq: &[u32], limit: u8, lengths: &mut [u8]) {
    debug_assert_eq!(freq.len(), lengths.len());
    lengths.fill(0);
    let mut leaves: Vec<(u32, u16)> = freq
        .iter()
        .enumerate()
        .filter(|&(_, &f)| f > 0)
        .map(|(s, &f)| (f, s as u16))
        .collect();
    match leaves.len() {
        0 => return,
        1 => {
            lengths[usize::from(leaves[0].1)] = 1;
            return;
        }
        _ => {}
    }
    leaves.sort_unstable();
    let n = leaves.len();
    let depths = tree_depths(&leaves);

    // Count leaves per depth, the deep ones lifted to the limit.
    let limit = usize::from(limit);
    let mut count = [0u32; 33];
    for &d in &depths {
        count[d.min(limit)] += 1;
    }
    repair(&mut count, limit);

    // The least frequent leaves take the longest codes.
    let mut next = 0;
    for len in (1..=limit).rev() {
        for _ in 0..count[len] {
            lengths[usize::from(leaves[next].1)] = len as u8;
            next += 1;
        }
    }
    debug_assert_eq!(next, n);
}

/// Depth of each leaf of the Huffman tree of `leaves` (sorted by ascending weight).
fn tree_depths(leaves: &[(u32, u16)]) -> Vec<usize> {
    let n = leaves.len();
    let mut weight: Vec<u64> = leaves.iter().map(|&(f, _)| u64::from(f)).collect();
    weight.resize(2 * n - 1, 0);
    let mut parent = vec![0usize; 2 * n - 1];
    let (mut leaf, mut internal) = (0, n);
    for node in n..2 * n - 1 {
        let mut take = || {
            let from_leaf = leaf < n && (internal >= node || weight[leaf] <= weight[internal]);
            if from_leaf {
                leaf += 1;
                leaf - 1
            } else {
                internal += 1;
                internal - 1
            }
        };
        let (x, y) = (take(), take());
        weight[node] = weight[x] + weight[y];
        parent[x] = node;
        parent[y] = node;
    }
    // Parents come after their children: walk down from the root.
    let mut depth = vec![0usize; 2 * n - 1];
    for node in (0..2 * n - 2).rev() {
        depth[node] = depth[parent[node]] + 1;
    }
    depth.truncate(n);
    depth
}

/// Makes the per-depth leaf counts `count[1..=limit]` a complete code: Kraft sum, in units
/// of 2^-limit, exactly 2^limit.
fn repair(count: &mut [u32; 33], limit: usize) {
    let target = 1u64 << limit;
    let kraft = |count: &[u32; 33]| -> u64 {
        (1..=limit)
            .map(|l| u64::from(count[l]) << (limit - l))
            .sum()
    };
    let mut k = kraft(count);
    while k != target {
        let shallower = (1..limit).rev().find(|&l| count[l] > 0);
        if k > target {
            let Some(l) = shallower else {
                // More leaves than a code of `limit` bits can hold: not for deflate's alphabets.
                debug_assert!(false, "alphabet too large for the length limit");
                return;
            };
            count[l] -= 1;
            if count[limit] > 0 && l + 1 < limit {
                // One leaf goes down a level and a lifted leaf becomes its sibling: −1 unit.
                count[l + 1] += 2;
                count[limit] -= 1;
            } else {
                count[l + 1] += 1;
            }
        } else {
            // Under-subscribed by moving too far: lift the deepest leaf a level.
            let Some(l) = (2..=limit).rev().find(|&l| count[l] > 0) else {
                return;
            };
            count[l] -= 1;
            count[l - 1] += 1;
        }
        k = kraft(count);
    }
}

/// Canonical codes of `lengths` (RFC 1951 3.2.2), bit-reversed so that they can be
/// written least significant bit first, as deflate packs bits.
pub fn canonical_codes(lengths: &[u8], codes: &mut [u16]) {
    let mut count = [0u16; 16];
    for &l in lengths {
        count[usize::from(l)] += 1;
    }
    count[0] = 0;
    let mut next = [0u16; 16];
    let mut code = 0u16;
    for bits in 1..16 {
        code = (code + count[bits - 1]) << 1;
        next[bits] = code;
    }
    for (c, &l) in codes.iter_mut().zip(lengths) {
        if l > 0 {
            let value = next[usize::from(l)];
            next[usize::from(l)] += 1;
            *c = value.reverse_bits() >> (16 - l);
        } else {
            *c = 0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn kraft(lengths: &[u8], limit: u8) -> u64 {
        lengths
            .iter()
            .filter(|&&l| l > 0)
            .map(|&l| 1u64 << (limit - l))
            .sum()
    }

    #[test]
    fn canonical_codes_match_rfc_1951_example() {
        // RFC 1951 3.2.2: lengths (3, 3, 3, 3, 3, 2, 4, 4) give codes 010 … 1111.
        let lengths = [3, 3, 3, 3, 3, 2, 4, 4];
        let mut codes = [0u16; 8];
        canonical_codes(&lengths, &mut codes);
        let expected = [0b010, 0b011, 0b100, 0b101, 0b110, 0b00, 0b1110, 0b1111];
        for ((&c, &e), &l) in codes.iter().zip(&expected).zip(&lengths) {
            assert_eq!(c.reverse_bits() >> (16 - l), e);
        }
    }

    #[test]
    fn fibonacci_weights_are_limited_and_complete() {
        // Fibonacci frequencies make the deepest possible tree: 30 symbols, depth 29.
        let mut freq = vec![1u32, 1];
        while freq.len() < 30 {
            let next = freq[freq.len() - 1] + freq[freq.len() - 2];
            freq.push(next);
        }
        for limit in [7u8, 15] {
            let mut lengths = vec![0u8; freq.len()];
            code_lengths(&freq, limit, &mut lengths);
            assert!(
                lengths.iter().all(|&l| (1..=limit).contains(&l)),
                "{lengths:?}"
            );
            assert_eq!(kraft(&lengths, limit), 1 << limit, "{lengths:?}");
        }
    }

    proptest! {
        #[test]
        fn any_frequencies_give_a_complete_limited_code(
            freq in proptest::collection::vec(prop_oneof![Just(0u32), 1u32..10, 1u32..1_000_000], 2..300),
            limit in prop_oneof![Just(7u8), Just(15u8)],
        ) {
            let limit = if freq.len() > 128 { 15 } else { limit };
            let mut lengths = vec![0u8; freq.len()];
            code_lengths(&freq, limit, &mut lengths);
            let used = freq.iter().filter(|&&f| f > 0).count();
            for (&f, &l) in freq.iter().zip(&lengths) {
                prop_assert_eq!(f > 0, l > 0);
                prop_assert!(l <= limit);
            }
            if used >= 2 {
                prop_assert_eq!(kraft(&lengths, limit), 1u64 << limit);
            }
            // A more frequent symbol never has a longer code.
            for (i, (&fi, &li)) in freq.iter().zip(&lengths).enumerate() {
                for (&fj, &lj) in freq[i + 1..].iter().zip(&lengths[i + 1..]) {
                    if fi > fj && fj > 0 {
                        prop_assert!(li <= lj);
                    }
                }
            }
        }
    }
}
