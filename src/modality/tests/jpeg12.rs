//! The 12-bit sequential DCT decoder on streams built here (a small DC-only encoder
//! written from T.81 F.1.2.1 and F.1.2.3) and on pydicom's JPGExtended.dcm: restart
//! intervals, three components, refusals, and data cut short or corrupt erroring
//! without a panic.

use super::{MAX_PADDING, decode, sof_precision};

/// Writes entropy-coded bits most significant first, stuffing 0x00 after 0xFF.
#[derive(Default)]
struct BitWriter {
    out: Vec<u8>,
    byte: u8,
    used: u8,
}

impl BitWriter {
    fn put(&mut self, value: u32, count: u8) {
        for i in (0..count).rev() {
            self.byte = (self.byte << 1) | ((value >> i) & 1) as u8;
            self.used += 1;
            if self.used == 8 {
                self.flush_byte();
            }
        }
    }

    fn flush_byte(&mut self) {
        self.out.push(self.byte);
        if self.byte == 0xff {
            self.out.push(0);
        }
        self.byte = 0;
        self.used = 0;
    }

    /// Pads the last byte with 1-bits (T.81 F.1.2.3).
    fn align(&mut self) {
        while self.used != 0 {
            self.put(1, 1);
        }
    }
}

fn segment(out: &mut Vec<u8>, marker: u8, body: &[u8]) {
    out.extend_from_slice(&[0xff, marker]);
    out.extend_from_slice(&((body.len() + 2) as u16).to_be_bytes());
    out.extend_from_slice(body);
}

/// A 12-bit SOF1 stream of `rows` × `columns` (multiples of 8) with `components`
/// components at 1×1, every block flat: `blocks[component][block]` is the sample value
/// of that block (raster order). DC Huffman table: category c is the 4-bit code c
/// (categories 0..14); AC table: EOB only. Quantiser DC 8, so a DC coefficient d is the
/// sample d + 2048.
fn encode(rows: u16, columns: u16, blocks: &[Vec<i32>], restart_interval: u16) -> Vec<u8> {
    let mut out = vec![0xff, 0xd8];
    let mut dqt = vec![0x10];
    for k in 0..64u16 {
        dqt.extend_from_slice(&(if k == 0 { 8u16 } else { 1 }).to_be_bytes());
    }
    segment(&mut out, 0xdb, &dqt);
    let n = blocks.len() as u8;
    let mut sof = vec![12];
    sof.extend_from_slice(&rows.to_be_bytes());
    sof.extend_from_slice(&columns.to_be_bytes());
    sof.push(n);
    for c in 0..n {
        sof.extend_from_slice(&[c + 1, 0x11, 0]);
    }
    segment(&mut out, 0xc1, &sof);
    let mut dht = vec![0x00];
    let mut counts = [0u8; 16];
    counts[3] = 15;
    dht.extend_from_slice(&counts);
    dht.extend(0..15u8);
    let mut counts = [0u8; 16];
    counts[0] = 1;
    dht.push(0x10);
    dht.extend_from_slice(&counts);
    dht.push(0x00);
    segment(&mut out, 0xc4, &dht);
    if restart_interval > 0 {
        segment(&mut out, 0xdd, &restart_interval.to_be_bytes());
    }
    let mut sos = vec![n];
    for c in 0..n {
        sos.extend_from_slice(&[c + 1, 0x00]);
    }
    sos.extend_from_slice(&[0, 63, 0]);
    segment(&mut out, 0xda, &sos);
    let mut bits = BitWriter::default();
    let mut predictions = vec![0i32; blocks.len()];
    let mcus = blocks[0].len();
    for mcu in 0..mcus {
        if restart_interval > 0 && mcu > 0 && mcu % usize::from(restart_interval) == 0 {
            bits.align();
            let m = (mcu / usize::from(restart_interval) - 1) % 8;
            bits.out.extend_from_slice(&[0xff, 0xd0 + m as u8]);
            predictions.iter_mut().for_each(|p| *p = 0);
        }
        for (c, component) in blocks.iter().enumerate() {
            let dc = component[mcu] - 2048;
            let diff = dc - predictions[c];
            predictions[c] = dc;
            let category = 32 - diff.unsigned_abs().leading_zeros();
            let extra = if diff < 0 {
                diff + (1 << category) - 1
            } else {
                diff
            };
            bits.put(category, 4);
            bits.put(extra as u32, category as u8);
            bits.put(0, 1); // EOB
        }
    }
    bits.align();
    out.extend_from_slice(&bits.out);
    out.extend_from_slice(&[0xff, 0xd9]);
    out
}

/// Sample (row, column, component) of an interleaved frame of `columns` × `n`.
fn at(values: &[i32], columns: usize, n: usize, row: usize, column: usize, c: usize) -> i32 {
    values[(row * columns + column) * n + c]
}

#[test]
fn restart_intervals_reset_the_dc_prediction() {
    let levels = vec![100, 2048, 2548, 4000, 0, 4095];
    for interval in [1u16, 2, 4] {
        // 16 rows × 24 columns: 3 × 2 blocks.
        let stream = encode(16, 24, std::slice::from_ref(&levels), interval);
        assert!(
            stream.windows(2).any(|w| w == [0xff, 0xd0]),
            "the stream has RST0"
        );
        let decoded = decode(&stream, 16, 24).expect("decodes");
        assert_eq!(
            (decoded.rows, decoded.columns, decoded.components),
            (16, 24, 1)
        );
        for (b, &level) in levels.iter().enumerate() {
            let (by, bx) = (b / 3, b % 3);
            for y in 0..8 {
                for x in 0..8 {
                    assert_eq!(
                        at(&decoded.values, 24, 1, by * 8 + y, bx * 8 + x, 0),
                        level,
                        "interval {interval}, block {b}"
                    );
                }
            }
        }
    }
}

#[test]
fn a_restart_marker_out_of_sequence_is_an_error() {
    let mut stream = encode(16, 16, &[vec![100, 200, 300, 400]], 1);
    let rst1 = stream
        .windows(2)
        .position(|w| w == [0xff, 0xd1])
        .expect("RST1");
    stream[rst1 + 1] = 0xd2;
    let err = decode(&stream, 16, 16).unwrap_err();
    assert!(err.contains("RST1 expected"), "{err}");
}

#[test]
fn three_components_at_1x1_are_interleaved() {
    let planes = vec![
        vec![10, 20, 30, 40],
        vec![1000, 2000, 3000, 4000],
        vec![4095, 0, 2048, 7],
    ];
    let decoded = decode(&encode(16, 16, &planes, 0), 16, 16).expect("decodes");
    assert_eq!(decoded.components, 3);
    for (c, plane) in planes.iter().enumerate() {
        for (b, &level) in plane.iter().enumerate() {
            assert_eq!(
                at(&decoded.values, 16, 3, b / 2 * 8 + 3, b % 2 * 8 + 5, c),
                level
            );
        }
    }
}

#[test]
fn a_frame_not_a_multiple_of_8_is_cropped() {
    // 8 × 8 blocks cover 12 rows × 10 columns; the frame is cropped to the SOF's size.
    let mut stream = encode(16, 16, &[vec![1, 2, 3, 4]], 0);
    let sof = stream.windows(2).position(|w| w == [0xff, 0xc1]).unwrap();
    stream[sof + 5..sof + 9].copy_from_slice(&[0, 12, 0, 10]);
    let decoded = decode(&stream, 12, 10).expect("decodes");
    assert_eq!(decoded.values.len(), 120);
    assert_eq!(at(&decoded.values, 10, 1, 11, 9, 0), 4);
}

#[test]
fn every_cut_of_a_stream_is_an_error_without_panic() {
    let stream = encode(16, 16, &[vec![100, 2048, 2548, 4000]], 1);
    for n in 0..stream.len() - 2 {
        assert!(decode(&stream[..n], 16, 16).is_err(), "cut at {n}");
    }
}

#[test]
fn a_corrupt_huffman_table_is_an_error() {
    let mut stream = encode(16, 16, &[vec![1, 2, 3, 4]], 0);
    let dht = stream.windows(2).position(|w| w == [0xff, 0xc4]).unwrap();
    // Three codes of length 1 do not fit.
    stream[dht + 5] = 3;
    let err = decode(&stream, 16, 16).unwrap_err();
    assert!(err.contains("Huffman"), "{err}");
}

#[test]
fn refusals_name_what_is_refused() {
    let stream = encode(16, 16, &[vec![1, 2, 3, 4]], 0);
    let sof = stream.windows(2).position(|w| w == [0xff, 0xc1]).unwrap();
    // Progressive.
    let mut progressive = stream.clone();
    progressive[sof + 1] = 0xc2;
    let err = decode(&progressive, 16, 16).unwrap_err();
    assert!(err.contains("progressive"), "{err}");
    // Arithmetic coding.
    let mut arithmetic = stream.clone();
    arithmetic[sof + 1] = 0xc9;
    let err = decode(&arithmetic, 16, 16).unwrap_err();
    assert!(err.contains("arithmetic"), "{err}");
    // A frame larger than the data set's.
    let err = decode(&stream, 8, 16).unwrap_err();
    assert!(err.contains("more than the data set's"), "{err}");
    // 3 components subsampled.
    let planes = vec![vec![1, 2, 3, 4]; 3];
    let mut subsampled = encode(16, 16, &planes, 0);
    let sof = subsampled
        .windows(2)
        .position(|w| w == [0xff, 0xc1])
        .unwrap();
    subsampled[sof + 11] = 0x21;
    let err = decode(&subsampled, 16, 16).unwrap_err();
    assert!(err.contains("1×1"), "{err}");
    // Precision 16.
    let mut p16 = stream.clone();
    p16[sof + 4] = 16;
    assert!(decode(&p16, 16, 16).is_err());
}

#[test]
fn entropy_data_that_never_ends_stops_after_bounded_padding() {
    // Scan data of 0xFF 0x00 pairs cut off: at most MAX_PADDING bytes of 1-bits later,
    // an error.
    let stream = encode(64, 64, &[vec![5; 64]], 0);
    let sos = stream.windows(2).position(|w| w == [0xff, 0xda]).unwrap();
    let header = sos + 2 + 8;
    let mut cut = stream[..header].to_vec();
    cut.extend_from_slice(&[0x12, 0x34]);
    let err = decode(&cut, 64, 64).unwrap_err();
    // The 1-bits end in "ends early", or sooner in a code no table has.
    assert!(
        err.contains("ends early") || err.contains("in no table"),
        "{err}"
    );
    const { assert!(MAX_PADDING <= 8) };
}

/// JPGExtended.dcm's one frame (pydicom's bundled 12-bit lossy JPEG test file), kept in
/// the repository as the jpeg12 fuzz target's seed, so these tests need no Python.
fn jpg_extended_frame() -> Vec<u8> {
    let seed = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus/jpeg12/jpg_extended_frame");
    std::fs::read(&seed).unwrap_or_else(|e| panic!("{}: {e}", seed.display()))
}

#[test]
fn jpg_extended_decodes_and_every_cut_of_its_start_errors() {
    let frame = jpg_extended_frame();
    assert_eq!(sof_precision(&frame), Some(12));
    let decoded = decode(&frame, 1024, 256).expect("decodes");
    assert_eq!(
        (decoded.rows, decoded.columns, decoded.components),
        (1024, 256, 1)
    );
    assert!(decoded.values.iter().all(|v| (0..4096).contains(v)));
    for n in 0..2048.min(frame.len()) {
        assert!(decode(&frame[..n], 1024, 256).is_err(), "cut at {n}");
    }
    // Cut anywhere later: still an error (sampled, each decode runs to the cut).
    for n in (2048..frame.len() - 2).step_by(997) {
        assert!(decode(&frame[..n], 1024, 256).is_err(), "cut at {n}");
    }
}

#[test]
fn jpg_extended_with_a_corrupt_huffman_table_errors() {
    let frame = jpg_extended_frame();
    let dht = frame
        .windows(2)
        .position(|w| w == [0xff, 0xc4])
        .expect("a DHT");
    let mut corrupt = frame.clone();
    corrupt[dht + 5] = 0xff; // 255 codes of length 1
    let err = decode(&corrupt, 1024, 256).unwrap_err();
    assert!(err.contains("Huffman"), "{err}");
    // Every byte of the scan data flipped in turn, for the first 512: no panic.
    let sos = frame.windows(2).position(|w| w == [0xff, 0xda]).unwrap();
    for i in sos..(sos + 512).min(frame.len()) {
        let mut flipped = frame.clone();
        flipped[i] ^= 0x5a;
        let _ = decode(&flipped, 1024, 256);
    }
}
