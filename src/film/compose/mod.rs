//! Composition: a film and a device in, a page of device pixels out.
//!
//! The page is filled with Border Density; the printable area (the page less the device
//! margin) is divided into image boxes by the Image Display Format. An image box without
//! an image gets Empty Image Density; an image is fitted into its box keeping its aspect
//! ratio (Pixel Aspect Ratio honoured), centred, and the rest of the box stays Border
//! Density. Grayscale images print through their box's [`ToneMap`] (PS3.14); RGB images
//! pass through (PS3.4 H.4.2.2.1 applies the GSDF to grayscale only).
//!
//! Where and how large an image is drawn (Magnification Type, Smoothing Type, Pixel Aspect
//! Ratio, Requested Image Size, Requested Decimate/Crop Behavior) is [`placement`]'s
//! business; the kernels are [`resample`]'s: REPLICATE is pixel replication (area average
//! when shrinking), BILINEAR the triangle filter, CUBIC the Smoothing Type's cubic
//! (SHARP Catmull-Rom, MEDIUM Mitchell–Netravali, SMOOTH B-spline).
//!
//! The work is split for the cores in two phases: a plan ([`plan`]: every box's place,
//! its samples tone mapped to device values and resampled horizontally, boxes and row
//! ranges of one large image shared among threads), then strips of [`STRIP_ROWS`] rows
//! ([`paint`]), each finished completely (border, boxes, vertical pass, frames,
//! annotations) by one thread and handed to the caller's sink there: written in place in
//! the one page buffer ([`compose`], [`compose_with`]), or into a buffer of the painting
//! thread that its next strip paints over, for encoders that never need the page whole
//! ([`compose_streamed`]). Strips depend on the plan only, never on each other: the page is
//! the same whatever the number of threads or the order the strips are painted in. A
//! composition alone uses up to four threads; several at once share the cores.
//!
//! [`placement`]: super::placement
//! [`resample`]: super::resample

mod paint;
mod plan;
#[cfg(test)]
mod tests;

use super::layout::{Bounds, PrintableArea};
use super::model::{Device, Film, Image, ImageBox, Magnification, Page, PageShape};
use super::placement::{self, Placement, Request};
use super::size::{MM_PER_INCH, PageGeometry};
use std::sync::{Mutex, PoisonError};

/// The printable area of `film` on `device`, and what the annotation bands leave of it
/// for the image boxes.
fn areas(film: &Film, device: &Device) -> (PrintableArea, super::bands::Bands) {
    let printable = PrintableArea::new(
        film.size,
        film.orientation,
        device.dpi,
        device.margin_mm,
        device.gap_mm,
    );
    let bands = super::bands::reserve(film, device.dpi, printable.rect);
    (printable.within(bands.image_area), bands)
}

/// The area `film`'s image boxes share on `device`'s page: the print service counts the
/// boxes of a film box on it (SLIDE and SUPERSLIDE depend on it).
pub fn image_area(film: &Film, device: &Device) -> PrintableArea {
    areas(film, device).0
}

/// The image boxes of `film` on `device`'s page in Image Box Position order, in device
/// pixels: where [`compose`] draws, and what the print service measures images against.
pub fn image_box_bounds(film: &Film, device: &Device) -> Vec<Bounds> {
    film.display_format.box_bounds(&image_area(film, device))
}

/// How the image of `image_box` lands in a box of `box_w` × `box_h` device pixels at
/// `dpi`, with `magnification` (the image box's own or the film box's).
pub fn placement_in_box(
    image: &Image,
    image_box: &ImageBox,
    magnification: Magnification,
    (box_w, box_h): (usize, usize),
    dpi: u32,
) -> Result<Placement, placement::TooLarge> {
    let request = Request {
        magnification,
        pixel_aspect_ratio: image.pixel_aspect_ratio,
        requested_width_px: image_box
            .requested_image_size_mm
            .map(|mm| mm * f64::from(dpi) / MM_PER_INCH),
        decimate_crop: image_box.decimate_crop,
    };
    placement::place(
        image.columns as usize,
        image.rows as usize,
        box_w,
        box_h,
        &request,
    )
}

/// Composes `film` for `device` into one page.
pub fn compose(film: &Film, device: &Device) -> Page {
    compose_with(film, device, |_| ()).0
}

/// Rows in each strip [`compose_with`] hands to its sink: 64 rows of a 300 dpi 14×17 in
/// page are 269 KB, small enough to be encoded while still in the core's cache.
pub const STRIP_ROWS: usize = 64;

/// A band of composed rows, handed to [`compose_with`]'s sink as soon as it is complete.
#[derive(Debug, Clone, Copy)]
pub struct Strip<'a> {
    /// 0-based, top to bottom.
    pub index: usize,
    /// The page row the strip starts at.
    pub first_row: usize,
    /// Bytes per row: width × channels.
    pub row_bytes: usize,
    /// The strip's rows, `row_bytes` each, top to bottom.
    pub rows: &'a [u8],
}

/// Composes `film` as [`compose`] does, handing each [`Strip`] to `sink` as soon as its
/// rows are final, so that encoding a page overlaps composing it. The sink runs on the
/// thread that composed the strip, strips in any order; its results come back in strip
/// order, beside the whole page.
pub fn compose_with<T: Send>(
    film: &Film,
    device: &Device,
    sink: impl Fn(Strip<'_>) -> T + Sync,
) -> (Page, Vec<T>) {
    let share = Composing::start();
    compose_on(film, device, &sink, share.threads())
}

/// Samples per pixel of `film`'s page on `device`: 3 for a colour film on a colour
/// device, else 1 (a gray-only device prints colour films as their luminance; the plan
/// converts). Encoders that compress strips as they are composed need it beforehand.
pub fn page_channels(film: &Film, device: &Device) -> usize {
    if film.color && !device.gray_only {
        3
    } else {
        1
    }
}

/// Most threads one composition uses: the work is memory-bound beyond a few cores, and
/// the print server composes other films and encodes at the same time.
const MAX_THREADS: usize = 4;

/// Compositions running in this process now, on any thread.
static COMPOSING: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// One composition counted in [`COMPOSING`] while it lives.
///
/// Why: a composition alone (one N-ACTION, `filmd render`) should use every core (up to
/// four), but when the spool composes several films at once, each already has a core;
/// splitting each film again only adds threads to start, strips to hand between cores and
/// caches to share. In W3 (three films at a time on two cores) the server's compose CPU
/// per film fell about 9% when each film kept to one thread.
struct Composing;

impl Composing {
    fn start() -> Composing {
        COMPOSING.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Composing
    }

    /// The cores shared among the compositions running now, at least one.
    fn threads(&self) -> usize {
        let running = COMPOSING.load(std::sync::atomic::Ordering::Relaxed).max(1);
        (crate::os::cores() / running).clamp(1, MAX_THREADS)
    }
}

impl Drop for Composing {
    fn drop(&mut self) {
        COMPOSING.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Composes `film` as [`compose_with`] does without ever holding the page: each strip is
/// painted into a buffer of the thread that paints it, handed to `sink`, and the buffer
/// is painted over by that thread's next strip. What the sink keeps of a strip (its
/// compressed bytes, a preview's share) is all that is left of it.
///
/// Why: an encoder that takes strips needs no page. A 14×17 in page is 21 MB at 300 dpi
/// and 86 MB at 600 dpi (three times that in colour); allocating it costs a page fault and
/// the kernel's zeroing for every 4 KiB of it, writing it whole spills it from the cores'
/// caches to memory, and a server composing three films at once holds three of them.
/// A strip's buffer stays in its core's cache from painting to encoding.
pub fn compose_streamed<T: Send>(
    film: &Film,
    device: &Device,
    sink: impl Fn(Strip<'_>) -> T + Sync,
) -> (PageShape, Vec<T>) {
    let share = Composing::start();
    compose_streamed_on(film, device, &sink, share.threads())
}

/// The size, resolution and colour of `film`'s page on `device`, before it is composed.
pub fn page_shape(film: &Film, device: &Device) -> PageShape {
    let geometry = PageGeometry::new(film.size, film.orientation, device.dpi);
    PageShape {
        width_px: geometry.width_px,
        height_px: geometry.height_px,
        width_pt: geometry.width_pt,
        height_pt: geometry.height_pt,
        dpi: device.dpi,
        channels: page_channels(film, device) as u8,
    }
}

/// The page's shape and the plan of its composition on `threads` threads.
fn planned<'f>(film: &'f Film, device: &Device, threads: usize) -> (PageShape, plan::Plan<'f>) {
    let shape = page_shape(film, device);
    let size = (
        shape.width_px as usize,
        shape.height_px as usize,
        usize::from(shape.channels),
    );
    (shape, plan::Plan::new(film, device, size, threads))
}

/// [`compose_with`] on `threads` threads (the caller's included).
fn compose_on<T: Send>(
    film: &Film,
    device: &Device,
    sink: &(impl Fn(Strip<'_>) -> T + Sync),
    threads: usize,
) -> (Page, Vec<T>) {
    let (shape, plan) = planned(film, device, threads);
    let (height, row_bytes) = (shape.height_px as usize, shape.row_bytes());
    // Zeroed memory from the allocator: each page of it is first touched by the thread
    // that paints its strip.
    let mut pixels = vec![0u8; row_bytes * height];
    crate::os::advise_huge_pages(&mut pixels);
    let strips: Vec<(usize, &mut [u8])> = pixels
        .chunks_mut(STRIP_ROWS * row_bytes.max(1))
        .enumerate()
        .collect();
    let results = parallel_map(threads, strips, |(index, rows)| {
        let first_row = index * STRIP_ROWS;
        plan.paint(rows, first_row);
        sink(Strip {
            index,
            first_row,
            row_bytes,
            rows,
        })
    });
    (shape.with_pixels(pixels), results)
}

/// [`compose_streamed`] on `threads` threads (the caller's included).
fn compose_streamed_on<T: Send>(
    film: &Film,
    device: &Device,
    sink: &(impl Fn(Strip<'_>) -> T + Sync),
    threads: usize,
) -> (PageShape, Vec<T>) {
    let (shape, plan) = planned(film, device, threads);
    let (height, row_bytes) = (shape.height_px as usize, shape.row_bytes());
    if row_bytes == 0 {
        return (shape, Vec::new());
    }
    let strips: Vec<usize> = (0..height.div_ceil(STRIP_ROWS)).collect();
    let results = parallel_map_with(threads, strips, Vec::new, |buffer: &mut Vec<u8>, index| {
        let first_row = index * STRIP_ROWS;
        let len = STRIP_ROWS.min(height - first_row) * row_bytes;
        // Zeroed once per thread: `paint` writes every byte of a strip.
        buffer.resize(len, 0);
        let rows = &mut buffer[..len];
        plan.paint(rows, first_row);
        sink(Strip {
            index,
            first_row,
            row_bytes,
            rows,
        })
    });
    (shape, results)
}

/// `work` on every unit, on up to `threads` threads taking the next unit as they finish
/// one (units differ in cost); the results in the units' order.
fn parallel_map<U: Send, R: Send>(
    threads: usize,
    units: Vec<U>,
    work: impl Fn(U) -> R + Sync,
) -> Vec<R> {
    parallel_map_with(threads, units, || (), |_, unit| work(unit))
}

/// [`parallel_map`] where each thread has a state of its own, made by `init` when the
/// thread starts and handed to `work` with every unit it takes (a buffer to reuse).
fn parallel_map_with<U: Send, R: Send, S>(
    threads: usize,
    units: Vec<U>,
    init: impl Fn() -> S + Sync,
    work: impl Fn(&mut S, U) -> R + Sync,
) -> Vec<R> {
    let count = units.len();
    if threads <= 1 || count <= 1 {
        let mut state = init();
        return units.into_iter().map(|u| work(&mut state, u)).collect();
    }
    let queue = Mutex::new(units.into_iter().enumerate());
    let worker = || {
        let mut state = init();
        let mut done = Vec::new();
        loop {
            // A panicking unit cannot poison the queue: the lock is held only to pop.
            let next = queue.lock().unwrap_or_else(PoisonError::into_inner).next();
            let Some((at, unit)) = next else {
                return done;
            };
            done.push((at, work(&mut state, unit)));
        }
    };
    let mut all = std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..threads.min(count))
            .map(|_| scope.spawn(worker))
            .collect();
        let mut all = worker();
        for helper in helpers {
            match helper.join() {
                Ok(done) => all.extend(done),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        all
    });
    all.sort_unstable_by_key(|&(at, _)| at);
    all.into_iter().map(|(_, result)| result).collect()
}

/// The gray of an sRGB pixel printed on a gray-only device: the same relative luminance
/// (IEC 61966-2-1 decoding, Rec. 709 / sRGB weights 0.2126, 0.7152, 0.0722, encoded
/// again), so that neutral colours keep their value and a colour keeps its lightness.
fn luminance_gray(rgb: &[u8]) -> u8 {
    let table = srgb_linear_table();
    let y = 0.2126 * table[rgb[0] as usize]
        + 0.7152 * table[rgb[1] as usize]
        + 0.0722 * table[rgb[2] as usize];
    // Encoded values are monotonic in linear light: the gray is the encoded value whose
    // linear light is nearest y.
    let i = table.partition_point(|&l| l < y);
    if i == 0 {
        0
    } else if i >= 256 || (y - table[i - 1]) <= (table[i] - y) {
        (i - 1) as u8
    } else {
        i as u8
    }
}

/// Linear light of every 8-bit sRGB-encoded value.
fn srgb_linear_table() -> &'static [f64; 256] {
    static TABLE: std::sync::OnceLock<[f64; 256]> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        std::array::from_fn(|v| {
            let e = v as f64 / 255.0;
            if e <= 0.040_45 {
                e / 12.92
            } else {
                ((e + 0.055) / 1.055).powf(2.4)
            }
        })
    })
}
