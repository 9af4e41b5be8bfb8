import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Several hosts on one machine, for tests of what crosses a network: a Linux network namespace
/// per host, each joined by a veth pair to a bridge in the test's own namespace. The bridge holds
/// the subnet's first address (`gateway`), where a server the test runs, such as PostgreSQL,
/// listens; host `n` is `subnet.(10 + n)`. Processes on a host reach nothing but the subnet: not
/// the test's loopback, nor each other's. Needs root and iproute2's `ip`.
public struct NetworkHosts: Sendable {
    /// The subnet's first three octets, such as `10.201.7`.
    public let subnet: String
    /// The namespaces, one per host.
    public let namespaces: [String]
    let bridge: String

    /// The address the test's own namespace has on the subnet.
    public var gateway: String { "\(subnet).1" }

    /// Host `index`'s address.
    public func address(of index: Int) -> String { "\(subnet).\(10 + index)" }

    /// `ip`, where Debian's iproute2 puts it.
    static let ip = ["/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Whether hosts can be made here: root, with `ip`.
    public static var available: Bool { getuid() == 0 && ip != nil }

    /// Makes `count` hosts, runs `body`, then kills every process left on them and removes them.
    public static func withHosts<Result: Sendable>(_ count: Int, _ body: (NetworkHosts) async throws -> Result) async throws -> Result {
        let tag = String(UInt32.random(in: 0 ... .max), radix: 16)
        let hosts = NetworkHosts(
            subnet: "10.\(Int.random(in: 100 ... 250)).\(Int.random(in: 0 ... 255))",
            namespaces: (0 ..< count).map { "vigil-\(tag)-\($0)" }, bridge: "vg\(tag)"
        )
        do {
            try hosts.create()
            let result = try await body(hosts)
            hosts.remove()
            return result
        } catch {
            hosts.remove()
            throw error
        }
    }

    /// The command prefix that runs a program on host `index`.
    public func launcher(on index: Int) -> [String] {
        [Self.ip ?? "ip", "netns", "exec", namespaces[index]]
    }

    /// The processes running on host `index`.
    public func processes(on index: Int) -> [Int32] {
        guard let output = try? Self.run([Self.ip ?? "ip", "netns", "pids", namespaces[index]]) else { return [] }
        return output.split(whereSeparator: \.isWhitespace).compactMap { Int32($0) }
    }

    /// Kills every process on host `index` at once, as a host that loses power: `SIGKILL`, no
    /// chance to clean up. Returns how many there were.
    @discardableResult
    public func crash(_ index: Int) -> Int {
        let victims = processes(on: index)
        for pid in victims { kill(pid, SIGKILL) }
        return victims.count
    }

    private func create() throws {
        guard let ip = Self.ip else { throw HostSetupError(command: "ip", output: "iproute2's ip is not installed") }
        try Self.run([ip, "link", "add", bridge, "type", "bridge"])
        try Self.run([ip, "addr", "add", "\(gateway)/24", "dev", bridge])
        try Self.run([ip, "link", "set", bridge, "up"])
        for (index, namespace) in namespaces.enumerated() {
            let outside = "\(bridge)h\(index)", inside = "\(bridge)n\(index)"
            try Self.run([ip, "netns", "add", namespace])
            try Self.run([ip, "link", "add", outside, "type", "veth", "peer", "name", inside])
            try Self.run([ip, "link", "set", inside, "netns", namespace])
            try Self.run([ip, "link", "set", outside, "master", bridge])
            try Self.run([ip, "link", "set", outside, "up"])
            try Self.run([ip, "-n", namespace, "addr", "add", "\(address(of: index))/24", "dev", inside])
            try Self.run([ip, "-n", namespace, "link", "set", inside, "up"])
            try Self.run([ip, "-n", namespace, "link", "set", "lo", "up"])
        }
    }

    private func remove() {
        guard let ip = Self.ip else { return }
        for index in namespaces.indices { crash(index) }
        for namespace in namespaces { _ = try? Self.run([ip, "netns", "delete", namespace]) }
        _ = try? Self.run([ip, "link", "delete", bridge])
    }

    @discardableResult
    static func run(_ command: [String]) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: command[0])
        process.arguments = Array(command.dropFirst())
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        try process.run()
        let output = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw HostSetupError(command: command.joined(separator: " "), output: output) }
        return output
    }
}

/// A command that sets up test hosts failed.
public struct HostSetupError: Error, CustomStringConvertible {
    public let command: String
    public let output: String
    public var description: String { "`\(command)` failed: \(output.trimmingCharacters(in: .whitespacesAndNewlines))" }
}
