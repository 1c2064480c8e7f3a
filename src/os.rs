//! Hints to the kernel: large buffers, and which threads may wait.
//!
//! A composed page is one large allocation (21 MB at 300 dpi on 14×17 in, 86 MB at
//! 600 dpi) that the allocator maps fresh for every film. Touched 4 KiB at a time, it costs
//! one page fault per 4 KiB: at 600 dpi about 21,000 faults per film, an eighth of the
//! film's CPU time in the profile. Where transparent huge pages are on in `madvise` mode
//! (as on the machines filmd is measured on), asking for them makes that one fault per
//! 2 MiB.

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

/// How much less CPU priority than the print service a background thread takes (a nice
/// value, 0 to 19): composing films is throughput, answering a modality's N-ACTION is
/// latency. A composition spreads over both cores for tens of milliseconds; without this,
/// the next film's N-ACTION on the same association waited behind it.
pub const BACKGROUND_NICE: i32 = 5;

/// Lowers the calling thread's CPU priority by [`BACKGROUND_NICE`] (Linux
/// `setpriority(2)` on the thread's own ID: nice values are per thread there, and threads
/// it spawns inherit it). Only a hint: a failure is ignored.
pub fn lower_thread_priority() {
    #[cfg(target_os = "linux")]
    // SAFETY: gettid and setpriority take and return plain integers and touch no memory
    // of ours.
    unsafe {
        let tid = libc::gettid();
        let now = libc::getpriority(libc::PRIO_PROCESS, tid as libc::id_t);
        libc::setpriority(
            libc::PRIO_PROCESS,
            tid as libc::id_t,
            (now + BACKGROUND_NICE).min(19),
        );
    }
}

/// The threads this process may run at once ([`std::thread::available_parallelism`], 1 if
/// unknown), asked once. On Linux std reads the cgroup's CPU quota files at every call
/// (three files opened); a composition asks for every film, and the answer does not change
/// while filmd runs.
pub fn cores() -> usize {
    static CORES: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *CORES.get_or_init(|| std::thread::available_parallelism().map_or(1, |n| n.get()))
}
