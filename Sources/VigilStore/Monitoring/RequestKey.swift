import Crypto
import Foundation

/// The key of a model's logged request in `inference_requests` (beside its role): the first 16
/// bytes of SHA-256 over the model's UTF-8 byte length (4 bytes, big-endian), the model and the
/// request id — what `vigil_request_key(model, request_id)` computes in SQL (migration 0031).
///
/// Held as two integers whose order is PostgreSQL's order of the uuid, byte by byte.
struct RequestKey: Hashable, Comparable {
    let high: UInt64
    let low: UInt64

    /// The key as a uuid, for binding to a query.
    var uuid: UUID {
        var bytes = (high.bigEndian, low.bigEndian)
        return withUnsafeBytes(of: &bytes) { UUID(uuid: $0.loadUnaligned(as: uuid_t.self)) }
    }

    static func < (a: RequestKey, b: RequestKey) -> Bool {
        (a.high, a.low) < (b.high, b.low)
    }
}

/// Computes the keys of one model's requests; the model's part of the hash is computed once.
struct RequestKeys {
    private let modelPrefix: SHA256

    init(model: String) {
        var hasher = SHA256()
        let length = UInt32(truncatingIfNeeded: model.utf8.count).bigEndian
        withUnsafeBytes(of: length) { hasher.update(bufferPointer: $0) }
        hasher.update(data: Array(model.utf8))
        modelPrefix = hasher
    }

    /// The key of the request `requestID`.
    func key(requestID: String) -> RequestKey {
        var hasher = modelPrefix
        var requestID = requestID
        requestID.withUTF8 { hasher.update(bufferPointer: UnsafeRawBufferPointer($0)) }
        return hasher.finalize().withUnsafeBytes { digest in
            RequestKey(high: digest.loadUnaligned(as: UInt64.self).bigEndian, low: digest.loadUnaligned(fromByteOffset: 8, as: UInt64.self).bigEndian)
        }
    }
}
