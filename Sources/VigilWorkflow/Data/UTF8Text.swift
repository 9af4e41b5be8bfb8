/// Text from a data file's bytes, on the per-field path of the readers.
enum UTF8Text {
    /// The bytes as a string, or `nil` when they are not valid UTF-8.
    ///
    /// ASCII, what most fields are, is taken as it is: `String(validating:as:)` is generic code
    /// the compiler does not specialise, and it looks up type metadata on every call (under
    /// `perf`, the largest cost of reading a JSON line).
    static func string(_ bytes: UnsafeRawBufferPointer) -> String? {
        if bytes.allSatisfy({ $0 < 0x80 }) { return String(decoding: bytes, as: UTF8.self) }
        return String(validating: bytes, as: UTF8.self)
    }

    /// As ``string(_:)-(UnsafeRawBufferPointer)``, for a slice of a file's bytes.
    static func string(_ bytes: ArraySlice<UInt8>) -> String? {
        bytes.withUnsafeBytes { string($0) }
    }
}
