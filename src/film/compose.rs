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
//! [`placement`]: super::placement
//! [`resample`]: super::resample

use super::density::{ToneMap, ToneParams, area_gray};
use super::layout::{Bounds, PrintableArea};
use super::model::{
    Device, Film, Image, ImageBox, Magnification, Page, Photometric, Polarity, Smoothing,
};
use super::placement::{self, Placement, Request};
use super::resample::{Filter, Region, Source, Target, resample};
use super::size::PageGeometry;

use super::size::MM_PER_INCH;

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
    let geometry = PageGeometry::new(film.size, film.orientation, device.dpi);
    // A gray-only device prints colour films as their luminance (device_samples converts).
    let channels: usize = if film.color && !device.gray_only {
        3
    } else {
        1
    };
    let (width, height) = (geometry.width_px as usize, geometry.height_px as usize);
    let mut canvas = Canvas {
        pixels: vec![area_gray(film.border_density, device); width * height * channels],
        width,
        height,
        channels,
    };

    let (area, bands) = areas(film, device);
    let empty = area_gray(film.empty_image_density, device);
    let frame = (device.dpi / 150).max(1) as usize;

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
                if let Some(placed) =
                    place_image(&mut canvas, bounds, film, device, image_box, image)
                    && film.trim
                {
                    canvas.draw_frame(placed, bounds, frame);
                }
            }
            None => canvas.fill(bounds, empty),
        }
    }

    super::bands::draw(&bands, film, device, &mut canvas.raster());

    Page {
        width_px: geometry.width_px,
        height_px: geometry.height_px,
        width_pt: geometry.width_pt,
        height_pt: geometry.height_pt,
        dpi: device.dpi,
        channels: channels as u8,
        pixels: canvas.pixels,
    }
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
/// rows are final, so that encoding a page overlaps composing it. The sink's results come
/// back in strip order, beside the whole page.
pub fn compose_with<T: Send>(
    film: &Film,
    device: &Device,
    sink: impl Fn(Strip<'_>) -> T + Sync,
) -> (Page, Vec<T>) {
    let page = compose(film, device);
    let row_bytes = page.width_px as usize * usize::from(page.channels);
    let results = page
        .pixels
        .chunks(STRIP_ROWS * row_bytes.max(1))
        .enumerate()
        .map(|(index, rows)| {
            sink(Strip {
                index,
                first_row: index * STRIP_ROWS,
                row_bytes,
                rows,
            })
        })
        .collect();
    (page, results)
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

struct Canvas {
    pixels: Vec<u8>,
    width: usize,
    height: usize,
    channels: usize,
}

impl Canvas {
    fn raster(&mut self) -> super::text::Raster<'_> {
        super::text::Raster {
            pixels: &mut self.pixels,
            width: self.width,
            height: self.height,
            channels: self.channels,
        }
    }

    fn stride(&self) -> usize {
        self.width * self.channels
    }

    /// Writes one row of samples with `channels` each at (x, y); gray samples on a colour
    /// canvas become R = G = B.
    fn put_row(&mut self, x: usize, y: usize, samples: &[u8], channels: usize) {
        let c = self.channels;
        let start = y * self.stride() + x * c;
        let pixels = samples.len() / channels;
        let row = &mut self.pixels[start..start + pixels * c];
        if channels == c {
            row.copy_from_slice(samples);
        } else {
            for (pixel, &gray) in row.chunks_exact_mut(c).zip(samples) {
                pixel.fill(gray);
            }
        }
    }

    fn fill(&mut self, (x0, y0, x1, y1): Bounds, gray: u8) {
        let (stride, c) = (self.stride(), self.channels);
        for row in self.pixels.chunks_exact_mut(stride).take(y1).skip(y0) {
            row[x0 * c..x1 * c].fill(gray);
        }
    }

    /// A frame `thickness` pixels wide just outside `image`, kept inside `within`: where
    /// the image touches the edge of its box the frame lies on the image's own edge.
    fn draw_frame(&mut self, image: Bounds, within: Bounds, thickness: usize) {
        let x0 = image.0.saturating_sub(thickness).max(within.0);
        let y0 = image.1.saturating_sub(thickness).max(within.1);
        let x1 = (image.2 + thickness).min(within.2);
        let y1 = (image.3 + thickness).min(within.3);
        if x1 <= x0 || y1 <= y0 {
            return;
        }
        let t = thickness.min((x1 - x0) / 2).min((y1 - y0) / 2).max(1);
        self.fill((x0, y0, x1, (y0 + t).min(y1)), 0);
        self.fill((x0, y1.saturating_sub(t).max(y0), x1, y1), 0);
        self.fill((x0, y0, (x0 + t).min(x1), y1), 0);
        self.fill((x1.saturating_sub(t).max(x0), y0, x1, y1), 0);
    }
}

/// Draws `image` into the box `bounds`; returns where the image landed, or `None` when
/// nothing was drawn (an empty box, pixel data that does not match its header, or an image
/// the print service should have refused: too large for its box with FAIL).
fn place_image(
    canvas: &mut Canvas,
    bounds: Bounds,
    film: &Film,
    device: &Device,
    image_box: &ImageBox,
    image: &Image,
) -> Option<Bounds> {
    let (box_w, box_h) = (bounds.2 - bounds.0, bounds.3 - bounds.1);
    let (cols, rows) = (image.columns as usize, image.rows as usize);
    if box_w == 0 || box_h == 0 || cols == 0 || rows == 0 {
        return None;
    }
    let magnification = image_box.magnification.unwrap_or(film.magnification);
    let placement =
        match placement_in_box(image, image_box, magnification, (box_w, box_h), device.dpi) {
            Ok(p) => p,
            Err(error) => {
                tracing::error!(%error, position = image_box.position, "image not drawn");
                canvas.fill(bounds, area_gray(film.empty_image_density, device));
                return None;
            }
        };
    let Some(samples) = device_samples(image, image_box, film, device, canvas.channels) else {
        tracing::warn!(
            position = image_box.position,
            rows,
            cols,
            len = image.pixels.as_slice().len(),
            "image pixel data shorter than its header says; box left blank"
        );
        canvas.fill(bounds, area_gray(film.empty_image_density, device));
        return None;
    };
    let sc = samples.channels;
    let (sx, sy, sw, sh) = placement.source;
    let (dx, dy, w, h) = placement.dest;
    let (x, y) = (bounds.0 + dx, bounds.1 + dy);
    let filter = match magnification {
        Magnification::Replicate => Filter::Nearest,
        Magnification::Bilinear => Filter::Bilinear,
        Magnification::Cubic => match image_box.smoothing.unwrap_or_default() {
            Smoothing::Sharp => Filter::CatmullRom,
            Smoothing::Medium => Filter::Mitchell,
            Smoothing::Smooth => Filter::BSpline,
        },
        Magnification::None => {
            // One image pixel per device pixel: copy the rows of the part kept.
            for row in 0..sh {
                let from = ((sy + row) * cols + sx) * sc;
                canvas.put_row(x, y + row, &samples.pixels[from..from + sw * sc], sc);
            }
            return Some((x, y, x + sw, y + sh));
        }
    };
    // A cropped image is resampled from the rows and columns it keeps.
    let kept;
    let pixels: &[u8] = if (sw, sh) == (cols, rows) {
        &samples.pixels
    } else {
        kept = samples
            .pixels
            .chunks_exact(cols * sc)
            .skip(sy)
            .take(sh)
            .flat_map(|line| &line[sx * sc..(sx + sw) * sc])
            .copied()
            .collect::<Vec<u8>>();
        &kept
    };
    let src = Source {
        pixels,
        width: sw,
        height: sh,
        channels: sc,
    };
    let result = if sc == canvas.channels {
        let stride = canvas.stride();
        let region = Region {
            x,
            y,
            width: w,
            height: h,
        };
        resample(
            &src,
            &mut Target {
                pixels: &mut canvas.pixels,
                stride,
                channels: sc,
            },
            region,
            filter,
        )
    } else {
        // Gray on a colour page: scale one channel, then write it as R = G = B.
        let mut scaled = vec![0u8; w * h];
        let region = Region {
            x: 0,
            y: 0,
            width: w,
            height: h,
        };
        let mut target = Target {
            pixels: &mut scaled,
            stride: w,
            channels: 1,
        };
        let result = resample(&src, &mut target, region, filter);
        for (row, line) in scaled.chunks_exact(w).enumerate() {
            canvas.put_row(x, y + row, line, 1);
        }
        result
    };
    if let Err(error) = result {
        tracing::error!(%error, position = image_box.position, "image not drawn");
        return None;
    }
    Some((x, y, x + w, y + h))
}

/// An image's samples as device values, one byte each, interleaved.
struct Samples {
    pixels: Vec<u8>,
    /// 1 or 3; gray stays 1 on a colour page and is expanded when written.
    channels: usize,
}

/// The image's samples as device values: grayscale through the box's tone map; RGB passed
/// through (inverted for REVERSE), reduced to their luminance on a grayscale page. `None`
/// when the pixel data is shorter than rows × columns × samples.
fn device_samples(
    image: &Image,
    image_box: &ImageBox,
    film: &Film,
    device: &Device,
    page_channels: usize,
) -> Option<Samples> {
    let count = image.rows as usize * image.columns as usize;
    let data = image.pixels.as_slice();
    if image.photometric == Photometric::Rgb {
        let rgb = data.get(..count * 3)?;
        let invert = if image_box.polarity == Polarity::Reverse {
            0xff
        } else {
            0
        };
        if page_channels == 3 {
            let pixels = rgb.iter().map(|&v| v ^ invert).collect();
            return Some(Samples {
                pixels,
                channels: 3,
            });
        }
        let pixels = rgb
            .chunks_exact(3)
            .map(|p| luminance_gray(p) ^ invert)
            .collect();
        return Some(Samples {
            pixels,
            channels: 1,
        });
    }

    let tone = ToneMap::new(&ToneParams::for_image_box(film, image_box, image), device);
    let table = tone.table();
    let last = table.len() - 1;
    let pixels = if image.bits_stored <= 8 {
        data.get(..count)?
            .iter()
            .map(|&v| table[usize::from(v).min(last)])
            .collect()
    } else {
        data.get(..count * 2)?
            .chunks_exact(2)
            .map(|b| table[usize::from(u16::from_le_bytes([b[0], b[1]])).min(last)])
            .collect()
    };
    Some(Samples {
        pixels,
        channels: 1,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::film::density::density_gray;
    use crate::film::layout::DisplayFormat;
    use crate::film::model::{AreaDensity, DecimateCrop, Medium, Pixels, PresentationLut};
    use crate::film::size::{FilmSize, Orientation};

    fn device() -> Device {
        Device {
            dpi: 30,
            min_density: 10,
            max_density: 250,
            margin_mm: 0.0,
            gap_mm: 0.0,
            ..Device::default()
        }
    }

    fn film(format: DisplayFormat) -> Film {
        Film {
            display_format: format,
            size: FilmSize::from_id("8INX10IN").expect("film size"),
            orientation: Orientation::Portrait,
            magnification: Magnification::Bilinear,
            border_density: AreaDensity::White,
            empty_image_density: AreaDensity::Black,
            min_density: 10,
            max_density: 250,
            trim: false,
            medium: Medium::Paper,
            illumination: 150,
            reflected_ambient_light: 0,
            presentation_lut: PresentationLut::Identity,
            color: false,
            image_boxes: vec![],
            annotations: vec![],
        }
    }

    fn gray_image(columns: u32, rows: u32, value: u8) -> Image {
        Image {
            rows,
            columns,
            photometric: Photometric::Monochrome2,
            bits_stored: 8,
            pixel_aspect_ratio: (1, 1),
            pixels: Pixels::new(vec![value; (rows * columns) as usize]),
        }
    }

    fn with_image(position: u32, image: Image) -> ImageBox {
        ImageBox {
            image: Some(image),
            ..ImageBox::empty(position)
        }
    }

    fn at(page: &Page, x: usize, y: usize) -> &[u8] {
        let c = usize::from(page.channels);
        let i = (y * page.width_px as usize + x) * c;
        &page.pixels[i..i + c]
    }

    fn tone(film: &Film, value: u16) -> u8 {
        let image_box = film.image_boxes.first().expect("an image box");
        let image = image_box.image.as_ref().expect("an image");
        ToneMap::new(
            &ToneParams::for_image_box(film, image_box, image),
            &device(),
        )
        .map(value)
    }

    #[test]
    fn uniform_image_prints_its_tone_mapped_value_at_the_box_centre() {
        let mut f = film(DisplayFormat::Standard {
            columns: 1,
            rows: 1,
        });
        f.image_boxes.push(with_image(1, gray_image(64, 64, 100)));
        let page = compose(&f, &device());
        assert_eq!(
            (page.width_px, page.height_px, page.channels),
            (240, 300, 1)
        );
        assert_eq!(page.pixels.len(), 240 * 300);
        let expected = tone(&f, 100);
        assert!(expected > 0 && expected < 255);
        assert_eq!(at(&page, 120, 150), &[expected]);
        // The square image leaves border density above and below.
        assert_eq!(at(&page, 120, 2), &[255]);
    }

    #[test]
    fn border_density_fills_the_page_outside_the_boxes() {
        let mut dev = device();
        dev.margin_mm = 10.0;
        let mut f = film(DisplayFormat::Standard {
            columns: 1,
            rows: 1,
        });
        f.empty_image_density = AreaDensity::Hundredths(100);
        let page = compose(&f, &dev);
        assert_eq!(at(&page, 0, 0), &[255]);
        assert_eq!(at(&page, 120, 150), &[density_gray(1.0, &dev)]);
        f.border_density = AreaDensity::Black;
        let page = compose(&f, &dev);
        assert_eq!(at(&page, 0, 0), &[0]);
        assert_eq!(at(&page, 239, 299), &[0]);
    }

    #[test]
    fn empty_boxes_get_empty_image_density() {
        let mut f = film(DisplayFormat::Standard {
            columns: 2,
            rows: 1,
        });
        f.empty_image_density = AreaDensity::White;
        f.border_density = AreaDensity::Black;
        f.image_boxes.push(ImageBox::empty(1));
        let page = compose(&f, &device());
        assert_eq!(
            at(&page, 60, 150),
            &[255],
            "box 1 has an image box without image"
        );
        assert_eq!(at(&page, 180, 150), &[255], "box 2 has no image box at all");
    }

    #[test]
    fn landscape_swaps_page_dimensions() {
        let mut f = film(DisplayFormat::Standard {
            columns: 1,
            rows: 1,
        });
        f.orientation = Orientation::Landscape;
        let page = compose(&f, &device());
        assert_eq!((page.width_px, page.height_px), (300, 240));
        assert!((page.width_pt - 720.0).abs() < 1e-9 && (page.height_pt - 576.0).abs() < 1e-9);
    }

    #[test]
    fn standard_2x2_positions_count_row_by_row() {
        let mut f = film(DisplayFormat::Standard {
            columns: 2,
            rows: 2,
        });
        for (position, value) in [(1, 40), (2, 100), (3, 160), (4, 220)] {
            f.image_boxes
                .push(with_image(position, gray_image(8, 8, value)));
        }
        let page = compose(&f, &device());
        let centres = [(60, 75), (180, 75), (60, 225), (180, 225)];
        let grays: Vec<u8> = centres.iter().map(|&(x, y)| at(&page, x, y)[0]).collect();
        assert!(grays.windows(2).all(|w| w[0] < w[1]), "{grays:?}");
        assert_eq!(grays[0], tone(&f, 40));
    }

    #[test]
    fn wide_image_keeps_its_aspect_ratio_in_a_square_box() {
        let mut f = film(DisplayFormat::Standard {
            columns: 1,
            rows: 1,
        });
        f.size = FilmSize::from_id("14INX14IN").expect("film size");
        f.border_density = AreaDensity::White;
        f.image_boxes.push(with_image(1, gray_image(100, 50, 0)));
        let page = compose(&f, &device()); // 420 × 420 px
        assert_eq!(at(&page, 210, 210), &[0]);
        assert_eq!(at(&page, 210, 100), &[255], "border above");
        assert_eq!(at(&page, 210, 320), &[255], "border below");
        assert_eq!(at(&page, 210, 106), &[0], "image from row 105");
        assert_eq!(at(&page, 1, 210), &[0], "full width");
        // The same image with pixels twice as tall as wide is square.
        f.image_boxes[0]
            .image
            .as_mut()
            .expect("image")
            .pixel_aspect_ratio = (2, 1);
        let page = compose(&f, &device());
        assert_eq!(at(&page, 210, 2), &[0]);
    }

    #[test]
    fn magnification_none_prints_one_pixel_per_device_pixel() {
        let mut f = film(DisplayFormat::Standard {
            columns: 1,
            rows: 1,
        });
        f.magnification = Magnification::None;
        f.image_boxes.push(with_image(1, gray_image(10, 20, 0)));
        let page = compose(&f, &device());
        let black: usize = page.pixels.iter().filter(|&&v| v == 0).count();
        assert_eq!(black, 200);
        assert_eq!(at(&page, 115, 140), &[0]);
        assert_eq!(at(&page, 114, 140), &[255]);
    }

    #[test]
    fn colour_page_keeps_rgb_and_reverse_inverts_it() {
        let mut f = film(DisplayFormat::Standard {
            columns: 2,
            rows: 1,
        });
        f.color = true;
        let rgb = Image {
            rows: 4,
            columns: 4,
            photometric: Photometric::Rgb,
            bits_stored: 8,
            pixel_aspect_ratio: (1, 1),
            pixels: Pixels::new([200u8, 30, 90].repeat(16)),
        };
        f.image_boxes.push(with_image(1, rgb.clone()));
        f.image_boxes.push(ImageBox {
            polarity: Polarity::Reverse,
            ..with_image(2, rgb)
        });
        let page = compose(&f, &device());
        assert_eq!(page.channels, 3);
        assert_eq!(page.pixels.len(), 240 * 300 * 3);
        assert_eq!(at(&page, 60, 150), &[200, 30, 90]);
        assert_eq!(at(&page, 180, 150), &[55, 225, 165]);
        assert_eq!(at(&page, 0, 0), &[255, 255, 255]);
    }

    #[test]
    fn grayscale_on_colour_is_neutral_and_rgb_on_grayscale_is_luma() {
        let mut f = film(DisplayFormat::Standard {
            columns: 1,
            rows: 1,
        });
        f.color = true;
        f.image_boxes.push(with_image(1, gray_image(4, 4, 128)));
        let g = tone(&f, 128);
        assert_eq!(at(&compose(&f, &device()), 120, 150), &[g, g, g]);
        f.magnification = Magnification::None;
        let page = compose(&f, &device());
        assert_eq!(at(&page, 120, 150), &[g, g, g]);
        assert_eq!(page.pixels.iter().filter(|&&v| v == g).count(), 4 * 4 * 3);

        let mut f = film(DisplayFormat::Standard {
            columns: 1,
            rows: 1,
        });
        f.image_boxes.push(with_image(
            1,
            Image {
                rows: 2,
                columns: 2,
                photometric: Photometric::Rgb,
                bits_stored: 8,
                pixel_aspect_ratio: (1, 1),
                pixels: Pixels::new([255u8, 0, 0].repeat(4)),
            },
        ));
        // Pure red keeps its relative luminance 0.2126: sRGB-encoded, gray 127.
        assert_eq!(at(&compose(&f, &device()), 120, 150), &[127]);
        assert_eq!(luminance_gray(&[255, 255, 255]), 255);
        assert_eq!(luminance_gray(&[0, 0, 0]), 0);
        for v in 0..=255u8 {
            assert_eq!(luminance_gray(&[v, v, v]), v, "neutrals keep their value");
        }
        assert_eq!(luminance_gray(&[0, 255, 0]), 220);
        assert_eq!(luminance_gray(&[0, 0, 255]), 76);
    }

    #[test]
    fn a_colour_film_on_a_gray_only_device_prints_gray() {
        let mut f = film(DisplayFormat::Standard {
            columns: 1,
            rows: 1,
        });
        f.color = true;
        f.image_boxes.push(with_image(
            1,
            Image {
                rows: 2,
                columns: 2,
                photometric: Photometric::Rgb,
                bits_stored: 8,
                pixel_aspect_ratio: (1, 1),
                pixels: Pixels::new([255u8, 0, 0].repeat(4)),
            },
        ));
        let gray_only = Device {
            gray_only: true,
            ..device()
        };
        let page = compose(&f, &gray_only);
        assert_eq!(page.channels, 1);
        assert_eq!(page.pixels.len(), 240 * 300);
        assert_eq!(at(&page, 120, 150), &[127]);
        assert_eq!(compose(&f, &device()).channels, 3);
    }

    #[test]
    fn monochrome1_prints_inverted() {
        let mut f = film(DisplayFormat::Standard {
            columns: 2,
            rows: 1,
        });
        let mut mono1 = gray_image(4, 4, 0);
        mono1.photometric = Photometric::Monochrome1;
        f.image_boxes.push(with_image(1, gray_image(4, 4, 0)));
        f.image_boxes.push(with_image(2, mono1));
        let page = compose(&f, &device());
        assert_eq!(at(&page, 60, 150), &[0]);
        assert_eq!(at(&page, 180, 150), &[255]);
    }

    #[test]
    fn twelve_bit_images_map_through_4096_entries() {
        let mut f = film(DisplayFormat::Standard {
            columns: 1,
            rows: 1,
        });
        let image = Image {
            rows: 2,
            columns: 2,
            photometric: Photometric::Monochrome2,
            bits_stored: 12,
            pixel_aspect_ratio: (1, 1),
            pixels: Pixels::new(2048u16.to_le_bytes().repeat(4)),
        };
        f.image_boxes.push(with_image(1, image));
        let expected = tone(&f, 2048);
        assert_eq!(at(&compose(&f, &device()), 120, 150), &[expected]);
    }

    #[test]
    fn short_pixel_data_leaves_the_box_empty_instead_of_panicking() {
        let mut f = film(DisplayFormat::Standard {
            columns: 1,
            rows: 1,
        });
        f.empty_image_density = AreaDensity::Hundredths(120);
        let mut image = gray_image(64, 64, 100);
        image.pixels = Pixels::new(vec![1; 10]);
        f.image_boxes.push(with_image(1, image));
        let page = compose(&f, &device());
        assert_eq!(at(&page, 120, 150), &[density_gray(1.2, &device())]);
    }

    #[test]
    fn trim_frames_each_image() {
        let mut f = film(DisplayFormat::Standard {
            columns: 1,
            rows: 1,
        });
        f.trim = true;
        f.image_boxes.push(with_image(1, gray_image(10, 10, 255)));
        let page = compose(&f, &device()); // image 240 × 240 at y 30..270
        assert_eq!(at(&page, 120, 29), &[0], "frame above");
        assert_eq!(at(&page, 120, 270), &[0], "frame below");
        assert_eq!(
            at(&page, 0, 150),
            &[0],
            "frame on the image edge at the box side"
        );
        assert_eq!(at(&page, 120, 28), &[255]);
        assert_eq!(at(&page, 120, 150), &[255]);
    }

    #[test]
    fn replicate_prints_exact_k_by_k_blocks() {
        let mut f = film(DisplayFormat::Standard {
            columns: 1,
            rows: 1,
        });
        f.magnification = Magnification::Replicate;
        let values: Vec<u8> = vec![0, 60, 120, 180, 240, 30, 90, 150, 210, 250, 20, 100];
        let mut image = gray_image(4, 3, 0);
        image.pixels = Pixels::new(values.clone());
        f.image_boxes.push(with_image(1, image));
        // 240 × 300 box: factor min(240 / 4, 300 / 3) = 60, the image 240 × 180 at y 60.
        let page = compose(&f, &device());
        for (i, &v) in values.iter().enumerate() {
            let (bx, by) = (i % 4 * 60, 60 + i / 4 * 60);
            let expected = tone(&f, u16::from(v));
            for y in by..by + 60 {
                for x in bx..bx + 60 {
                    assert_eq!(at(&page, x, y), &[expected], "pixel ({x},{y}) of block {i}");
                }
            }
        }
        assert_eq!(at(&page, 120, 59), &[255], "border above the image");
        assert_eq!(at(&page, 120, 240), &[255], "border below the image");
    }

    #[test]
    fn cubic_smoothing_types_choose_their_kernel() {
        let mut f = film(DisplayFormat::Standard {
            columns: 1,
            rows: 1,
        });
        f.magnification = Magnification::Cubic;
        let mut image = gray_image(4, 1, 0);
        image.pixels = Pixels::new(vec![0, 0, 200, 200]);
        f.image_boxes.push(with_image(1, image));
        let row = |page: &Page| (0..240).map(|x| at(page, x, 150)[0]).collect::<Vec<u8>>();
        let sharp = row(&compose(&f, &device()));
        f.image_boxes[0].smoothing = Some(Smoothing::Smooth);
        let smooth = row(&compose(&f, &device()));
        let top = tone(&f, 200);
        // Catmull-Rom overshoots the bright side of the edge; the B-spline never does.
        assert!(sharp.iter().any(|&v| v > top), "{sharp:?}");
        assert!(smooth.iter().all(|&v| v <= top), "{smooth:?}");
    }

    #[test]
    fn crop_keeps_the_centre_where_decimate_shrinks_the_whole_image() {
        let mut f = film(DisplayFormat::Standard {
            columns: 1,
            rows: 1,
        });
        // 480 columns: black outer quarters, white middle half; the box is 240 wide.
        let mut image = gray_image(480, 10, 255);
        image.pixels = Pixels::new(
            (0..4800)
                .map(|i| {
                    if (120..360).contains(&(i % 480)) {
                        255
                    } else {
                        0
                    }
                })
                .collect(),
        );
        f.image_boxes.push(ImageBox {
            decimate_crop: Some(DecimateCrop::Crop),
            ..with_image(1, image)
        });
        let page = compose(&f, &device());
        let white = tone(&f, 255);
        // One image pixel per device pixel: the central 240 columns, 10 rows at y 145.
        assert!(
            (0..240).all(|x| at(&page, x, 150) == [white]),
            "only the white middle is printed"
        );
        assert_eq!(at(&page, 120, 144), &[255], "border above the 10 kept rows");
        f.image_boxes[0].decimate_crop = Some(DecimateCrop::Decimate);
        let page = compose(&f, &device());
        assert!(
            at(&page, 2, 150)[0] < 40 && at(&page, 237, 150)[0] < 40,
            "decimated: the black sides show"
        );
    }

    #[test]
    fn requested_image_size_gives_the_printed_width_in_millimetres() {
        let mut f = film(DisplayFormat::Standard {
            columns: 1,
            rows: 1,
        });
        f.image_boxes.push(ImageBox {
            requested_image_size_mm: Some(101.6), // 4 in: 120 px at 30 dpi
            ..with_image(1, gray_image(8, 8, 0))
        });
        let page = compose(&f, &device());
        let black = (0..240)
            .filter(|&x| at(&page, x, 150)[0] == tone(&f, 0))
            .count();
        assert_eq!(black, 120);
        assert_eq!(at(&page, 60, 150), &[tone(&f, 0)]);
        assert_eq!(at(&page, 59, 150), &[255]);
    }
}
