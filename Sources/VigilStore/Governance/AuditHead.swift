/// The newest entry of the audit chain: its id and hash, written `ID:HASH`.
///
/// A hash chain proves the entries it holds, not that none were cut off its end. A head saved
/// outside the database (`vigil audit head`) lets ``AuditLog/verify(against:)`` prove that the
/// log still reaches it: that no entry up to it was removed and none was rewritten.
public struct AuditHead: Sendable, Hashable, LosslessStringConvertible {
    public let id: Int
    /// The SHA-256 of the entry's content, 64 lowercase hex digits.
    public let hash: String

    public init(id: Int, hash: String) {
        self.id = id
        self.hash = hash
    }

    /// Reads `ID:HASH` as `vigil audit head` prints it; `nil` for anything else.
    public init?(_ description: String) {
        let parts = description.trimmingCharacters(in: .whitespacesAndNewlines).split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, parts[0].count <= 18, let id = Int(parts[0]), id >= 0,
              parts[1].count == 64, parts[1].allSatisfy({ $0.isHexDigit && !$0.isUppercase })
        else { return nil }
        self.init(id: id, hash: String(parts[1]))
    }

    public var description: String { "\(id):\(hash)" }

    /// The head of an empty log.
    static let empty = AuditHead(id: 0, hash: String(repeating: "0", count: 64))
}
