//! Adler-32 (RFC 1950 8.2), the checksum that ends a zlib stream, and the combination of
//! two checksums into that of the concatenated data (as zlib's `adler32_combine`), so that
//! strips compressed on different cores need not be read again.

const ADLER_MOD: u32 = 65_521;

/// Adler-32 (RFC 1950 8.2), arranged so the compiler can vectorise it: over a block of N
/// bytes, a grows by Σx and b by N·a + Σ(N − j)·x_j. Per lane j, `sums` holds Σx_j and
/// `prefix` the sum of `sums` at each block start, from which b is rebuilt per chunk.
#[inline(always)]
pub fn adler32(data: &[u8]) -> u32 {
    const LANES: usize = 32;
    // prefix[j] ≤ 255·BLOCKS²/2 must stay below 2^32.
    const BLOCKS: usize = 4096;
    let m = u64::from(ADLER_MOD);
    let (mut a, mut b) = (1u64, 0u64);
    for chunk in data.chunks(LANES * BLOCKS) {
        let blocks = chunk.chunks_exact(LANES);
        let tail = blocks.remainder();
        let count = blocks.len() as u64;
        let mut sums = [0u32; LANES];
        let mut prefix = [0u32; LANES];
        for block in blocks {
            for ((p, s), &x) in prefix.iter_mut().zip(sums.iter_mut()).zip(block) {
                *p += *s;
                *s += u32::from(x);
            }
        }
        let lanes = LANES as u64;
        let sum: u64 = sums.iter().map(|&s| u64::from(s)).sum();
        let prefix_sum: u64 = prefix.iter().map(|&p| u64::from(p)).sum();
        let weighted: u64 = sums
            .iter()
            .zip((1..=lanes).rev())
            .map(|(&s, w)| u64::from(s) * w)
            .sum();
        b = (b + count * lanes % m * a + lanes * (prefix_sum % m) + weighted) % m;
        a = (a + sum) % m;
        for &x in tail {
            a = (a + u64::from(x)) % m;
            b = (b + a) % m;
        }
    }
    ((b << 16) | a) as u32
}

/// Adler-32 of A followed by B from the checksums of each and B's length (zlib).
pub fn adler32_combine(adler_a: u32, adler_b: u32, len_b: usize) -> u32 {
    let m = u64::from(ADLER_MOD);
    let rem = (len_b as u64) % m;
    let a1 = u64::from(adler_a & 0xffff);
    let b1 = u64::from(adler_a >> 16);
    let a2 = u64::from(adler_b & 0xffff);
    let b2 = u64::from(adler_b >> 16);
    let sum_a = (a1 + a2 + m - 1) % m;
    let sum_b = (rem * a1 % m + b1 + b2 + m - rem) % m;
    ((sum_b << 16) | sum_a) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adler32_matches_known_values_and_combines() {
        assert_eq!(adler32(b"Wikipedia"), 0x11E6_0398);
        assert_eq!(adler32(b""), 1);
        // Long runs of 0xff are the worst case for overflow between reductions.
        let ones = vec![0xffu8; 300_007];
        let bytewise = ones.iter().fold((1u64, 0u64), |(a, b), &x| {
            let a = (a + u64::from(x)) % 65_521;
            (a, (b + a) % 65_521)
        });
        assert_eq!(adler32(&ones), ((bytewise.1 << 16) | bytewise.0) as u32);
        let data: Vec<u8> = (0..100_000u32).map(|i| (i * 31 % 256) as u8).collect();
        let (a, b) = data.split_at(70_001);
        assert_eq!(
            adler32_combine(adler32(a), adler32(b), b.len()),
            adler32(&data)
        );
        assert_eq!(
            adler32_combine(1, adler32(&data), data.len()),
            adler32(&data)
        );
    }
}
