//! Previews: a small copy of a composed page for operators and job lists, shrunk with the
//! area-averaging resampler so thin lines and text do not alias away.

use super::model::{Page, PageShape};
use super::resample::{Filter, Kernels, Resampler};

/// The preview of `page` whose longer side is at most `max_side` pixels (never enlarged).
pub fn preview(page: &Page, max_side: u32) -> Page {
    let shape = page.shape();
    let preview = StripPreview::new(&shape, max_side);
    let rows = preview.strip(
        &page.pixels[..page
            .pixels
            .len()
            .min(shape.row_bytes() * shape.height_px as usize)],
    );
    preview.finish(vec![rows])
}

/// A preview made from a page's strips while they are composed
/// ([`compose_streamed`](super::compose::compose_streamed)), for a page that is never held
/// whole: each strip's rows get the horizontal pass where they are painted, still in that
/// core's cache ([`StripPreview::strip`]); the vertical pass runs once over all of them
/// ([`StripPreview::finish`]). The two passes are those of [`preview`], so the pixels are
/// the same.
#[derive(Debug)]
pub struct StripPreview {
    resampler: Resampler,
    page: PageShape,
    /// Preview pixels per page pixel.
    scale: f64,
    width: usize,
    height: usize,
}

impl StripPreview {
    /// The preview of a page of `page`'s shape, its longer side at most `max_side` pixels.
    pub fn new(page: &PageShape, max_side: u32) -> StripPreview {
        let longer = page.width_px.max(page.height_px).max(1);
        let scale = (f64::from(max_side.max(1)) / f64::from(longer)).min(1.0);
        let width = ((f64::from(page.width_px) * scale).round() as usize).max(1);
        let height = ((f64::from(page.height_px) * scale).round() as usize).max(1);
        let resampler = Resampler::new(
            (page.width_px as usize, page.height_px as usize),
            (width, height),
            usize::from(page.channels),
            Filter::Bilinear,
            Kernels::Detected,
        );
        StripPreview {
            resampler,
            page: *page,
            scale,
            width,
            height,
        }
    }

    /// The horizontal pass of `rows`, whole rows of the page (a partial row at the end is
    /// left out): what [`finish`](Self::finish) takes, in page order.
    pub fn strip(&self, rows: &[u8]) -> Vec<i16> {
        let row_bytes = self.page.row_bytes();
        let mut out = Vec::new();
        if row_bytes == 0 {
            return out;
        }
        let inter = self.resampler.intermediate_row_len();
        out.resize(rows.len() / row_bytes * inter, 0);
        let mut scratch = Vec::new();
        for (row, inter_row) in rows
            .chunks_exact(row_bytes)
            .zip(out.chunks_exact_mut(inter))
        {
            self.resampler.horizontal(row, inter_row, &mut scratch);
        }
        out
    }

    /// The preview from the horizontal passes of every strip of the page, top to bottom.
    /// Should they not add up to the page (they always do when they come from its
    /// strips), the preview is white.
    pub fn finish(&self, strips: Vec<Vec<i16>>) -> Page {
        let channels = usize::from(self.page.channels);
        let stride = self.width * channels;
        let mut pixels = vec![255u8; stride * self.height];
        let intermediate: Vec<i16> = if strips.len() == 1 {
            strips.into_iter().next().unwrap_or_default()
        } else {
            strips.concat()
        };
        let whole = self.resampler.intermediate_len();
        if intermediate.len() == whole && whole > 0 && matches!(channels, 1 | 3) {
            let mut scratch = Vec::new();
            for (y, out) in pixels.chunks_exact_mut(stride).enumerate() {
                self.resampler.vertical(&intermediate, y, out, &mut scratch);
            }
        }
        Page {
            width_px: self.width as u32,
            height_px: self.height as u32,
            width_pt: self.page.width_pt,
            height_pt: self.page.height_pt,
            dpi: ((f64::from(self.page.dpi) * self.scale).round() as u32).max(1),
            channels: self.page.channels,
            pixels,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preview_keeps_aspect_and_averages() {
        let mut pixels = vec![0u8; 400 * 200];
        for row in pixels.chunks_mut(400) {
            row[200..].fill(200);
        }
        let page = Page {
            width_px: 400,
            height_px: 200,
            width_pt: 1.0,
            height_pt: 1.0,
            dpi: 300,
            channels: 1,
            pixels,
        };
        let p = preview(&page, 100);
        assert_eq!((p.width_px, p.height_px), (100, 50));
        assert_eq!(p.pixels[25 * 100 + 10], 0);
        assert_eq!(p.pixels[25 * 100 + 90], 200);
        assert_eq!(preview(&p, 1000).width_px, 100, "never enlarged");
    }

    #[test]
    fn strips_that_do_not_add_up_to_the_page_give_a_white_preview() {
        let page = Page {
            width_px: 40,
            height_px: 20,
            width_pt: 1.0,
            height_pt: 1.0,
            dpi: 300,
            channels: 1,
            pixels: vec![0; 40 * 20],
        };
        let strips = StripPreview::new(&page.shape(), 10);
        let half = strips.strip(&page.pixels[..40 * 10]);
        let p = strips.finish(vec![half]);
        assert_eq!((p.width_px, p.height_px, p.dpi), (10, 5, 75));
        assert!(p.pixels.iter().all(|&v| v == 255));
        let short = Page {
            pixels: vec![0; 40 * 19 + 3],
            ..page.clone()
        };
        assert!(preview(&short, 10).pixels.iter().all(|&v| v == 255));
        assert!(preview(&page, 10).pixels.iter().all(|&v| v == 0));
    }
}
