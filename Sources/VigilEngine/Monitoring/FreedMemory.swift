#if canImport(Glibc)
import Glibc

/// glibc's `malloc_trim` and `mallopt`, which `<malloc.h>` declares and Swift's Glibc module does
/// not import.
@_silgen_name("malloc_trim") private func mallocTrim(_ pad: UInt) -> Int32
@_silgen_name("mallopt") private func mallocOption(_ parameter: Int32, _ value: Int32) -> Int32
/// `M_MMAP_THRESHOLD` in `<malloc.h>`.
private let mmapThresholdParameter: Int32 = -3
#endif

/// Hands the memory a monitor window freed back to the operating system.
///
/// A window's columns are read on two threads, so they come from more than one of glibc's malloc
/// arenas, and glibc keeps an arena's free memory for reuse instead of returning it. Without this
/// a long-running `vigil serve` or `vigil worker` would sit, between passes, at the size of the
/// largest window it ever computed (about 2.9 GB after a 10M-row day).
public enum FreedMemory {
    /// Size from which every block gets its own mapping, returned to the system when freed.
    static let mappedBlockBytes: Int32 = 8 << 20

    static func release() {
        #if canImport(Glibc)
        _ = mallocTrim(0)
        #endif
    }

    /// Has every block of 8 MiB or more mapped on its own, and unmapped the moment it is freed,
    /// for the whole process. Call once, at start, from an executable.
    ///
    /// glibc's own threshold starts at 128 KiB and rises to the size of the largest mapped block
    /// freed so far, up to 32 MiB. Once a window's first temporary arrays are freed, the next
    /// ones of up to 32 MiB (a 2M-row window's columns, sorted copies and score arrays) come
    /// from the heap, where freed memory stays resident and is not always reused for the next,
    /// larger array. A fixed threshold stops the rise. 8 MiB rather than 128 KiB, so that
    /// ingest's batch buffers stay on the heap, reused, instead of being mapped and zeroed anew
    /// for every batch. Measured with `vigil bench monitor --rows 2000000 --labels`: the pass
    /// peaked at 298–306 MiB with glibc's default, 219 MiB with 128 KiB, 228 MiB with 8 MiB.
    public static func keepLargeBlocksMapped() {
        #if canImport(Glibc)
        _ = mallocOption(mmapThresholdParameter, mappedBlockBytes)
        #endif
    }
}
