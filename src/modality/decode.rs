//! Pixel Data (7FE0,0010), native or encapsulated, to [super::StoredFrame]s, one frame at
//! a time (PS3.5 8.1, 8.2, Annex A.4).
//!
//! Native data is unpacked here: Bits Allocated 1, 8, 16 or 32, the bits outside Bits
//! Stored..High Bit removed, the sign extended from Bits Stored (PS3.5 8.1.1).
//! dicom-object has already put big endian values in host order, and 8-bit samples
//! stored as OW words in a big endian file come out low byte first, as PS3.5 8.1.1
//! wants. Encapsulated data goes through the decoders of dicom-rs's transfer syntax
//! registry (those dicom-pixeldata uses): RLE Lossless, JPEG Baseline/Extended/Lossless
//! (jpeg-decoder, 8-bit lossy only), JPEG-LS (CharLS), JPEG 2000 and HTJ2K (openjp2). What each decoder
//! leaves (colour space, interleaving) is recorded in the frame: see [`decoded_layout`].
//! filmd decodes two things itself: 32-bit RLE Lossless ([`rle_32`]) and 12-bit lossy
//! JPEG (ISO 10918-1 process 4, [`super::jpeg12`]), which jpeg-decoder lacks.

use super::{ImageAttributes, ModalityError, StoredFrame, StoredPhotometric};
use dicom_core::value::{PrimitiveValue, Value};
use dicom_dictionary_std::tags;
use dicom_encoding::transfer_syntax::{Codec, TransferSyntaxIndex};
use dicom_object::DefaultDicomObject;
use dicom_transfer_syntax_registry::TransferSyntaxRegistry;

/// Decodes frame `index` (from 0) of `obj`'s Pixel Data as `attrs` describe it.
pub fn decode_frame(
    obj: &DefaultDicomObject,
    attrs: &ImageAttributes,
    index: u32,
) -> Result<StoredFrame, ModalityError> {
    if index >= attrs.frames {
        return Err(ModalityError::Options(format!(
            "frame {} of {} frames",
            index + 1,
            attrs.frames
        )));
    }
    let pixel_data = obj
        .get(tags::PIXEL_DATA)
        .ok_or_else(|| ModalityError::Invalid("Pixel Data (7FE0,0010) is missing".into()))?;
    match pixel_data.value() {
        Value::Primitive(value) => native(value, attrs, index),
        Value::PixelSequence(_) => encapsulated(obj, attrs, index),
        Value::Sequence(_) => Err(ModalityError::Invalid(
            "Pixel Data (7FE0,0010) is a sequence".into(),
        )),
    }
}

/// The stored samples of one frame: rows × columns × samples per pixel, except native
/// YBR_FULL_422, which keeps two Y, one Cb and one Cr for each two pixels (PS3.3
/// C.7.6.3.1.2).
fn frame_samples(attrs: &ImageAttributes, native: bool) -> usize {
    let pixels = attrs.rows as usize * attrs.columns as usize;
    if native && attrs.photometric == StoredPhotometric::YbrFull422 {
        pixels * 2
    } else {
        pixels * usize::from(attrs.samples_per_pixel)
    }
}

/// Native Pixel Data as a byte string in file order, whatever value type dicom-object
/// read it into (OB bytes, OW words, OL double words): byte `i` of the stream as PS3.5
/// little endian order numbers it.
enum NativeBytes<'a> {
    Bytes(&'a [u8]),
    Words(&'a [u16]),
    Signed(&'a [i16]),
    Long(&'a [u32]),
}

impl NativeBytes<'_> {
    fn len(&self) -> usize {
        match self {
            NativeBytes::Bytes(b) => b.len(),
            NativeBytes::Words(w) => w.len() * 2,
            NativeBytes::Signed(w) => w.len() * 2,
            NativeBytes::Long(l) => l.len() * 4,
        }
    }

    #[inline]
    fn byte(&self, i: usize) -> u8 {
        match self {
            NativeBytes::Bytes(b) => b[i],
            NativeBytes::Words(w) => w[i / 2].to_le_bytes()[i % 2],
            NativeBytes::Signed(w) => w[i / 2].to_le_bytes()[i % 2],
            NativeBytes::Long(l) => l[i / 4].to_le_bytes()[i % 4],
        }
    }
}

fn native(
    value: &PrimitiveValue,
    attrs: &ImageAttributes,
    index: u32,
) -> Result<StoredFrame, ModalityError> {
    let bytes = match value {
        PrimitiveValue::U8(v) => NativeBytes::Bytes(v),
        PrimitiveValue::U16(v) => NativeBytes::Words(v),
        PrimitiveValue::I16(v) => NativeBytes::Signed(v),
        PrimitiveValue::U32(v) => NativeBytes::Long(v),
        _ => {
            return Err(ModalityError::Invalid(
                "Pixel Data (7FE0,0010) is not OB, OW or OL".into(),
            ));
        }
    };
    let samples = frame_samples(attrs, true);
    let bits = usize::from(attrs.bits_allocated);
    let first_bit = index as usize * samples * bits;
    let end_byte = (first_bit + samples * bits).div_ceil(8);
    if bytes.len() < end_byte {
        return Err(ModalityError::Invalid(format!(
            "Pixel Data (7FE0,0010) holds {} bytes; frame {} of {} rows × {} columns needs {end_byte}",
            bytes.len(),
            index + 1,
            attrs.rows,
            attrs.columns
        )));
    }
    let unpack = Unpack::new(attrs, true);
    let mut values = Vec::with_capacity(samples);
    if bits == 1 {
        // PS3.5 8.1.1: pixel n is bit n % 8 of byte n / 8, frames packed without gaps.
        for n in first_bit..first_bit + samples {
            values.push(i32::from((bytes.byte(n / 8) >> (n % 8)) & 1));
        }
    } else {
        let width = bits / 8;
        let start = first_bit / 8;
        for s in 0..samples {
            let at = start + s * width;
            let mut raw = 0u32;
            for b in 0..width {
                raw |= u32::from(bytes.byte(at + b)) << (8 * b);
            }
            values.push(unpack.value(raw)?);
        }
    }
    Ok(StoredFrame {
        values,
        photometric: attrs.photometric,
        planar_configuration: attrs.planar_configuration,
    })
}

/// Bits Stored..High Bit of a raw sample, sign-extended when signed.
struct Unpack {
    shift: u32,
    mask: u32,
    bits_stored: u32,
    signed: bool,
}

impl Unpack {
    /// `as_stored`: the sample as Pixel Data stores it, its stored bits ending at High
    /// Bit (native data, and RLE, which carries the whole sample, PS3.5 G.2); otherwise
    /// a JPEG, JPEG-LS or JPEG 2000 decoder's output, the value itself, right-aligned.
    fn new(attrs: &ImageAttributes, as_stored: bool) -> Unpack {
        let bits_stored = u32::from(attrs.bits_stored);
        let shift = if as_stored {
            u32::from(attrs.high_bit) + 1 - bits_stored
        } else {
            0
        };
        Unpack {
            shift,
            mask: if bits_stored >= 32 {
                u32::MAX
            } else {
                (1u32 << bits_stored) - 1
            },
            bits_stored,
            signed: attrs.signed,
        }
    }

    #[inline]
    fn value(&self, raw: u32) -> Result<i32, ModalityError> {
        let v = (raw >> self.shift) & self.mask;
        if self.signed {
            let unused = 32 - self.bits_stored;
            Ok(((v << unused) as i32) >> unused)
        } else {
            i32::try_from(v).map_err(|_| {
                ModalityError::Unsupported(format!(
                    "stored value {v} is above 2^31 - 1 (unsigned, Bits Stored {})",
                    self.bits_stored
                ))
            })
        }
    }
}

/// The transfer syntax's name for messages: the registry's, else "unknown".
fn syntax_name(uid: &str) -> String {
    TransferSyntaxRegistry
        .get(uid)
        .map_or_else(|| "unknown".to_string(), |ts| ts.name().to_string())
}

/// JPEG-LS Lossless and Near-Lossless (PS3.5 A.4.3): decoded by CharLS with the
/// `jpeg-ls` feature only.
const JPEG_LS: [&str; 2] = ["1.2.840.10008.1.2.4.80", "1.2.840.10008.1.2.4.81"];

/// The error for Pixel Data in a transfer syntax filmd cannot decode: one that names the
/// feature when the decoder was only left out of this build.
pub fn unsupported_syntax(uid: &str) -> ModalityError {
    if !cfg!(feature = "jpeg-ls") && JPEG_LS.contains(&uid) {
        return ModalityError::NotBuiltIn {
            uid: uid.to_string(),
            name: syntax_name(uid),
            feature: "jpeg-ls",
        };
    }
    ModalityError::UnsupportedTransferSyntax {
        uid: uid.to_string(),
        name: syntax_name(uid),
    }
}

fn encapsulated(
    obj: &DefaultDicomObject,
    attrs: &ImageAttributes,
    index: u32,
) -> Result<StoredFrame, ModalityError> {
    let uid = obj.meta().transfer_syntax().trim_end_matches(['\0', ' ']);
    let ts = TransferSyntaxRegistry
        .get(uid)
        .ok_or_else(|| unsupported_syntax(uid))?;
    // The registry's RLE decoder takes 8 and 16 bits; 32-bit RLE (RT Dose, some
    // secondary captures) is decoded here (PS3.5 Annex G).
    if uid == RLE_LOSSLESS && attrs.bits_allocated == 32 {
        return rle_32(obj, attrs, index);
    }
    let Codec::EncapsulatedPixelData(Some(reader), _) = ts.codec() else {
        return Err(unsupported_syntax(uid));
    };
    // jpeg-decoder has lossy DCT for 8-bit samples only: 12-bit sequential DCT (ISO
    // 10918-1 process 4) is decoded here.
    if uid == JPEG_BASELINE || uid == JPEG_EXTENDED {
        let data = frame_bytes(obj, attrs, index).map_err(|message| ModalityError::Decode {
            syntax: format!("{} ({uid})", ts.name()),
            message,
        })?;
        if attrs.bits_stored > 8 || super::jpeg12::sof_precision(&data) == Some(12) {
            return jpeg_12(&data, attrs, &format!("{} ({uid})", ts.name()));
        }
    }
    if !matches!(attrs.bits_allocated, 8 | 16) {
        return Err(ModalityError::Unsupported(format!(
            "{} with Bits Allocated {}: its decoder takes 8 or 16",
            ts.name(),
            attrs.bits_allocated
        )));
    }
    let decode_error = |message: String| ModalityError::Decode {
        syntax: format!("{} ({uid})", ts.name()),
        message,
    };
    let samples = frame_samples(attrs, false);
    let width = usize::from(attrs.bits_allocated / 8);
    let mut bytes = Vec::new();
    reader
        .decode_frame(obj, index, &mut bytes)
        .map_err(|e| decode_error(error_chain(&e)))?;
    if bytes.len() < samples * width {
        return Err(decode_error(format!(
            "frame {} decoded to {} bytes, {} expected",
            index + 1,
            bytes.len(),
            samples * width
        )));
    }
    let unpack = Unpack::new(attrs, uid == RLE_LOSSLESS);
    let values = bytes
        .chunks_exact(width)
        .take(samples)
        .map(|c| {
            let raw = if width == 2 {
                u32::from(u16::from_le_bytes([c[0], c[1]]))
            } else {
                u32::from(c[0])
            };
            unpack.value(raw)
        })
        .collect::<Result<Vec<i32>, _>>()?;
    let (photometric, planar_configuration) = decoded_layout(uid, attrs, obj);
    Ok(StoredFrame {
        values,
        photometric,
        planar_configuration,
    })
}

const RLE_LOSSLESS: &str = "1.2.840.10008.1.2.5";

/// RLE Lossless of 32-bit samples (PS3.5 G.2, G.3): one fragment a frame; a 64-byte
/// header with the segment count and offsets; one PackBits segment per byte of each
/// sample, most significant byte first; samples plane after plane, made interleaved.
fn rle_32(
    obj: &DefaultDicomObject,
    attrs: &ImageAttributes,
    index: u32,
) -> Result<StoredFrame, ModalityError> {
    let error = |message: String| ModalityError::Decode {
        syntax: format!("RLE Lossless ({RLE_LOSSLESS})"),
        message,
    };
    let fragments = match obj.get(tags::PIXEL_DATA).map(|e| e.value()) {
        Some(Value::PixelSequence(seq)) => seq.fragments(),
        _ => return Err(error("Pixel Data is not encapsulated".into())),
    };
    let data = fragments
        .get(index as usize)
        .ok_or_else(|| error(format!("no fragment for frame {}", index + 1)))?;
    let header = |i: usize| -> Result<usize, ModalityError> {
        data.get(i * 4..i * 4 + 4)
            .map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize)
            .ok_or_else(|| error("the RLE header is cut short".into()))
    };
    let samples = usize::from(attrs.samples_per_pixel);
    let segments = samples * 4;
    if header(0)? != segments {
        return Err(error(format!(
            "{} segments, {segments} expected for {samples} samples of 32 bits",
            header(0)?
        )));
    }
    let pixels = attrs.rows as usize * attrs.columns as usize;
    let mut raw = vec![0u32; pixels * samples];
    for segment in 0..segments {
        let start = header(segment + 1)?;
        let end = if segment + 1 < segments {
            header(segment + 2)?
        } else {
            data.len()
        };
        let bytes = data
            .get(start..end)
            .ok_or_else(|| error(format!("segment {} lies outside the fragment", segment + 1)))?;
        let plane = packbits(bytes, pixels)
            .ok_or_else(|| error(format!("segment {} is short or malformed", segment + 1)))?;
        let (sample, shift) = (segment / 4, 8 * (3 - segment % 4));
        for (n, &b) in plane.iter().enumerate() {
            raw[n * samples + sample] |= u32::from(b) << shift;
        }
    }
    let unpack = Unpack::new(attrs, true);
    let values = raw
        .into_iter()
        .map(|v| unpack.value(v))
        .collect::<Result<Vec<i32>, _>>()?;
    Ok(StoredFrame {
        values,
        photometric: attrs.photometric,
        planar_configuration: 0,
    })
}

/// PackBits (PS3.5 G.3.1): `n` bytes decoded, or `None` when the segment is short.
fn packbits(mut input: &[u8], n: usize) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(n);
    while out.len() < n {
        let (&header, rest) = input.split_first()?;
        let header = header as i8;
        if header >= 0 {
            let count = header as usize + 1;
            out.extend_from_slice(rest.get(..count)?);
            input = &rest[count..];
        } else if header != -128 {
            let (&byte, rest) = rest.split_first()?;
            out.extend(std::iter::repeat_n(
                byte,
                (1 - isize::from(header)) as usize,
            ));
            input = rest;
        } else {
            input = rest;
        }
    }
    out.truncate(n);
    Some(out)
}

/// JPEG Baseline (Process 1): 8-bit samples.
const JPEG_BASELINE: &str = "1.2.840.10008.1.2.4.50";
/// JPEG Extended (Process 2 & 4): 8-bit samples through jpeg-decoder, 12-bit ones
/// through [`super::jpeg12`].
const JPEG_EXTENDED: &str = "1.2.840.10008.1.2.4.51";

/// The bytes of frame `index`'s fragments (PS3.5 A.4): by the Basic Offset Table when
/// it has an offset per frame, else one fragment per frame when there are as many
/// fragments as frames, else every fragment when there is one frame.
fn frame_bytes(
    obj: &DefaultDicomObject,
    attrs: &ImageAttributes,
    index: u32,
) -> Result<Vec<u8>, String> {
    let Some(Value::PixelSequence(seq)) = obj.get(tags::PIXEL_DATA).map(|e| e.value()) else {
        return Err("Pixel Data is not encapsulated".into());
    };
    let fragments = seq.fragments();
    let offsets = seq.offset_table();
    let frames = attrs.frames as usize;
    let index = index as usize;
    if frames == 1 {
        return Ok(fragments.concat());
    }
    if offsets.len() == frames {
        // Each fragment is an item: 8 bytes of tag and length, then its bytes.
        let start = u64::from(offsets[index]);
        let end = offsets.get(index + 1).map_or(u64::MAX, |&o| u64::from(o));
        if start >= end {
            return Err(format!(
                "Basic Offset Table entry {} is out of order",
                index + 1
            ));
        }
        let mut position = 0u64;
        let mut bytes = Vec::new();
        for fragment in fragments {
            if (start..end).contains(&position) {
                bytes.extend_from_slice(fragment);
            }
            position += 8 + fragment.len() as u64;
        }
        if bytes.is_empty() {
            return Err(format!("no fragment at the offset of frame {}", index + 1));
        }
        return Ok(bytes);
    }
    if fragments.len() == frames {
        return Ok(fragments[index].clone());
    }
    Err(format!(
        "{} fragments for {frames} frames and no Basic Offset Table: which fragments hold frame {} is unknown",
        fragments.len(),
        index + 1
    ))
}

/// Sequential DCT JPEG of 12-bit samples (ISO 10918-1 process 4) by [`super::jpeg12`]:
/// the file's photometric interpretation (no colour transform), interleaved.
fn jpeg_12(
    data: &[u8],
    attrs: &ImageAttributes,
    syntax: &str,
) -> Result<StoredFrame, ModalityError> {
    let error = |message: String| ModalityError::Decode {
        syntax: syntax.to_string(),
        message,
    };
    let decoded = super::jpeg12::decode(data, attrs.rows, attrs.columns).map_err(error)?;
    if (decoded.rows, decoded.columns, u16::from(decoded.components))
        != (attrs.rows, attrs.columns, attrs.samples_per_pixel)
    {
        return Err(error(format!(
            "the JPEG frame is {} × {} × {} samples; the data set says {} rows × {} columns × {}",
            decoded.rows,
            decoded.columns,
            decoded.components,
            attrs.rows,
            attrs.columns,
            attrs.samples_per_pixel
        )));
    }
    let unpack = Unpack::new(attrs, false);
    let values = decoded
        .values
        .into_iter()
        .map(|v| unpack.value(v as u32))
        .collect::<Result<Vec<i32>, _>>()?;
    // Three components are decoded at full resolution, so 4:2:2 data is now one Y, Cb
    // and Cr per pixel.
    let photometric = match attrs.photometric {
        StoredPhotometric::YbrFull422 => StoredPhotometric::YbrFull,
        p => p,
    };
    Ok(StoredFrame {
        values,
        photometric,
        planar_configuration: 0,
    })
}

/// An error with its causes, "outer: inner: innermost" (the registry's decoders wrap
/// the decoder's own message, which says what was wrong).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

/// What the registry's decoders leave, by transfer syntax (read from their sources,
/// dicom-transfer-syntax-registry 0.10.1, and checked against pydicom in
/// tests/it/modality.rs):
/// - RLE Lossless: the colour space as stored (YBR_FULL stays YBR_FULL), interleaved.
/// - JPEG Baseline and Extended (1.2.840.10008.1.2.4.50, .51): jpeg-decoder turns three
///   components into RGB (upsampling YBR_FULL_422), interleaved.
/// - JPEG Lossless (.57, .70): no colour transform, interleaved.
/// - JPEG 2000 / HTJ2K: openjp2 undoes the component transform (YBR_ICT, YBR_RCT, read
///   as RGB in the attributes), interleaved.
/// - JPEG-LS (.80, .81): CharLS leaves the colour space, and the scan's layout: plane
///   after plane when the scan is not interleaved (ILV 0), interleaved otherwise.
fn decoded_layout(
    uid: &str,
    attrs: &ImageAttributes,
    obj: &DefaultDicomObject,
) -> (StoredPhotometric, u16) {
    let color = attrs.samples_per_pixel == 3;
    match uid {
        "1.2.840.10008.1.2.4.50" | "1.2.840.10008.1.2.4.51" if color => (StoredPhotometric::Rgb, 0),
        "1.2.840.10008.1.2.4.80" | "1.2.840.10008.1.2.4.81" if color => {
            let planar = match jpeg_ls_interleave(obj) {
                Some(0) => 1,
                _ => 0,
            };
            (attrs.photometric, planar)
        }
        _ => (attrs.photometric, 0),
    }
}

/// The interleave mode (ILV) of the first scan of frame 1's JPEG-LS data (ISO 14495-1
/// C.2.3: SOS = FFDA, Ls, Ns, Ns × (Ci, Tmi), NEAR, ILV, …).
fn jpeg_ls_interleave(obj: &DefaultDicomObject) -> Option<u8> {
    let fragments = match obj.get(tags::PIXEL_DATA)?.value() {
        Value::PixelSequence(seq) => seq.fragments(),
        _ => return None,
    };
    let data = fragments.first()?;
    let sos = data.windows(2).position(|w| w == [0xff, 0xda])?;
    let components = usize::from(*data.get(sos + 4)?);
    data.get(sos + 5 + 2 * components + 1).copied()
}

#[cfg(test)]
#[path = "tests/decode.rs"]
mod tests;
