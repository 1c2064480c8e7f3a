//! Sequential DCT JPEG with Huffman coding (ISO 10918-1 / ITU-T T.81 process 1, and
//! process 4's 12-bit half, which jpeg-decoder lacks): SOF0 or SOF1, precision 8 or 12,
//! 1 or 3 components (3 only with sampling factors 1×1), one scan per component or one
//! interleaved scan, restart intervals. Written from T.81 Annexes A, B, C and F.
//!
//! The data comes from outside: every length is checked before use, the frame is
//! bounded by the caller's Rows and Columns before anything is allocated, and data that
//! ends early is padded with 1-bits at most [`MAX_PADDING`] bytes before it is an error.

/// Why a JPEG stream could not be decoded.
pub type Error = String;

/// A decoded frame: `rows` × `columns` × `components` samples, interleaved, each
/// 0..2^precision - 1.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    pub rows: u32,
    pub columns: u32,
    pub components: u8,
    pub precision: u8,
    pub values: Vec<i32>,
}

/// Bytes of 1-bits read past the end of the entropy-coded data (or past a marker)
/// before the data is declared short.
pub const MAX_PADDING: u32 = 4;

/// T.81 Figure A.6: natural (row-major) index of zig-zag position `k`.
const ZIGZAG: [usize; 64] = [
    0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20,
    13, 6, 7, 14, 21, 28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59,
    52, 45, 38, 31, 39, 46, 53, 60, 61, 54, 47, 55, 62, 63,
];

/// The precision a stream's first SOFn declares, when it has one among its first markers.
pub fn sof_precision(data: &[u8]) -> Option<u8> {
    let mut at = 2;
    if data.get(..2)? != [0xff, 0xd8] {
        return None;
    }
    loop {
        if *data.get(at)? != 0xff {
            return None;
        }
        let marker = *data.get(at + 1)?;
        if marker == 0xff {
            at += 1;
            continue;
        }
        if (0xc0..=0xcf).contains(&marker) && !matches!(marker, 0xc4 | 0xc8 | 0xcc) {
            return data.get(at + 4).copied();
        }
        let length = usize::from(u16::from_be_bytes([*data.get(at + 2)?, *data.get(at + 3)?]));
        at += 2 + length;
    }
}

/// A Huffman table as T.81 C and F.2.2.3 build it: for each code length, the largest
/// code (-1 when none), the first code, and where its values start.
#[derive(Clone)]
struct Huffman {
    max_code: [i32; 17],
    min_code: [i32; 17],
    first_value: [usize; 17],
    values: Vec<u8>,
}

impl Huffman {
    /// From DHT's BITS (codes of each length 1..16) and HUFFVAL (T.81 C.2, F.15).
    fn new(counts: &[u8; 16], values: Vec<u8>) -> Result<Huffman, Error> {
        let mut table = Huffman {
            max_code: [-1; 17],
            min_code: [0; 17],
            first_value: [0; 17],
            values,
        };
        let mut code: i32 = 0;
        let mut index = 0usize;
        for length in 1..=16 {
            let count = i32::from(counts[length - 1]);
            if count > 0 {
                table.first_value[length] = index;
                table.min_code[length] = code;
                code += count;
                table.max_code[length] = code - 1;
                index += count as usize;
            }
            // More codes of this length than the tree has room for.
            if code > 1 << length {
                return Err(format!(
                    "Huffman table has more codes of length {length} than fit"
                ));
            }
            code <<= 1;
        }
        if index != table.values.len() || index == 0 {
            return Err("Huffman table is empty or its counts do not match its values".into());
        }
        Ok(table)
    }
}

#[derive(Clone, Copy)]
struct Component {
    id: u8,
    quant: usize,
}

struct Frame {
    precision: u8,
    rows: usize,
    columns: usize,
    components: Vec<Component>,
    blocks_across: usize,
    blocks_down: usize,
}

/// The stream's bytes with a position; every read is checked.
struct Reader<'a> {
    data: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn byte(&mut self) -> Result<u8, Error> {
        let b = *self
            .data
            .get(self.at)
            .ok_or_else(|| format!("the data ends at byte {} inside a marker segment", self.at))?;
        self.at += 1;
        Ok(b)
    }

    fn u16(&mut self) -> Result<u16, Error> {
        Ok(u16::from_be_bytes([self.byte()?, self.byte()?]))
    }

    /// A marker segment's contents after its length (T.81 B.1.1.4).
    fn segment(&mut self, name: &str) -> Result<&[u8], Error> {
        let length = usize::from(self.u16()?);
        if length < 2 {
            return Err(format!("{name} segment length {length} is below 2"));
        }
        let body = self
            .data
            .get(self.at..self.at + length - 2)
            .ok_or_else(|| format!("{name} segment of {length} bytes runs past the data"))?;
        self.at += length - 2;
        Ok(body)
    }

    /// The next marker code, after any fill bytes (T.81 B.1.1.2).
    fn marker(&mut self) -> Result<u8, Error> {
        let at = self.at;
        if self.byte()? != 0xff {
            return Err(format!("byte {at} is not a marker"));
        }
        loop {
            match self.byte()? {
                0xff => continue,
                0x00 => return Err(format!("byte {at} is not a marker")),
                m => return Ok(m),
            }
        }
    }
}

/// Decodes a JPEG stream whose frame is at most `max_rows` × `max_columns`.
pub fn decode(data: &[u8], max_rows: u32, max_columns: u32) -> Result<Decoded, Error> {
    let mut r = Reader { data, at: 0 };
    if r.marker()? != 0xd8 {
        return Err("the data does not start with SOI (FFD8)".into());
    }
    let mut quant: [Option<[u16; 64]>; 4] = [None; 4];
    let mut dc: [Option<Huffman>; 4] = [None, None, None, None];
    let mut ac: [Option<Huffman>; 4] = [None, None, None, None];
    let mut restart_interval = 0usize;
    let mut frame: Option<Frame> = None;
    let mut planes: Vec<Vec<i32>> = Vec::new();
    let mut decoded = [false; 3];
    loop {
        let marker = r.marker()?;
        match marker {
            0xc0 | 0xc1 => {
                if frame.is_some() {
                    return Err("a second SOF marker".into());
                }
                let f = parse_frame(r.segment("SOF")?, marker, max_rows, max_columns)?;
                let plane = f.blocks_across * f.blocks_down * 64;
                planes = vec![vec![0; plane]; f.components.len()];
                frame = Some(f);
            }
            0xc2 | 0xc3 | 0xc5..=0xc7 | 0xc9..=0xcb | 0xcd..=0xcf => {
                return Err(format!(
                    "SOF{} ({}): filmd decodes sequential DCT with Huffman coding (SOF0, SOF1) only",
                    marker - 0xc0,
                    match marker {
                        0xc2 | 0xc6 => "progressive DCT",
                        0xc3 | 0xc7 => "lossless",
                        0xc5 => "differential sequential DCT",
                        0xc9 => "arithmetic-coded sequential DCT",
                        0xca | 0xce => "arithmetic-coded progressive DCT",
                        _ => "arithmetic-coded lossless",
                    }
                ));
            }
            0xc4 => parse_huffman(r.segment("DHT")?, &mut dc, &mut ac)?,
            0xcc => return Err("DAC: arithmetic coding is not supported".into()),
            0xdb => parse_quant(r.segment("DQT")?, &mut quant)?,
            0xdd => {
                let body = r.segment("DRI")?;
                if body.len() != 2 {
                    return Err(format!(
                        "DRI segment of {} bytes, 4 expected",
                        body.len() + 2
                    ));
                }
                restart_interval = usize::from(u16::from_be_bytes([body[0], body[1]]));
            }
            0xda => {
                let f = frame.as_ref().ok_or("SOS before SOF")?;
                let scan = parse_scan(r.segment("SOS")?, f, &quant, &dc, &ac, &mut decoded)?;
                r.at = decode_scan(data, r.at, f, &scan, restart_interval, &mut planes)?;
            }
            0xd9 => break,
            0xdc => return Err("DNL: the frame's number of lines must be in SOF".into()),
            0xd0..=0xd7 => return Err(format!("RST{} outside a scan", marker - 0xd0)),
            0xe0..=0xef | 0xfe => {
                r.segment("APPn/COM")?;
            }
            m => return Err(format!("unexpected marker FF{m:02X}")),
        }
    }
    let f = frame.ok_or("EOI before SOF")?;
    if let Some(c) = (0..f.components.len()).find(|&c| !decoded[c]) {
        return Err(format!("component {} is in no scan", f.components[c].id));
    }
    // Crop the planes to the frame and interleave.
    let n = f.components.len();
    let stride = f.blocks_across * 8;
    let mut values = Vec::with_capacity(f.rows * f.columns * n);
    for y in 0..f.rows {
        for x in 0..f.columns {
            for plane in &planes {
                values.push(plane[y * stride + x]);
            }
        }
    }
    Ok(Decoded {
        rows: f.rows as u32,
        columns: f.columns as u32,
        components: n as u8,
        precision: f.precision,
        values,
    })
}

/// SOF0/SOF1 (T.81 B.2.2).
fn parse_frame(body: &[u8], marker: u8, max_rows: u32, max_columns: u32) -> Result<Frame, Error> {
    if body.len() < 6 {
        return Err("SOF segment is too short".into());
    }
    let precision = body[0];
    let rows = u32::from(u16::from_be_bytes([body[1], body[2]]));
    let columns = u32::from(u16::from_be_bytes([body[3], body[4]]));
    let count = usize::from(body[5]);
    if !matches!((marker, precision), (0xc0, 8) | (0xc1, 8 | 12)) {
        return Err(format!(
            "SOF{} with sample precision {precision}: 8 or 12 (SOF1) expected",
            marker - 0xc0
        ));
    }
    if rows == 0 || columns == 0 {
        return Err(format!("SOF declares {rows} lines × {columns} samples"));
    }
    if rows > max_rows || columns > max_columns {
        return Err(format!(
            "SOF declares {rows} lines × {columns} samples, more than the data set's {max_rows} rows × {max_columns} columns"
        ));
    }
    if count != 1 && count != 3 {
        return Err(format!("{count} components: filmd decodes 1 or 3"));
    }
    if body.len() != 6 + 3 * count {
        return Err(format!(
            "SOF segment of {} bytes for {count} components",
            body.len() + 2
        ));
    }
    let mut components = Vec::with_capacity(count);
    for c in 0..count {
        let part = &body[6 + 3 * c..9 + 3 * c];
        let (h, v) = (part[1] >> 4, part[1] & 15);
        if !(1..=4).contains(&h) || !(1..=4).contains(&v) || part[2] > 3 {
            return Err(format!(
                "component {} has invalid sampling or table",
                part[0]
            ));
        }
        if count > 1 && (h, v) != (1, 1) {
            return Err(format!(
                "component {} is sampled {h}×{v}: filmd decodes 3 components at 1×1 only",
                part[0]
            ));
        }
        if components.iter().any(|k: &Component| k.id == part[0]) {
            return Err(format!("component identifier {} repeated", part[0]));
        }
        components.push(Component {
            id: part[0],
            quant: usize::from(part[2]),
        });
    }
    Ok(Frame {
        precision,
        rows: rows as usize,
        columns: columns as usize,
        components,
        blocks_across: (columns as usize).div_ceil(8),
        blocks_down: (rows as usize).div_ceil(8),
    })
}

/// DHT (T.81 B.2.4.2): one or more tables.
fn parse_huffman(
    mut body: &[u8],
    dc: &mut [Option<Huffman>; 4],
    ac: &mut [Option<Huffman>; 4],
) -> Result<(), Error> {
    while !body.is_empty() {
        if body.len() < 17 {
            return Err("DHT segment (Huffman tables) is cut short".into());
        }
        let (class, id) = (body[0] >> 4, usize::from(body[0] & 15));
        if class > 1 || id > 3 {
            return Err(format!("DHT: Huffman table class {class}, identifier {id}"));
        }
        let mut counts = [0u8; 16];
        counts.copy_from_slice(&body[1..17]);
        let total: usize = counts.iter().map(|&c| usize::from(c)).sum();
        let values = body
            .get(17..17 + total)
            .ok_or("DHT segment is shorter than its Huffman table counts say")?
            .to_vec();
        let limit = if class == 0 { 15 } else { 255 };
        if values.iter().any(|&v| v > limit) {
            return Err(format!(
                "DHT: Huffman table {class}/{id} has a value out of range"
            ));
        }
        let table = Huffman::new(&counts, values)?;
        if class == 0 {
            dc[id] = Some(table);
        } else {
            ac[id] = Some(table);
        }
        body = &body[17 + total..];
    }
    Ok(())
}

/// DQT (T.81 B.2.4.1): 8-bit (Pq 0) or 16-bit (Pq 1) tables, stored in natural order.
fn parse_quant(mut body: &[u8], quant: &mut [Option<[u16; 64]>; 4]) -> Result<(), Error> {
    while !body.is_empty() {
        let (pq, id) = (body[0] >> 4, usize::from(body[0] & 15));
        if pq > 1 || id > 3 {
            return Err(format!("DQT precision {pq}, identifier {id}"));
        }
        let size = if pq == 0 { 64 } else { 128 };
        let raw = body.get(1..1 + size).ok_or("DQT segment is cut short")?;
        let mut table = [0u16; 64];
        for (k, &natural) in ZIGZAG.iter().enumerate() {
            table[natural] = if pq == 0 {
                u16::from(raw[k])
            } else {
                u16::from_be_bytes([raw[2 * k], raw[2 * k + 1]])
            };
        }
        quant[id] = Some(table);
        body = &body[1 + size..];
    }
    Ok(())
}

/// One component of a scan, with what its blocks need.
struct ScanComponent<'t> {
    index: usize,
    quant: [f32; 64],
    dc: &'t Huffman,
    ac: &'t Huffman,
}

/// SOS (T.81 B.2.3), checked against the frame and the tables defined so far.
fn parse_scan<'t>(
    body: &[u8],
    f: &Frame,
    quant: &[Option<[u16; 64]>; 4],
    dc: &'t [Option<Huffman>; 4],
    ac: &'t [Option<Huffman>; 4],
    decoded: &mut [bool; 3],
) -> Result<Vec<ScanComponent<'t>>, Error> {
    let count = usize::from(*body.first().ok_or("SOS segment is empty")?);
    if count == 0 || count > f.components.len() || body.len() != 4 + 2 * count {
        return Err(format!(
            "SOS segment of {} bytes with {count} components",
            body.len() + 2
        ));
    }
    let tail = &body[1 + 2 * count..];
    if tail != [0, 63, 0] {
        return Err(format!(
            "scan with Ss {}, Se {}, Ah/Al {:02X}: progressive or successive approximation, which sequential JPEG does not have",
            tail[0], tail[1], tail[2]
        ));
    }
    let mut scan = Vec::with_capacity(count);
    for c in 0..count {
        let (id, tables) = (body[1 + 2 * c], body[2 + 2 * c]);
        let index = f
            .components
            .iter()
            .position(|k| k.id == id)
            .ok_or_else(|| format!("scan names component {id}, which the frame lacks"))?;
        if decoded[index] {
            return Err(format!("component {id} is in more than one scan"));
        }
        decoded[index] = true;
        let (td, ta) = (usize::from(tables >> 4), usize::from(tables & 15));
        let dc = dc
            .get(td)
            .and_then(Option::as_ref)
            .ok_or_else(|| format!("DC Huffman table {td} is not defined"))?;
        let ac = ac
            .get(ta)
            .and_then(Option::as_ref)
            .ok_or_else(|| format!("AC Huffman table {ta} is not defined"))?;
        let q = quant[f.components[index].quant].ok_or_else(|| {
            format!(
                "quantisation table {} is not defined",
                f.components[index].quant
            )
        })?;
        scan.push(ScanComponent {
            index,
            quant: q.map(f32::from),
            dc,
            ac,
        });
    }
    Ok(scan)
}

/// Reads entropy-coded bits (T.81 F.2.2.5): 0xFF00 is a 0xFF byte; a marker, or the end
/// of the data, gives 1-bits, at most [`MAX_PADDING`] bytes of them.
struct Bits<'a> {
    data: &'a [u8],
    at: usize,
    buffer: u32,
    count: u32,
    padded: u32,
}

impl Bits<'_> {
    fn fill(&mut self) -> Result<(), Error> {
        let byte = match self.data.get(self.at) {
            Some(&0xff) if self.data.get(self.at + 1) == Some(&0) => {
                self.at += 2;
                0xff
            }
            Some(&0xff) | None => {
                self.padded += 1;
                if self.padded > MAX_PADDING {
                    return Err(format!(
                        "entropy-coded data ends early (byte {} of {})",
                        self.at,
                        self.data.len()
                    ));
                }
                0xff
            }
            Some(&b) => {
                self.at += 1;
                b
            }
        };
        self.buffer = (self.buffer << 8) | u32::from(byte);
        self.count += 8;
        Ok(())
    }

    fn bit(&mut self) -> Result<i32, Error> {
        if self.count == 0 {
            self.fill()?;
        }
        self.count -= 1;
        Ok(((self.buffer >> self.count) & 1) as i32)
    }

    /// RECEIVE (T.81 F.2.2.4): `n` bits, most significant first.
    fn receive(&mut self, n: u8) -> Result<i32, Error> {
        let mut v = 0;
        for _ in 0..n {
            v = (v << 1) | self.bit()?;
        }
        Ok(v)
    }

    /// DECODE (T.81 F.2.2.3, Figure F.16).
    fn decode(&mut self, table: &Huffman) -> Result<u8, Error> {
        let mut code = self.bit()?;
        for length in 1..=16 {
            if code <= table.max_code[length] {
                let at = table.first_value[length] + (code - table.min_code[length]) as usize;
                return table
                    .values
                    .get(at)
                    .copied()
                    .ok_or_else(|| "Huffman code outside its table".to_string());
            }
            if length < 16 {
                code = (code << 1) | self.bit()?;
            }
        }
        Err("a Huffman code that is in no table".into())
    }

    /// After a restart interval: the bits left are dropped and RSTn must follow.
    fn restart(&mut self, n: usize) -> Result<(), Error> {
        self.buffer = 0;
        self.count = 0;
        self.padded = 0;
        let expected = 0xd0 + (n % 8) as u8;
        match self.data.get(self.at..self.at + 2) {
            Some([0xff, m]) if *m == expected => {
                self.at += 2;
                Ok(())
            }
            _ => Err(format!(
                "RST{} expected at byte {} of the entropy-coded data",
                n % 8,
                self.at
            )),
        }
    }
}

/// EXTEND (T.81 F.2.2.1, Figure F.12).
fn extend(v: i32, t: u8) -> i32 {
    if t == 0 {
        0
    } else if v < 1 << (t - 1) {
        v - (1 << t) + 1
    } else {
        v
    }
}

/// Decodes a scan's MCUs from `start`; returns where the next marker is.
fn decode_scan(
    data: &[u8],
    start: usize,
    f: &Frame,
    scan: &[ScanComponent],
    restart_interval: usize,
    planes: &mut [Vec<i32>],
) -> Result<usize, Error> {
    let mut bits = Bits {
        data,
        at: start,
        buffer: 0,
        count: 0,
        padded: 0,
    };
    let idct = Idct::new();
    let mut predictions = vec![0i32; scan.len()];
    let max_category = if f.precision == 12 { 15 } else { 11 };
    let max_value = (1i32 << f.precision) - 1;
    let shift = (1i32 << (f.precision - 1)) as f32;
    let mcus = f.blocks_across * f.blocks_down;
    let stride = f.blocks_across * 8;
    let mut coefficients = [0f32; 64];
    let mut samples = [0f32; 64];
    for mcu in 0..mcus {
        if restart_interval > 0 && mcu > 0 && mcu % restart_interval == 0 {
            bits.restart(mcu / restart_interval - 1)?;
            predictions.iter_mut().for_each(|p| *p = 0);
        }
        let (bx, by) = (mcu % f.blocks_across, mcu / f.blocks_across);
        for (c, component) in scan.iter().enumerate() {
            // T.81 F.2.2.1 (DC) and F.2.2.2 (AC, Figure F.13).
            coefficients.fill(0.0);
            let t = bits.decode(component.dc)?;
            if t > max_category {
                return Err(format!("DC difference category {t}"));
            }
            let diff = extend(bits.receive(t)?, t);
            predictions[c] = predictions[c].wrapping_add(diff);
            coefficients[0] = predictions[c] as f32 * component.quant[0];
            let mut k = 1;
            while k < 64 {
                let rs = bits.decode(component.ac)?;
                let (run, size) = (usize::from(rs >> 4), rs & 15);
                if size == 0 {
                    if run == 15 {
                        k += 16;
                        continue;
                    }
                    break;
                }
                k += run;
                if k > 63 {
                    return Err("AC coefficients run past the block".into());
                }
                let natural = ZIGZAG[k];
                coefficients[natural] =
                    extend(bits.receive(size)?, size) as f32 * component.quant[natural];
                k += 1;
            }
            idct.apply(&coefficients, &mut samples);
            let plane = &mut planes[component.index];
            for y in 0..8 {
                let row = (by * 8 + y) * stride + bx * 8;
                for x in 0..8 {
                    let v = (samples[y * 8 + x] + shift).round() as i32;
                    plane[row + x] = v.clamp(0, max_value);
                }
            }
        }
    }
    // The next marker: the bits of the last byte are padding.
    let mut at = bits.at;
    loop {
        match data.get(at..at + 2) {
            Some([0xff, m]) if *m != 0 && *m != 0xff => return Ok(at),
            Some(_) => at += 1,
            None => return Err("no marker after the scan's data".into()),
        }
    }
}

/// The inverse DCT of T.81 A.3.3, separable, in f32:
/// s(y,x) = 1/4 Σu Σv C(u) C(v) S(v,u) cos((2x+1)uπ/16) cos((2y+1)vπ/16).
struct Idct {
    /// `basis[x * 8 + u]` = C(u)/2 · cos((2x+1)uπ/16).
    basis: [f32; 64],
}

impl Idct {
    fn new() -> Idct {
        let mut basis = [0f32; 64];
        for x in 0..8 {
            for u in 0..8 {
                let c = if u == 0 {
                    std::f64::consts::FRAC_1_SQRT_2
                } else {
                    1.0
                };
                let angle = ((2 * x + 1) * u) as f64 * std::f64::consts::PI / 16.0;
                basis[x * 8 + u] = (c / 2.0 * angle.cos()) as f32;
            }
        }
        Idct { basis }
    }

    fn apply(&self, input: &[f32; 64], output: &mut [f32; 64]) {
        let mut rows = [0f32; 64];
        // Along each row of coefficients (v fixed): over u.
        for v in 0..8 {
            let line = &input[v * 8..v * 8 + 8];
            for x in 0..8 {
                let b = &self.basis[x * 8..x * 8 + 8];
                rows[v * 8 + x] = line.iter().zip(b).map(|(s, c)| s * c).sum();
            }
        }
        // Down each column: over v.
        for y in 0..8 {
            let b = &self.basis[y * 8..y * 8 + 8];
            for x in 0..8 {
                output[y * 8 + x] = (0..8).map(|v| rows[v * 8 + x] * b[v]).sum();
            }
        }
    }
}

#[cfg(test)]
#[path = "tests/jpeg12.rs"]
mod tests;
