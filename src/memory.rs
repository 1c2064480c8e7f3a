//! Hints to the kernel about large buffers.
//!
//! A composed page is one large allocation (21 MB at 300 dpi on 14×17 in, 86 MB at
//! 600 dpi) that the allocator maps fresh for every film. Touched 4 KiB at a time, it costs
//! one page fault per 4 KiB: at 600 dpi about 21,000 faults per film, an eighth of the
//! film's CPU time in the profile. Where transparent huge pages are on in `madvise` mode
//! (Debian's default), asking for them makes that one fault per 2 MiB.

/// Asks the kernel to back `buffer` with transparent huge pages (Linux `madvise(2)`,
/// `MADV_HUGEPAGE`). Only a hint: nothing changes where the kernel does not support or
/// allow it, and the buffer's contents are never affected. Call it before first touching a
/// fresh allocation.
pub fn advise_huge_pages(buffer: &mut [u8]) {
    #[cfg(target_os = "linux")]
    {
        const HUGE: usize = 2 << 20;
        let start = buffer.as_mut_ptr() as usize;
        let aligned = start.next_multiple_of(HUGE);
        let end = start + buffer.len();
        if end > aligned + HUGE {
            let len = (end - aligned) / HUGE * HUGE;
            // SAFETY: [aligned, aligned + len) lies inside `buffer`, which we borrow
            // mutably; MADV_HUGEPAGE changes how the range is backed, never its contents
            // or its mapping, and a failure (EINVAL where THP is not built in) is ignored.
            unsafe {
                libc::madvise(aligned as *mut libc::c_void, len, libc::MADV_HUGEPAGE);
            }
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = buffer;
}
