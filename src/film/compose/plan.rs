//! The first phase of composition: where every image box's content goes, its samples as
//! device values, and the horizontal resampling pass, so that strips only have to run the
//! vertical pass. The heavy part runs on all threads in units of [`ROWS_PER_UNIT`] source
//! rows, so that one large image uses every core as twenty small ones do.

use super::super::bands::{self, Placed};
use super::super::density::{ToneMap, ToneParams, area_gray};
use super::super::model::{Magnification, Photometric, Polarity, Smoothing};
use super::super::resample::{Filter, Kernels, Resampler};
use super::placement_in_box;
use super::{Bounds, Device, Film, Image, ImageBox, areas, luminance_gray, parallel_map};
use std::sync::Arc;

/// Source rows per unit of work of the horizontal pass.
const ROWS_PER_UNIT: usize = 32;

/// Everything the strips need, read-only.
pub(super) struct Plan<'f> {
    pub(super) width: usize,
    pub(super) channels: usize,
    pub(super) border: u8,
    pub(super) paintings: Vec<Painting<'f>>,
    pub(super) texts: Vec<Placed>,
    pub(super) ink: u8,
}

/// What one image box puts on the page, in Image Box Position order.
pub(super) enum Painting<'f> {
    /// An empty box (Empty Image Density), or one whose image cannot be drawn.
    Fill { bounds: Bounds, gray: u8 },
    /// An image at `at`; with Trim, a frame `frame` pixels wide around it inside `within`.
    Image {
        at: Bounds,
        within: Bounds,
        frame: Option<usize>,
        content: Content<'f>,
    },
}

/// An image's pixels, as far as the plan takes them.
pub(super) enum Content<'f> {
    /// Magnification NONE: the kept part's device samples, one row per page row.
    Copy { source: Rows<'f>, samples: Vec<u8> },
    /// Resampled: the horizontal pass's intermediate, for the strips' vertical pass.
    Scaled {
        source: Rows<'f>,
        resampler: Arc<Resampler>,
        intermediate: Vec<i16>,
    },
}

impl Content<'_> {
    /// Samples per pixel: 1 (gray, expanded to R = G = B on a colour page) or 3.
    pub(super) fn channels(&self) -> usize {
        match self {
            Content::Copy { source, .. } | Content::Scaled { source, .. } => {
                source.mapping.channels()
            }
        }
    }
}

/// The kept rectangle of an image's pixel data and how its samples become device values.
pub(super) struct Rows<'f> {
    data: &'f [u8],
    columns: usize,
    /// (x, y, width, height) of the part drawn, in image pixels.
    kept: (usize, usize, usize, usize),
    mapping: Mapping,
}

/// How stored samples become device samples.
enum Mapping {
    /// Grayscale through the box's tone map (PS3.14); `wide`: 2 bytes per sample.
    Tone { table: Arc<[u8]>, wide: bool },
    /// RGB passed through, XOR `invert` (0xff for REVERSE).
    Rgb { invert: u8 },
    /// RGB on a grayscale page: its luminance, XOR `invert`.
    Luminance { invert: u8 },
}

impl Mapping {
    fn channels(&self) -> usize {
        match self {
            Mapping::Rgb { .. } => 3,
            Mapping::Tone { .. } | Mapping::Luminance { .. } => 1,
        }
    }
}

impl Rows<'_> {
    /// Kept row `row` as device samples into `out` (kept width × channels).
    fn row(&self, row: usize, out: &mut [u8]) {
        let (x, y, width, _) = self.kept;
        let first = (y + row) * self.columns + x;
        match &self.mapping {
            Mapping::Tone { table, wide } => {
                let last = table.len() - 1;
                if *wide {
                    let bytes = &self.data[first * 2..(first + width) * 2];
                    for (o, b) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                        *o = table[usize::from(u16::from_le_bytes([b[0], b[1]])).min(last)];
                    }
                } else {
                    for (o, &v) in out.iter_mut().zip(&self.data[first..first + width]) {
                        *o = table[usize::from(v).min(last)];
                    }
                }
            }
            Mapping::Rgb { invert } => {
                let rgb = &self.data[first * 3..(first + width) * 3];
                for (o, &v) in out.iter_mut().zip(rgb) {
                    *o = v ^ invert;
                }
            }
            Mapping::Luminance { invert } => {
                let rgb = &self.data[first * 3..(first + width) * 3];
                for (o, px) in out.iter_mut().zip(rgb.chunks_exact(3)) {
                    *o = luminance_gray(px) ^ invert;
                }
            }
        }
    }
}

/// One unit of the plan's parallel work.
enum Unit<'a, 'f> {
    Copy {
        source: &'a Rows<'f>,
        samples: &'a mut [u8],
    },
    Scale {
        source: &'a Rows<'f>,
        resampler: &'a Resampler,
        first_row: usize,
        intermediate: &'a mut [i16],
    },
}

impl<'f> Plan<'f> {
    /// The plan of `film` on a `width × height` page of `channels`, its heavy part on
    /// `threads` threads.
    pub(super) fn new(
        film: &'f Film,
        device: &Device,
        (width, height, channels): (usize, usize, usize),
        threads: usize,
    ) -> Plan<'f> {
        let (area, band_layout) = areas(film, device);
        let empty = area_gray(film.empty_image_density, device);
        let frame = film.trim.then_some((device.dpi / 150).max(1) as usize);
        let mut paintings = Vec::new();
        let mut shared = Shared::default();
        for (index, bounds) in film
            .display_format
            .box_bounds(&area)
            .into_iter()
            .enumerate()
        {
            let image_box = film
                .image_boxes
                .iter()
                .find(|b| b.position as usize == index + 1);
            match image_box.and_then(|b| b.image.as_ref().map(|image| (b, image))) {
                Some((image_box, image)) => {
                    let page = (width, height, channels);
                    match plan_image(bounds, film, device, image_box, image, page, &mut shared) {
                        Planned::Nothing => {}
                        Planned::Empty => paintings.push(Painting::Fill {
                            bounds,
                            gray: empty,
                        }),
                        Planned::Content(at, content) => paintings.push(Painting::Image {
                            at,
                            within: bounds,
                            frame,
                            content,
                        }),
                    }
                }
                None => paintings.push(Painting::Fill {
                    bounds,
                    gray: empty,
                }),
            }
        }
        run_first_pass(&mut paintings, threads);
        let (texts, ink) = bands::prepare(&band_layout, film, device);
        Plan {
            width,
            channels,
            border: area_gray(film.border_density, device),
            paintings,
            texts,
            ink,
        }
    }
}

/// Tone maps and resamples horizontally every image of `paintings`, in parallel.
fn run_first_pass(paintings: &mut [Painting], threads: usize) {
    let mut units = Vec::new();
    for painting in paintings.iter_mut() {
        let Painting::Image { content, .. } = painting else {
            continue;
        };
        match content {
            Content::Copy { source, samples } => units.push(Unit::Copy { source, samples }),
            Content::Scaled {
                source,
                resampler,
                intermediate,
            } => {
                let row_len = resampler.intermediate_row_len().max(1);
                for (chunk, rows) in intermediate.chunks_mut(row_len * ROWS_PER_UNIT).enumerate() {
                    units.push(Unit::Scale {
                        source,
                        resampler,
                        first_row: chunk * ROWS_PER_UNIT,
                        intermediate: rows,
                    });
                }
            }
        }
    }
    parallel_map(threads, units, |unit| match unit {
        Unit::Copy { source, samples } => {
            let row_len = source.kept.2 * source.mapping.channels();
            for (row, out) in samples.chunks_exact_mut(row_len.max(1)).enumerate() {
                source.row(row, out);
            }
        }
        Unit::Scale {
            source,
            resampler,
            first_row,
            intermediate,
        } => {
            let mut samples = vec![0u8; source.kept.2 * source.mapping.channels()];
            let mut scratch = Vec::new();
            let row_len = resampler.intermediate_row_len().max(1);
            for (row, out) in intermediate.chunks_exact_mut(row_len).enumerate() {
                source.row(first_row + row, &mut samples);
                resampler.horizontal(&samples, out, &mut scratch);
            }
        }
    });
}

/// What [`plan_image`] decided for one box.
enum Planned<'f> {
    /// Nothing drawn: the box stays Border Density.
    Nothing,
    /// The box gets Empty Image Density.
    Empty,
    /// The image at these bounds.
    Content(Bounds, Content<'f>),
}

/// Where and how `image` goes into the box `bounds`, with its buffers allocated (the
/// first pass fills them). An image the print service should have refused (too large
/// for its box with FAIL) or whose pixel data is shorter than its header says leaves the
/// box empty.
fn plan_image<'f>(
    bounds: Bounds,
    film: &'f Film,
    device: &Device,
    image_box: &'f ImageBox,
    image: &'f Image,
    (page_width, page_height, page_channels): (usize, usize, usize),
    shared: &mut Shared<'f>,
) -> Planned<'f> {
    let (box_w, box_h) = (bounds.2 - bounds.0, bounds.3 - bounds.1);
    let (cols, rows) = (image.columns as usize, image.rows as usize);
    if box_w == 0 || box_h == 0 || cols == 0 || rows == 0 {
        return Planned::Nothing;
    }
    let magnification = image_box.magnification.unwrap_or(film.magnification);
    let placement =
        match placement_in_box(image, image_box, magnification, (box_w, box_h), device.dpi) {
            Ok(p) => p,
            Err(error) => {
                tracing::error!(%error, position = image_box.position, "image not drawn");
                return Planned::Empty;
            }
        };
    let Some(mapping) = mapping(image, image_box, film, device, page_channels, shared) else {
        tracing::warn!(
            position = image_box.position,
            rows,
            cols,
            len = image.pixels.as_slice().len(),
            "image pixel data shorter than its header says; box left blank"
        );
        return Planned::Empty;
    };
    let (sx, sy, sw, sh) = placement.source;
    let (dx, dy, w, h) = placement.dest;
    let (x, y) = (bounds.0 + dx, bounds.1 + dy);
    let source = Rows {
        data: image.pixels.as_slice(),
        columns: cols,
        kept: (sx, sy, sw, sh),
        mapping,
    };
    let channels = source.mapping.channels();
    let filter = match magnification {
        Magnification::Replicate => Filter::Nearest,
        Magnification::Bilinear => Filter::Bilinear,
        Magnification::Cubic => match image_box.smoothing.unwrap_or_default() {
            Smoothing::Sharp => Filter::CatmullRom,
            Smoothing::Medium => Filter::Mitchell,
            Smoothing::Smooth => Filter::BSpline,
        },
        Magnification::None => {
            // One image pixel per device pixel: the kept part's rows are copied.
            let at = (x, y, x + sw, y + sh);
            if !inside(
                at,
                (page_width, page_height),
                image_box.position,
                sx + sw <= cols,
            ) {
                return Planned::Nothing;
            }
            let samples = vec![0; sw * sh * channels];
            return Planned::Content(at, Content::Copy { source, samples });
        }
    };
    let at = (x, y, x + w, y + h);
    let kept_inside = sx + sw <= cols && sy + sh <= rows;
    if w == 0 || h == 0 || sw == 0 || sh == 0 {
        return Planned::Nothing;
    }
    if !inside(
        at,
        (page_width, page_height),
        image_box.position,
        kept_inside,
    ) {
        return Planned::Nothing;
    }
    let resampler = shared.resampler((sw, sh), (w, h), channels, filter);
    let intermediate = vec![0; resampler.intermediate_len()];
    Planned::Content(
        at,
        Content::Scaled {
            source,
            resampler,
            intermediate,
        },
    )
}

/// Whether an image at `at` lies on the page and reads inside its own pixels; logged
/// when not (placement never gives such a rectangle).
fn inside(at: Bounds, (width, height): (usize, usize), position: u32, kept: bool) -> bool {
    let ok = kept && at.2 <= width && at.3 <= height;
    if !ok {
        tracing::error!(
            ?at,
            position,
            "image region outside the page; image not drawn"
        );
    }
    ok
}

/// How the image's samples become device values: grayscale through the box's tone map;
/// RGB passed through (inverted for REVERSE), reduced to its luminance on a grayscale
/// page. `None` when the pixel data is shorter than rows × columns × samples.
fn mapping<'f>(
    image: &Image,
    image_box: &'f ImageBox,
    film: &'f Film,
    device: &Device,
    page_channels: usize,
    shared: &mut Shared<'f>,
) -> Option<Mapping> {
    let count = image.rows as usize * image.columns as usize;
    let len = image.pixels.as_slice().len();
    if image.photometric == Photometric::Rgb {
        if len < count * 3 {
            return None;
        }
        let invert = if image_box.polarity == Polarity::Reverse {
            0xff
        } else {
            0
        };
        return Some(if page_channels == 3 {
            Mapping::Rgb { invert }
        } else {
            Mapping::Luminance { invert }
        });
    }
    let wide = image.bits_stored > 8;
    if len < count * if wide { 2 } else { 1 } {
        return None;
    }
    let params = ToneParams::for_image_box(film, image_box, image);
    let table = match shared.tables.iter().find(|(p, _)| *p == params) {
        Some((_, table)) => Arc::clone(table),
        None => {
            let table: Arc<[u8]> = ToneMap::new(&params, device).table().into();
            shared.tables.push((params, Arc::clone(&table)));
            table
        }
    };
    Some(Mapping::Tone { table, wide })
}

/// What boxes of one film share: the boxes of a sheet mostly have the same tone
/// parameters and the same scale, and a 12-bit tone map (4096 GSDF evaluations) costs as
/// much as resampling a box.
#[derive(Default)]
struct Shared<'f> {
    tables: Vec<(ToneParams<'f>, Arc<[u8]>)>,
    resamplers: Vec<(ResamplerKey, Arc<Resampler>)>,
}

type ResamplerKey = ((usize, usize), (usize, usize), usize, Filter);

impl Shared<'_> {
    fn resampler(
        &mut self,
        from: (usize, usize),
        to: (usize, usize),
        channels: usize,
        filter: Filter,
    ) -> Arc<Resampler> {
        let key = (from, to, channels, filter);
        if let Some((_, resampler)) = self.resamplers.iter().find(|(k, _)| *k == key) {
            return Arc::clone(resampler);
        }
        let resampler = Arc::new(Resampler::new(
            from,
            to,
            channels,
            filter,
            Kernels::Detected,
        ));
        self.resamplers.push((key, Arc::clone(&resampler)));
        resampler
    }
}
