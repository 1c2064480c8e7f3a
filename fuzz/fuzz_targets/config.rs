//! The TOML configuration (filmd.toml): parsed, validated (`filmd check-config`'s
//! checks) and, when valid, resolved into the settings the server runs with, as
//! `config::load` does with the embedded layouts and annotation formats.
#![no_main]

use filmd::config::{ConfigFile, Settings};
use filmd::film::AnnotationFormats;
use filmd::film::custom::CustomLayouts;
use libfuzzer_sys::fuzz_target;
use std::path::Path;

#[global_allocator]
static ALLOCATOR: filmd_fuzz::CappedAlloc = filmd_fuzz::CappedAlloc;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let path = Path::new("fuzz.toml");
    let Ok(file) = ConfigFile::from_toml(text, path) else {
        return;
    };
    if let Ok(file) = file.checked(path) {
        let _ = Settings::resolve(
            &file,
            path,
            CustomLayouts::embedded(),
            AnnotationFormats::embedded().clone(),
        );
    }
});
