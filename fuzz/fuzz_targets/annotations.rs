//! The Annotation Display Formats file (layouts/annotations.toml): parsed and validated
//! by `AnnotationFormats::parse` with the embedded font's name; each format's annotations
//! are then laid out with text at every position, as a film is.
#![no_main]

use filmd::film::AnnotationFormats;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

#[global_allocator]
static ALLOCATOR: filmd_fuzz::CappedAlloc = filmd_fuzz::CappedAlloc;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(formats) =
        AnnotationFormats::parse(text, Path::new("annotations.toml"), &["DejaVu Sans"])
    else {
        return;
    };
    for f in formats.iter() {
        let texts: Vec<(u32, Option<String>)> = (1..=f.positions.len() as u32)
            .map(|p| (p, Some(format!("text {p}"))))
            .collect();
        let _ = formats.annotations(&f.id, &texts);
    }
});
