//! Reading filmd's PDFs back with lopdf: page sizes, the page image and its pixels.

use lopdf::{Document, Object};
use std::io::Read;
use std::path::Path;

/// One page: its size in points and its image.
#[derive(Debug)]
pub struct PageImage {
    pub width_pt: f64,
    pub height_pt: f64,
    pub width_px: u32,
    pub height_px: u32,
    /// 1 for gray, 3 for RGB (`[/ICCBased profile]` with that /N, or DeviceGray/RGB).
    pub channels: u8,
    pub bits_per_component: u8,
    pub pixels: Vec<u8>,
}

impl PageImage {
    /// The pixel at (x, y) from the top left: one value per channel.
    pub fn at(&self, x: u32, y: u32) -> &[u8] {
        let c = self.channels as usize;
        let i = (y as usize * self.width_px as usize + x as usize) * c;
        &self.pixels[i..i + c]
    }

    /// Gray value at a point given as fractions of the page width and height.
    pub fn gray_at(&self, fx: f64, fy: f64) -> u8 {
        let x = ((fx * f64::from(self.width_px)) as u32).min(self.width_px - 1);
        let y = ((fy * f64::from(self.height_px)) as u32).min(self.height_px - 1);
        self.at(x, y)[0]
    }

    /// Resolution implied by the page size and pixel size.
    pub fn dpi(&self) -> (f64, f64) {
        (
            f64::from(self.width_px) / (self.width_pt / 72.0),
            f64::from(self.height_px) / (self.height_pt / 72.0),
        )
    }
}

/// Portrait page size in points of the film sizes the interop tests print; an independent
/// table (inches × 72), not filmd's own.
pub fn film_pt(id: &str) -> (f64, f64) {
    match id {
        "14INX17IN" => (1008.0, 1224.0),
        "14INX14IN" => (1008.0, 1008.0),
        "8INX10IN" => (576.0, 720.0),
        "11INX14IN" => (792.0, 1008.0),
        "10INX12IN" => (720.0, 864.0),
        other => panic!("film size {other} not in the test table"),
    }
}

/// Centres of the image boxes of an Image Display Format as fractions of the page (equal
/// cells, margins and gaps ignored), in
/// Image Box Position order: STANDARD\C,R row by row from the top left; ROW\a,b,... the
/// boxes of each row from the top; COL\a,b,... the boxes of each column from the left,
/// numbered down each column.
pub fn centres(format: &str) -> Vec<(f64, f64)> {
    let (kind, args) = format.split_once('\\').unwrap();
    let n: Vec<usize> = args.split(',').map(|s| s.parse().unwrap()).collect();
    let mid = |i: usize, n: usize| (i as f64 + 0.5) / n as f64;
    let mut out = Vec::new();
    match kind {
        "STANDARD" => {
            for r in 0..n[1] {
                for c in 0..n[0] {
                    out.push((mid(c, n[0]), mid(r, n[1])));
                }
            }
        }
        "ROW" => {
            for (r, &count) in n.iter().enumerate() {
                for c in 0..count {
                    out.push((mid(c, count), mid(r, n.len())));
                }
            }
        }
        "COL" => {
            for (c, &count) in n.iter().enumerate() {
                for r in 0..count {
                    out.push((mid(c, n.len()), mid(r, count)));
                }
            }
        }
        _ => panic!("format {format}"),
    }
    out
}

fn number(o: &Object) -> f64 {
    match o {
        Object::Integer(i) => *i as f64,
        Object::Real(r) => f64::from(*r),
        other => panic!("not a number: {other:?}"),
    }
}

/// Components of an image colour space: DeviceGray, DeviceRGB or `[/ICCBased stream]`.
fn channels(doc: &Document, space: &Object) -> u8 {
    match space {
        Object::Name(name) if name == b"DeviceGray" => 1,
        Object::Name(name) if name == b"DeviceRGB" => 3,
        Object::Array(a) if a.len() == 2 && a[0].as_name().ok() == Some(&b"ICCBased"[..]) => {
            let stream = doc
                .get_object(a[1].as_reference().unwrap())
                .unwrap()
                .as_stream()
                .unwrap();
            let n = stream.dict.get(b"N").unwrap().as_i64().unwrap();
            assert!(n == 1 || n == 3, "ICCBased /N {n}");
            n as u8
        }
        other => panic!("color space {other:?}"),
    }
}

/// Every page of a PDF with its (single) image.
pub fn pages(path: &Path) -> Vec<PageImage> {
    let doc = Document::load(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = Vec::new();
    for (_, page_id) in doc.get_pages() {
        let page = doc.get_dictionary(page_id).unwrap();
        let mb = page.get(b"MediaBox").unwrap().as_array().unwrap();
        let (w, h) = (
            number(&mb[2]) - number(&mb[0]),
            number(&mb[3]) - number(&mb[1]),
        );
        let resources = match page.get(b"Resources").unwrap() {
            Object::Reference(r) => doc.get_dictionary(*r).unwrap(),
            Object::Dictionary(d) => d,
            o => panic!("resources {o:?}"),
        };
        let xobjects = match resources.get(b"XObject").unwrap() {
            Object::Reference(r) => doc.get_dictionary(*r).unwrap(),
            Object::Dictionary(d) => d,
            o => panic!("xobjects {o:?}"),
        };
        assert_eq!(xobjects.len(), 1, "one image per page");
        let (_, img_ref) = xobjects.iter().next().unwrap();
        let stream = doc
            .get_object(img_ref.as_reference().unwrap())
            .unwrap()
            .as_stream()
            .unwrap();
        let d = &stream.dict;
        let filter = d.get(b"Filter").unwrap().as_name().unwrap();
        assert_eq!(filter, b"FlateDecode", "lossless Flate");
        let channels = channels(&doc, d.get(b"ColorSpace").unwrap());
        let mut pixels = Vec::new();
        flate2::read::ZlibDecoder::new(&stream.content[..])
            .read_to_end(&mut pixels)
            .unwrap();
        let width_px = d.get(b"Width").unwrap().as_i64().unwrap() as u32;
        let height_px = d.get(b"Height").unwrap().as_i64().unwrap() as u32;
        if let Ok(parms) = d.get(b"DecodeParms").and_then(Object::as_dict) {
            // PNG predictors (ISO 32000-1 7.4.4.4): a filter tag byte before every row.
            assert_eq!(parms.get(b"Predictor").unwrap().as_i64().unwrap(), 15);
            assert_eq!(
                parms.get(b"Colors").unwrap().as_i64().unwrap(),
                i64::from(channels)
            );
            assert_eq!(
                parms.get(b"Columns").unwrap().as_i64().unwrap(),
                i64::from(width_px)
            );
            let row_bytes = width_px as usize * channels as usize;
            let mut rows: Vec<u8> = Vec::with_capacity(pixels.len());
            for (r, filtered) in pixels.chunks(row_bytes + 1).enumerate() {
                let above = match r {
                    0 => vec![0; row_bytes],
                    _ => rows[(r - 1) * row_bytes..r * row_bytes].to_vec(),
                };
                filmd::backend::deflate::unfilter_row(
                    filtered,
                    channels as usize,
                    &above,
                    &mut rows,
                )
                .expect("a PNG filter tag");
            }
            pixels = rows;
        }
        assert_eq!(
            pixels.len(),
            (width_px * height_px) as usize * channels as usize
        );
        out.push(PageImage {
            width_pt: w,
            height_pt: h,
            width_px,
            height_px,
            channels,
            bits_per_component: d.get(b"BitsPerComponent").unwrap().as_i64().unwrap() as u8,
            pixels,
        });
    }
    out
}

/// The text of every XMP element named `local_name` (any namespace) in the PDF's
/// catalog `/Metadata` stream, which must be well-formed XML.
pub fn xmp_values(path: &Path, local_name: &str) -> Vec<String> {
    let doc = Document::load(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let id = doc
        .catalog()
        .unwrap()
        .get(b"Metadata")
        .unwrap()
        .as_reference()
        .unwrap();
    let stream = doc.get_object(id).unwrap().as_stream().unwrap();
    let text = std::str::from_utf8(&stream.content).expect("XMP is UTF-8");
    let xmp = roxmltree::Document::parse(text).expect("XMP is well-formed XML");
    xmp.descendants()
        .filter(|n| n.is_element() && n.tag_name().name() == local_name)
        .map(|n| n.text().unwrap_or("").to_string())
        .collect()
}
