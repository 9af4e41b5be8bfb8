#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The machine's name as the kernel has it, for worker and scheduler identifiers.
///
/// Not `ProcessInfo.hostName`: on Linux that resolves the name (and its addresses back) through
/// DNS, which blocks for the resolver's timeouts on a machine without a reachable name server.
enum HostName {
    static let current: String = {
        var buffer = [CChar](repeating: 0, count: 256)
        guard gethostname(&buffer, buffer.count - 1) == 0 else { return "localhost" }
        let name = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        return name.isEmpty ? "localhost" : name
    }()
}
