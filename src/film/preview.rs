//! Previews: a small copy of a composed page for operators and job lists, shrunk with the
//! area-averaging resampler so thin lines and text do not alias away.

use super::model::Page;
use super::resample::{Filter, Region, Source, Target, resample};

/// The preview of `page` whose longer side is at most `max_side` pixels (never enlarged).
pub fn preview(page: &Page, max_side: u32) -> Page {
    let longer = page.width_px.max(page.height_px).max(1);
    let scale = (f64::from(max_side.max(1)) / f64::from(longer)).min(1.0);
    let width = ((f64::from(page.width_px) * scale).round() as u32).max(1);
    let height = ((f64::from(page.height_px) * scale).round() as u32).max(1);
    let channels = usize::from(page.channels);
    let mut pixels = vec![255u8; width as usize * height as usize * channels];
    let src = Source {
        pixels: &page.pixels,
        width: page.width_px as usize,
        height: page.height_px as usize,
        channels,
    };
    let mut dst = Target {
        pixels: &mut pixels,
        stride: width as usize * channels,
        channels,
    };
    let region = Region {
        x: 0,
        y: 0,
        width: width as usize,
        height: height as usize,
    };
    // The source and target are consistent by construction; a failure leaves a white preview.
    let _ = resample(&src, &mut dst, region, Filter::Bilinear);
    Page {
        width_px: width,
        height_px: height,
        width_pt: page.width_pt,
        height_pt: page.height_pt,
        dpi: ((f64::from(page.dpi) * scale).round() as u32).max(1),
        channels: page.channels,
        pixels,
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
}
