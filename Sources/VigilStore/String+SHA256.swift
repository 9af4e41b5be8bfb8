import Crypto

extension String {
    /// Lower-case hex SHA-256 of the string's UTF-8 bytes.
    public var sha256Hex: String { utf8.sha256Hex }
}

extension Sequence where Element == UInt8 {
    /// Lower-case hex SHA-256 of the bytes.
    public var sha256Hex: String {
        SHA256.hash(data: Array(self)).map { byte in
            let hex = String(byte, radix: 16)
            return byte < 16 ? "0" + hex : hex
        }.joined()
    }
}
