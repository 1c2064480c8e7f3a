//! Data sets of DIMSE messages: the bound walk (`net::dataset::check_lengths`), then
//! dicom-object, as `net::dataset::decode` runs them for every data set received. The
//! first byte selects the transfer syntax (bit 0: Explicit VR Little Endian).
#![no_main]

use filmd::net::dataset;
use filmd_fuzz::transfer_syntax;
use libfuzzer_sys::fuzz_target;

#[global_allocator]
static ALLOCATOR: filmd_fuzz::CappedAlloc = filmd_fuzz::CappedAlloc;

fuzz_target!(|data: &[u8]| {
    let Some((&selector, bytes)) = data.split_first() else {
        return;
    };
    let ts = transfer_syntax(selector);
    let _ = dataset::decode(bytes, ts);
});
