//! filmd's 12-bit sequential DCT JPEG decoder (src/modality/jpeg12.rs) on a frame's
//! bytes, bounded as decode.rs bounds it by the data set's Rows and Columns (here
//! 1024 × 1024): errors, never a panic, a hang or an allocation beyond the frame.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[global_allocator]
static ALLOCATOR: filmd_fuzz::CappedAlloc = filmd_fuzz::CappedAlloc;

fuzz_target!(|data: &[u8]| {
    let _ = filmd::modality::jpeg12::decode(data, 1024, 1024);
});
