//! PDF output: one page per composed film, each page a single 8-bit image XObject
//! (FlateDecode) covering the whole MediaBox, so the film's pixels reach the PDF without
//! resampling or lossy compression.
//!
//! The file is PDF/A-2b (ISO 19005-2, level B), for archiving: PDF 1.7 header with a
//! binary comment (6.1.2), trailer `/ID` (6.1.3), an sRGB output intent with its ICC
//! profile (6.2.3), every image in an `ICCBased` colour space, gray pages with filmd's
//! gray profile and RGB pages with sRGB (6.2.4.2), and an XMP metadata stream that agrees
//! with the Info dictionary (6.6). Nothing PDF/A forbids is written: no encryption, LZW,
//! transparency, JavaScript, fonts or annotations. See [`super::pdfa`] for the metadata.
//!
//! The image is compressed here, not by lopdf: PNG-filtered rows deflated in strips
//! ([`super::deflate`]), declared with `/DecodeParms << /Predictor 15 … >>` (ISO 32000-1
//! 7.4.4.4, Table 8), which PDF/A-2 allows (ISO 19005-2 6.1.7 restricts only the filter
//! names: LZW and Crypt). A caller that compressed the strips while composing hands the
//! stream to [`PdfBuilder::add_compressed_page`].

use super::deflate::zlib_predicted;
use super::icc;
pub use super::pdfa::{DocumentInfo, FilmMetadata};
use super::pdfa::{DocumentText, Identifiers, text_string, xmp_packet};
use crate::film::{Page, PageShape};
use lopdf::{Dictionary, Document, Object, ObjectId, Stream, StringFormat, dictionary};

/// Name of each page's image in its resources.
const IMAGE_NAME: &str = "Im0";

/// The output condition the PDF/A output intent names: the sRGB profile's registry name.
pub const OUTPUT_CONDITION: &str = "sRGB IEC61966-2.1";

#[derive(Debug, thiserror::Error)]
pub enum PdfError {
    #[error("a PDF needs at least one page")]
    NoPages,
    #[error("page {index}: {width}x{height}x{channels} needs {expected} bytes, it holds {actual}")]
    PageSize {
        index: usize,
        width: u32,
        height: u32,
        channels: u8,
        expected: usize,
        actual: usize,
    },
    #[error("page {index}: {channels} channels, only 1 (gray) and 3 (RGB) can be written")]
    Channels { index: usize, channels: u8 },
    #[error("PDF writer: {0}")]
    Lopdf(#[from] lopdf::Error),
    #[error("writing the PDF: {0}")]
    Io(#[from] std::io::Error),
}

/// Writes `pages` as one PDF, one PDF page per [`Page`], in order.
pub fn encode_pdf(pages: &[Page], info: &DocumentInfo) -> Result<Vec<u8>, PdfError> {
    let mut builder = PdfBuilder::new()?;
    for page in pages {
        builder.add_page(page)?;
    }
    builder.finish(info)
}

/// Builds a PDF page by page: each page's pixels are compressed as it is added, so a job
/// of many films holds one raw page at a time rather than all of them.
pub struct PdfBuilder {
    doc: Document,
    pages_id: ObjectId,
    kids: Vec<Object>,
    /// The ICC profile streams, each written once and shared by every page that uses it.
    gray_profile: Option<ObjectId>,
    srgb_profile: Option<ObjectId>,
}

impl PdfBuilder {
    pub fn new() -> Result<Self, PdfError> {
        // PDF 1.7 (ISO 32000-1), which PDF/A-2 is based on; lopdf writes the binary
        // comment line after the header (ISO 19005-2 6.1.2).
        let mut doc = Document::with_version("1.7");
        let pages_id = doc.try_new_object_id()?;
        Ok(PdfBuilder {
            doc,
            pages_id,
            kids: Vec::new(),
            gray_profile: None,
            srgb_profile: None,
        })
    }

    /// Appends one page holding `page`'s image, compressed here on every core.
    pub fn add_page(&mut self, page: &Page) -> Result<(), PdfError> {
        check_size(self.kids.len(), page)?;
        let row_bytes = page.width_px as usize * usize::from(page.channels);
        let image = zlib_predicted(&page.pixels, row_bytes, usize::from(page.channels));
        self.add_compressed_page(&page.shape(), image)
    }

    /// Appends one page of `page`'s size and colour whose image is `image`: the zlib
    /// stream of its PNG-filtered rows (one filter tag byte per row, as
    /// [`super::deflate`] writes them), e.g. strips compressed while the page was composed
    /// and joined by [`zlib_from_strips`](super::deflate::zlib_from_strips). The stream is
    /// written as it is; a page that was never held whole has only its shape.
    pub fn add_compressed_page(
        &mut self,
        page: &PageShape,
        image: Vec<u8>,
    ) -> Result<(), PdfError> {
        let index = self.kids.len();
        let profile = match page.channels {
            1 => self.profile(1)?,
            3 => self.profile(3)?,
            channels => return Err(PdfError::Channels { index, channels }),
        };
        let color_space = vec![Object::Name(b"ICCBased".to_vec()), profile.into()];
        let id = add_page(&mut self.doc, self.pages_id, page, image, color_space)?;
        self.kids.push(id.into());
        Ok(())
    }

    /// Appends the pages added so far `times` more times, in order: collated copies for a
    /// printer that makes none. Each extra page is a page dictionary of its own (a page
    /// object may appear once in the page tree, ISO 32000-1 7.7.3.2) sharing the image
    /// and content streams, so a copy costs a few bytes, not a page of pixels.
    pub fn repeat_pages(&mut self, times: u32) -> Result<(), PdfError> {
        let originals = self.kids.clone();
        for _ in 0..times {
            for kid in &originals {
                let page = self.doc.get_object(kid.as_reference()?)?.as_dict()?.clone();
                let id = self.doc.try_add_object(page)?;
                self.kids.push(id.into());
            }
        }
        Ok(())
    }

    /// Pages so far.
    pub fn page_count(&self) -> usize {
        self.kids.len()
    }

    /// The ICC profile stream for `components` (1 gray, 3 sRGB), added on first use.
    fn profile(&mut self, components: u8) -> Result<ObjectId, PdfError> {
        let (slot, bytes) = if components == 1 {
            (&mut self.gray_profile, icc::gray_profile())
        } else {
            (&mut self.srgb_profile, icc::srgb_profile())
        };
        if let Some(id) = *slot {
            return Ok(id);
        }
        // Left uncompressed: a few kilobytes, and no deflate per document.
        let stream = Stream::new(dictionary! { "N" => i64::from(components) }, bytes.to_vec())
            .with_compression(false);
        let id = self.doc.try_add_object(stream)?;
        *slot = Some(id);
        Ok(id)
    }

    /// Writes the document with its metadata: Info dictionary, XMP packet, output intent
    /// and trailer `/ID`.
    pub fn finish(mut self, info: &DocumentInfo) -> Result<Vec<u8>, PdfError> {
        if self.kids.is_empty() {
            return Err(PdfError::NoPages);
        }
        let srgb = self.profile(3)?;
        let text = DocumentText::of(info);
        let ids = Identifiers::of(info);
        let doc = &mut self.doc;
        let count = self.kids.len() as i64;
        doc.objects.insert(
            self.pages_id,
            Object::Dictionary(
                dictionary! { "Type" => "Pages", "Kids" => self.kids, "Count" => count },
            ),
        );
        // Uncompressed, so that the packet can be found by scanning the file (ISO 19005-2
        // 6.6.2.1 does not require it, XMP part 3 recommends it).
        let metadata = Stream::new(
            dictionary! { "Type" => "Metadata", "Subtype" => "XML" },
            xmp_packet(info, &text, &ids).into_bytes(),
        )
        .with_compression(false);
        let metadata_id = doc.try_add_object(metadata)?;
        let output_intent = dictionary! {
            "Type" => "OutputIntent",
            "S" => "GTS_PDFA1",
            "OutputConditionIdentifier" => Object::string_literal(OUTPUT_CONDITION),
            "Info" => Object::string_literal(OUTPUT_CONDITION),
            "DestOutputProfile" => srgb,
        };
        let catalog_id = doc.try_add_object(dictionary! {
            "Type" => "Catalog",
            "Pages" => self.pages_id,
            "Metadata" => metadata_id,
            "OutputIntents" => vec![Object::Dictionary(output_intent)],
        })?;
        let info_id = doc.try_add_object(info_dictionary(&text))?;
        doc.trailer.set("Root", catalog_id);
        doc.trailer.set("Info", info_id);
        let id = Object::String(ids.instance.to_vec(), StringFormat::Hexadecimal);
        doc.trailer.set("ID", vec![id.clone(), id]);
        let mut out = Vec::new();
        doc.save_to(&mut out)?;
        Ok(out)
    }
}

/// A page must be gray or RGB, and its pixels must fill its size exactly.
fn check_size(index: usize, page: &Page) -> Result<(), PdfError> {
    if !matches!(page.channels, 1 | 3) {
        return Err(PdfError::Channels {
            index,
            channels: page.channels,
        });
    }
    let expected = page.width_px as usize * page.height_px as usize * usize::from(page.channels);
    if page.pixels.len() != expected || expected == 0 {
        return Err(PdfError::PageSize {
            index,
            width: page.width_px,
            height: page.height_px,
            channels: page.channels,
            expected,
            actual: page.pixels.len(),
        });
    }
    Ok(())
}

fn add_page(
    doc: &mut Document,
    parent: ObjectId,
    page: &PageShape,
    data: Vec<u8>,
    color_space: Vec<Object>,
) -> Result<ObjectId, PdfError> {
    // PNG predictors, the tag byte of each row saying which (ISO 32000-1 Table 8).
    let decode_parms = dictionary! {
        "Predictor" => 15,
        "Colors" => i64::from(page.channels),
        "BitsPerComponent" => 8,
        "Columns" => i64::from(page.width_px),
    };
    let image = Stream::new(
        dictionary! {
            "Type" => "XObject",
            "Subtype" => "Image",
            "Width" => i64::from(page.width_px),
            "Height" => i64::from(page.height_px),
            "ColorSpace" => color_space,
            "BitsPerComponent" => 8,
            "Filter" => "FlateDecode",
            "DecodeParms" => decode_parms,
        },
        data,
    )
    // Already compressed: lopdf must neither deflate nor filter it again.
    .with_compression(false);
    let image_id = doc.try_add_object(image)?;

    let (w, h) = (pdf_number(page.width_pt), pdf_number(page.height_pt));
    let content = format!("q {w} 0 0 {h} 0 0 cm /{IMAGE_NAME} Do Q");
    let content_id = doc.try_add_object(Stream::new(Dictionary::new(), content.into_bytes()))?;
    let resources = dictionary! { "XObject" => dictionary! { IMAGE_NAME => image_id } };
    let media_box: Vec<Object> = vec![
        0.into(),
        0.into(),
        number(page.width_pt),
        number(page.height_pt),
    ];
    Ok(doc.try_add_object(dictionary! {
        "Type" => "Page",
        "Parent" => parent,
        "MediaBox" => media_box,
        "Resources" => resources,
        "Contents" => content_id,
    })?)
}

/// The Info dictionary: the same values as the XMP packet (ISO 19005-2 6.6.3), empty
/// ones left out of both.
fn info_dictionary(text: &DocumentText) -> Dictionary {
    let mut dict = Dictionary::new();
    for (key, value) in [
        ("Title", &text.title),
        ("Author", &text.author),
        ("Subject", &text.subject),
        ("Creator", &text.creator),
        ("Producer", &text.producer),
    ] {
        if !value.is_empty() {
            dict.set(key, text_string(value));
        }
    }
    for key in ["CreationDate", "ModDate"] {
        dict.set(key, text_string(&text.date_pdf));
    }
    dict
}

/// A whole number as an Integer, anything else as a Real.
fn number(x: f64) -> Object {
    if (x - x.round()).abs() < 1e-6 {
        Object::Integer(x.round() as i64)
    } else {
        Object::Real(x as f32)
    }
}

/// A number for a content stream: at most four decimals, no exponent.
fn pdf_number(x: f64) -> String {
    let text = format!("{x:.4}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests;
