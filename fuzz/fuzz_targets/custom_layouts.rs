//! The CUSTOM Image Display Formats file (layouts/custom.toml): parsed and validated by
//! `CustomLayouts::parse`; each layout it defines is then named in an Image Display
//! Format (`CUSTOM\i`) and parsed as a film box N-CREATE would.
#![no_main]

use filmd::film::DisplayFormat;
use filmd::film::custom::CustomLayouts;
use libfuzzer_sys::fuzz_target;

#[global_allocator]
static ALLOCATOR: filmd_fuzz::CappedAlloc = filmd_fuzz::CappedAlloc;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(layouts) = CustomLayouts::parse(text) else {
        return;
    };
    let ids: Vec<u32> = layouts.iter().map(|l| l.id).collect();
    for id in ids {
        let _ = DisplayFormat::parse(&format!("CUSTOM\\{id}"), &layouts);
    }
});
