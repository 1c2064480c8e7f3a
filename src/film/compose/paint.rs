//! The second phase of composition: one strip of page rows painted completely from the
//! [`Plan`]: Border Density, empty boxes, the rows of every image crossing the strip
//! (vertical resampling pass, Magnification NONE copies, gray expanded on a colour page),
//! trim frames, and the annotation texts, all clipped to the strip.

use super::super::bands;
use super::super::text::Raster;
use super::Bounds;
use super::plan::{Content, Painting, Plan};

/// The rows of the page one strip holds.
struct StripRows<'a> {
    pixels: &'a mut [u8],
    first_row: usize,
    /// Page rows `first_row..end`.
    end: usize,
    stride: usize,
    channels: usize,
}

impl StripRows<'_> {
    /// The page rows of `y0..y1` inside the strip.
    fn rows(&self, y0: usize, y1: usize) -> std::ops::Range<usize> {
        y0.max(self.first_row)..y1.min(self.end)
    }

    /// Pixels `x0..x1` of page row `y` (inside the strip).
    fn span(&mut self, y: usize, x0: usize, x1: usize) -> &mut [u8] {
        let at = (y - self.first_row) * self.stride;
        &mut self.pixels[at + x0 * self.channels..at + x1 * self.channels]
    }

    fn fill(&mut self, (x0, y0, x1, y1): Bounds, gray: u8) {
        if x1 <= x0 {
            return;
        }
        for y in self.rows(y0, y1) {
            self.span(y, x0, x1).fill(gray);
        }
    }

    /// Writes `samples` of `channels` each at (x, y); gray samples on a colour page become
    /// R = G = B.
    fn put(&mut self, (x, y): (usize, usize), samples: &[u8], channels: usize) {
        let page_channels = self.channels;
        let row = self.span(y, x, x + samples.len() / channels);
        if channels == page_channels {
            row.copy_from_slice(samples);
        } else {
            for (pixel, &gray) in row.chunks_exact_mut(page_channels).zip(samples) {
                pixel.fill(gray);
            }
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

impl Plan<'_> {
    /// Paints the strip `pixels` (whole rows) whose first row is page row `first_row`.
    pub(super) fn paint(&self, pixels: &mut [u8], first_row: usize) {
        let stride = self.width * self.channels;
        if stride == 0 {
            return;
        }
        let height = pixels.len() / stride;
        pixels.fill(self.border);
        let mut strip = StripRows {
            pixels,
            first_row,
            end: first_row + height,
            stride,
            channels: self.channels,
        };
        let (mut gray, mut scratch) = (Vec::new(), Vec::new());
        for painting in &self.paintings {
            match painting {
                Painting::Fill { bounds, gray } => strip.fill(*bounds, *gray),
                Painting::Image {
                    at,
                    within,
                    frame,
                    content,
                } => {
                    paint_image(&mut strip, *at, content, &mut gray, &mut scratch);
                    if let Some(thickness) = frame {
                        strip.draw_frame(*at, *within, *thickness);
                    }
                }
            }
        }
        let mut raster = Raster {
            pixels: strip.pixels,
            width: self.width,
            height,
            channels: self.channels,
            first_row,
        };
        bands::draw_placed(&self.texts, self.ink, &mut raster);
    }
}

/// The rows of the image at `at` that cross `strip`.
fn paint_image(
    strip: &mut StripRows,
    at: Bounds,
    content: &Content,
    gray: &mut Vec<u8>,
    scratch: &mut Vec<u8>,
) {
    let (x0, y0, x1, y1) = at;
    let channels = content.channels();
    let row_len = (x1 - x0) * channels;
    for y in strip.rows(y0, y1) {
        match content {
            Content::Copy { samples, .. } => {
                let from = (y - y0) * row_len;
                strip.put((x0, y), &samples[from..from + row_len], channels);
            }
            Content::Scaled {
                resampler,
                intermediate,
                ..
            } => {
                if channels == strip.channels {
                    let out = strip.span(y, x0, x1);
                    resampler.vertical(intermediate, y - y0, out, scratch);
                } else {
                    gray.resize(row_len, 0);
                    resampler.vertical(intermediate, y - y0, gray, scratch);
                    strip.put((x0, y), gray, 1);
                }
            }
        }
    }
}
