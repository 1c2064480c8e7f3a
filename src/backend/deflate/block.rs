//! Deflate blocks (RFC 1951 3.2) for PNG-filtered rows: literals and runs only. A run is a
//! match at distance 1 (the previous byte repeated), which is what filtered medical pages
//! are made of besides noise: residual zeros over borders and empty boxes. Searching
//! longer distances costs most of an LZ77 encoder's time and buys little on filtered
//! noise (see the module doc of [`super`] for the figures).
//!
//! Each block gets its own dynamic Huffman codes (3.2.7) from its symbol counts, or is
//! stored (3.2.4) when that is smaller, as it is for incompressible data.

use super::huffman::{canonical_codes, code_lengths};

/// Runs shorter than this are written as literals. A run costs a length code, its extra
/// bits and a distance code, 6 to 10 bits; the runs of a filtered page are mostly of
/// zeros, whose literal code is 1 or 2 bits when zeros are frequent, so runs of 4 to 7
/// gain little and every one taken is a mispredicted branch and a break in the literal
/// loop. On the W2 page (`compress_strip` timed over it in 64-row strips on one
/// thread) going from 4 to 8 made the stream 1% smaller at 300 dpi and 3% at 600 dpi, and
/// the coder 20% and 35% faster: at 600 dpi a third of the bytes were in runs of 9 on
/// average, 37,000 of them per MB. Eight is also one 64-bit word to test.
const MIN_RUN: usize = 8;
/// Longest match deflate can express (RFC 1951 3.2.5).
const MAX_RUN: usize = 258;
/// Literal/length alphabet: 256 literals, end of block, 29 length codes.
const LITLEN_SYMBOLS: usize = 286;
const END_OF_BLOCK: usize = 256;
/// Order in which code-length code lengths are sent (RFC 1951 3.2.7).
const CODE_LENGTH_ORDER: [usize; 19] = [
    16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15,
];

/// Length code (257 + index), its extra bits and its base length (RFC 1951 3.2.5).
const LENGTH_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131,
    163, 195, 227, 258,
];
const LENGTH_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];

/// Index into [`LENGTH_BASE`] of a match length 3..=258.
fn length_code(len: usize) -> usize {
    LENGTH_BASE.partition_point(|&base| usize::from(base) <= len) - 1
}

/// Bits packed least significant first (RFC 1951 3.1.1).
pub struct BitWriter {
    pub out: Vec<u8>,
    bits: u64,
    count: u32,
}

impl BitWriter {
    pub fn with_capacity(bytes: usize) -> Self {
        BitWriter {
            out: Vec::with_capacity(bytes),
            bits: 0,
            count: 0,
        }
    }

    /// Appends the `n` (≤ 32) low bits of `value`.
    #[inline(always)]
    fn put(&mut self, value: u64, n: u32) {
        self.bits |= value << self.count;
        self.count += n;
        if self.count >= 32 {
            self.out
                .extend_from_slice(&(self.bits as u32).to_le_bytes());
            self.bits >>= 32;
            self.count -= 32;
        }
    }

    /// Moves whole bytes from the bit buffer to `out`, leaving fewer than 8 bits.
    fn spill(&mut self) {
        while self.count >= 8 {
            self.out.push(self.bits as u8);
            self.bits >>= 8;
            self.count -= 8;
        }
    }

    /// Pads with zero bits to a byte boundary and empties the bit buffer.
    fn align(&mut self) {
        while self.count > 0 {
            self.out.push(self.bits as u8);
            self.bits >>= 8;
            self.count = self.count.saturating_sub(8);
        }
        self.bits = 0;
    }

    /// An empty stored block that is not final: the strip ends on a byte boundary so the
    /// next one can follow (zlib's sync flush).
    pub fn sync_flush(&mut self) {
        self.put(0, 3);
        self.align();
        self.out.extend_from_slice(&[0, 0, 0xff, 0xff]);
    }
}

/// A run: `len` bytes from `start` repeating the byte before `start`.
#[derive(Debug, Clone, Copy)]
struct Run {
    start: usize,
    len: usize,
}

/// Scratch space of one encoder, reused from block to block.
pub struct BlockEncoder {
    runs: Vec<Run>,
    litlen_freq: [u32; LITLEN_SYMBOLS],
}

impl Default for BlockEncoder {
    fn default() -> Self {
        BlockEncoder {
            runs: Vec::new(),
            litlen_freq: [0; LITLEN_SYMBOLS],
        }
    }
}

impl BlockEncoder {
    /// Writes `data` as one or more non-final blocks. `previous` is the byte before `data`
    /// in the stream, when this encoder wrote it, so that a run may continue it.
    #[inline(always)]
    pub fn write(&mut self, w: &mut BitWriter, data: &[u8], previous: Option<u8>) {
        self.scan(data, previous);
        let mut lengths = [0u8; LITLEN_SYMBOLS];
        code_lengths(&self.litlen_freq, 15, &mut lengths);
        let header = Header::new(&lengths);
        let dynamic_bits = header.bits + self.body_bits(&lengths);
        // A stored block costs its 3 header bits, padding and LEN/NLEN per 65535 bytes.
        let stored_bits = (data.len().div_ceil(65_535).max(1) * 5 + data.len()) as u64 * 8;
        if dynamic_bits < stored_bits {
            header.write(w);
            self.write_body(w, data, &lengths, dynamic_bits);
        } else {
            write_stored(w, data);
        }
    }

    /// Finds the runs of `data` and counts the symbols: every byte is counted as a
    /// literal first, and the bytes of each run taken off again.
    #[inline(always)]
    fn scan(&mut self, data: &[u8], previous: Option<u8>) {
        let n = data.len();
        // Four histograms, so that a repeated byte does not wait on its own count.
        let mut freq = [[0u32; 256]; 4];
        let quads = data.chunks_exact(4);
        for &b in quads.remainder() {
            freq[0][usize::from(b)] += 1;
        }
        for q in quads {
            for (f, &b) in freq.iter_mut().zip(q) {
                f[usize::from(b)] += 1;
            }
        }
        let mut literals = [0u32; 256];
        for (s, f) in literals.iter_mut().enumerate() {
            *f = freq[0][s] + freq[1][s] + freq[2][s] + freq[3][s];
        }

        self.runs.clear();
        let mut length_freq = [0u32; 29];
        let before = |i: usize| {
            if i == 0 {
                previous.unwrap_or(0)
            } else {
                data[i - 1]
            }
        };
        let mut i = usize::from(previous.is_none());
        let mut take_run = |start: usize, runs: &mut Vec<Run>| -> usize {
            let value = before(start);
            let limit = (n - start).min(MAX_RUN);
            let len = MIN_RUN + run_length(&data[start + MIN_RUN..start + limit], value);
            runs.push(Run { start, len });
            literals[usize::from(value)] -= len as u32;
            length_freq[length_code(len)] += 1;
            start + len
        };
        // Eight bytes at a time: a run starts at i when each of data[i..i + 8] equals the
        // byte before it, i.e. the word equals itself shifted by one byte. A run that
        // starts inside a word is taken from the next word on; its first few bytes stay
        // literals, which costs next to nothing and keeps the test to one comparison.
        while i + MIN_RUN <= n {
            let mut word = [0u8; 8];
            word.copy_from_slice(&data[i..i + 8]);
            let w = u64::from_le_bytes(word);
            if w == (w << 8) | u64::from(before(i)) {
                i = take_run(i, &mut self.runs);
            } else {
                i += MIN_RUN;
            }
        }
        self.litlen_freq[..256].copy_from_slice(&literals);
        self.litlen_freq[END_OF_BLOCK] = 1;
        self.litlen_freq[257..].copy_from_slice(&length_freq);
        // Two used symbols at least, so that the code is complete (see huffman.rs).
        if self.litlen_freq.iter().filter(|&&f| f > 0).count() < 2 {
            self.litlen_freq[0] += 1;
        }
    }

    /// Bits of the literals, runs and the end of block under `lengths`.
    fn body_bits(&self, lengths: &[u8; LITLEN_SYMBOLS]) -> u64 {
        let mut bits: u64 = self
            .litlen_freq
            .iter()
            .zip(lengths)
            .map(|(&f, &l)| u64::from(f) * u64::from(l))
            .sum();
        for (i, &f) in self.litlen_freq[257..].iter().enumerate() {
            // Extra bits of the length, and the 1-bit distance code of distance 1.
            bits += u64::from(f) * (u64::from(LENGTH_EXTRA[i]) + 1);
        }
        bits
    }

    /// The block's literals and runs, `bits` of them at most, and its end. The bit buffer
    /// lives in registers and whole bytes leave it eight at a time into a slice sized
    /// beforehand: this is the encoder's innermost loop.
    #[inline(always)]
    fn write_body(
        &self,
        w: &mut BitWriter,
        data: &[u8],
        lengths: &[u8; LITLEN_SYMBOLS],
        bits: u64,
    ) {
        let mut codes = [0u16; LITLEN_SYMBOLS];
        canonical_codes(lengths, &mut codes);
        let mut literal = [(0u64, 0u32); 256];
        for (b, entry) in literal.iter_mut().enumerate() {
            *entry = (u64::from(codes[b]), u32::from(lengths[b]));
        }
        // A run's length code, extra bits and distance code (distance 1 is distance code
        // 0, written as the one-bit code 0) as one value and its bit count.
        let mut run = [(0u64, 0u32); MAX_RUN + 1];
        for (len, entry) in run.iter_mut().enumerate().skip(MIN_RUN) {
            let i = length_code(len);
            let symbol = 257 + i;
            let (code, n) = (u64::from(codes[symbol]), u32::from(lengths[symbol]));
            let extra = (len - usize::from(LENGTH_BASE[i])) as u64;
            *entry = (code | extra << n, n + u32::from(LENGTH_EXTRA[i]) + 1);
        }

        w.spill();
        let start = w.out.len();
        w.out.resize(start + (bits / 8) as usize + 16, 0);
        let mut s = Sink {
            out: &mut w.out[start..],
            pos: 0,
            bits: w.bits,
            count: w.count,
        };
        let mut pos = 0;
        for r in &self.runs {
            s.literals(&data[pos..r.start], &literal);
            let (value, n) = run[r.len];
            s.add(value, n);
            s.flush();
            pos = r.start + r.len;
        }
        s.literals(&data[pos..], &literal);
        s.add(
            u64::from(codes[END_OF_BLOCK]),
            u32::from(lengths[END_OF_BLOCK]),
        );
        s.flush();
        let (end, bits, count) = (s.pos, s.bits, s.count);
        w.out.truncate(start + end);
        (w.bits, w.count) = (bits, count);
    }
}

/// How many bytes at the start of `bytes` equal `value`, compared eight at a time: runs
/// over black borders are thousands of bytes long.
#[inline(always)]
fn run_length(bytes: &[u8], value: u8) -> usize {
    let pattern = u64::from(value) * 0x0101_0101_0101_0101;
    let mut words = bytes.chunks_exact(8);
    let mut len = 0;
    for word in words.by_ref() {
        let mut w = [0u8; 8];
        w.copy_from_slice(word);
        let differ = u64::from_le_bytes(w) ^ pattern;
        if differ != 0 {
            return len + (differ.trailing_zeros() / 8) as usize;
        }
        len += 8;
    }
    len + words
        .remainder()
        .iter()
        .take_while(|&&b| b == value)
        .count()
}

/// The bit buffer of [`BlockEncoder::write_body`]: fewer than 8 bits pending after each
/// flush, which writes 8 bytes and keeps the ones not yet complete.
struct Sink<'a> {
    out: &'a mut [u8],
    pos: usize,
    bits: u64,
    count: u32,
}

impl Sink<'_> {
    #[inline(always)]
    fn add(&mut self, value: u64, n: u32) {
        self.bits |= value << self.count;
        self.count += n;
    }

    #[inline(always)]
    fn flush(&mut self) {
        self.out[self.pos..self.pos + 8].copy_from_slice(&self.bits.to_le_bytes());
        let bytes = self.count / 8;
        self.pos += bytes as usize;
        self.bits >>= bytes * 8;
        self.count %= 8;
    }

    /// Literal codes are ≤ 15 bits: three fit beside 7 pending bits.
    #[inline(always)]
    fn literals(&mut self, bytes: &[u8], table: &[(u64, u32); 256]) {
        let triples = bytes.chunks_exact(3);
        let rest = triples.remainder();
        for t in triples {
            for &b in t {
                let (code, n) = table[usize::from(b)];
                self.add(code, n);
            }
            self.flush();
        }
        for &b in rest {
            let (code, n) = table[usize::from(b)];
            self.add(code, n);
        }
        self.flush();
    }
}

/// Stored blocks of `data`, 65535 bytes at most each (RFC 1951 3.2.4), none final.
fn write_stored(w: &mut BitWriter, data: &[u8]) {
    let mut chunks = data.chunks(65_535).peekable();
    if chunks.peek().is_none() {
        w.sync_flush();
    }
    for chunk in chunks {
        w.put(0, 3);
        w.align();
        let len = chunk.len() as u16;
        w.out.extend_from_slice(&len.to_le_bytes());
        w.out.extend_from_slice(&(!len).to_le_bytes());
        w.out.extend_from_slice(chunk);
    }
}

/// A dynamic block's header (RFC 1951 3.2.7): the literal/length code lengths and two
/// distance codes of one bit (distance 1 is all we use; two codes keep the code
/// complete), run-length coded with the code-length alphabet.
struct Header {
    /// Code-length symbols with their extra-bit values.
    symbols: Vec<(u8, u8)>,
    hlit: usize,
    cl_lengths: [u8; 19],
    hclen: usize,
    bits: u64,
}

impl Header {
    fn new(litlen: &[u8; LITLEN_SYMBOLS]) -> Header {
        let hlit = 257.max(LITLEN_SYMBOLS - litlen.iter().rev().take_while(|&&l| l == 0).count());
        let mut all: Vec<u8> = litlen[..hlit].to_vec();
        all.extend_from_slice(&[1, 1]);
        let symbols = run_length_code(&all);
        let mut freq = [0u32; 19];
        for &(s, _) in &symbols {
            freq[usize::from(s)] += 1;
        }
        if freq.iter().filter(|&&f| f > 0).count() < 2 {
            // Complete code needs two symbols; an unused one costs a 3-bit length only.
            let spare = if freq[0] == 0 { 0 } else { 1 };
            freq[spare] = 1;
        }
        let mut cl_lengths = [0u8; 19];
        code_lengths(&freq, 7, &mut cl_lengths);
        let hclen = 4.max(
            19 - CODE_LENGTH_ORDER
                .iter()
                .rev()
                .take_while(|&&s| cl_lengths[s] == 0)
                .count(),
        );
        let mut bits = 3 + 5 + 5 + 4 + 3 * hclen as u64;
        for &(s, _) in &symbols {
            bits += u64::from(cl_lengths[usize::from(s)]) + extra_bits(s) as u64;
        }
        Header {
            symbols,
            hlit,
            cl_lengths,
            hclen,
            bits,
        }
    }

    fn write(&self, w: &mut BitWriter) {
        // BFINAL 0, BTYPE 10 (dynamic Huffman).
        w.put(0b100, 3);
        w.put((self.hlit - 257) as u64, 5);
        w.put(1, 5); // HDIST − 1: two distance codes
        w.put((self.hclen - 4) as u64, 4);
        for &s in &CODE_LENGTH_ORDER[..self.hclen] {
            w.put(u64::from(self.cl_lengths[s]), 3);
        }
        let mut codes = [0u16; 19];
        canonical_codes(&self.cl_lengths, &mut codes);
        for &(s, extra) in &self.symbols {
            let s = usize::from(s);
            w.put(u64::from(codes[s]), u32::from(self.cl_lengths[s]));
            w.put(u64::from(extra), extra_bits(s as u8));
        }
    }
}

fn extra_bits(symbol: u8) -> u32 {
    match symbol {
        16 => 2,
        17 => 3,
        18 => 7,
        _ => 0,
    }
}

/// Code lengths as code-length symbols (RFC 1951 3.2.7): 16 repeats the previous length
/// 3–6 times, 17 and 18 give 3–10 and 11–138 zeros.
fn run_length_code(lengths: &[u8]) -> Vec<(u8, u8)> {
    let mut out = Vec::with_capacity(lengths.len());
    let mut i = 0;
    while i < lengths.len() {
        let l = lengths[i];
        let run = lengths[i..].iter().take_while(|&&x| x == l).count();
        if l == 0 {
            let mut left = run;
            while left >= 11 {
                let n = left.min(138);
                out.push((18, (n - 11) as u8));
                left -= n;
            }
            if left >= 3 {
                out.push((17, (left - 3) as u8));
                left = 0;
            }
            out.extend(std::iter::repeat_n((0, 0), left));
        } else {
            out.push((l, 0));
            let mut left = run - 1;
            while left >= 3 {
                let n = left.min(6);
                out.push((16, (n - 3) as u8));
                left -= n;
            }
            out.extend(std::iter::repeat_n((l, 0), left));
        }
        i += run;
    }
    out
}
