#if canImport(Glibc)
import Glibc

/// glibc's `malloc_trim`, which `<malloc.h>` declares and Swift's Glibc module does not import.
@_silgen_name("malloc_trim") private func mallocTrim(_ pad: UInt) -> Int32
#endif

/// Hands the memory a monitor window freed back to the operating system.
///
/// A window's columns are read on two threads, so they come from more than one of glibc's malloc
/// arenas, and glibc keeps an arena's free memory for reuse instead of returning it. Without this
/// a long-running `vigil serve` or `vigil worker` would sit, between passes, at the size of the
/// largest window it ever computed (about 2.9 GB after a 10M-row day).
enum FreedMemory {
    static func release() {
        #if canImport(Glibc)
        _ = mallocTrim(0)
        #endif
    }
}
