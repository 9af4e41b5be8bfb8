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
            try await hosts.create()
            let result = try await body(hosts)
            await hosts.remove()
            return result
        } catch {
            await hosts.remove()
            throw error
        }
    }

    /// The command prefix that runs a program on host `index`.
    public func launcher(on index: Int) -> [String] {
        [Self.ip ?? "ip", "netns", "exec", namespaces[index]]
    }

    /// The processes running on host `index`.
    public func processes(on index: Int) async -> [Int32] {
        guard let output = try? await Self.run([Self.ip ?? "ip", "netns", "pids", namespaces[index]]) else { return [] }
        return output.split(whereSeparator: \.isWhitespace).compactMap { Int32($0) }
    }

    /// Kills every process on host `index` at once, as a host that loses power: `SIGKILL`, no
    /// chance to clean up. Returns how many there were.
    @discardableResult
    public func crash(_ index: Int) async -> Int {
        let victims = await processes(on: index)
        for pid in victims { kill(pid, SIGKILL) }
        return victims.count
    }

    private func create() async throws {
        guard let ip = Self.ip else { throw HostSetupError(command: "ip", output: "iproute2's ip is not installed") }
        try await Self.run([ip, "link", "add", bridge, "type", "bridge"])
        try await Self.run([ip, "addr", "add", "\(gateway)/24", "dev", bridge])
        try await Self.run([ip, "link", "set", bridge, "up"])
        for (index, namespace) in namespaces.enumerated() {
            let outside = "\(bridge)h\(index)", inside = "\(bridge)n\(index)"
            try await Self.run([ip, "netns", "add", namespace])
            try await Self.run([ip, "link", "add", outside, "type", "veth", "peer", "name", inside])
            try await Self.run([ip, "link", "set", inside, "netns", namespace])
            try await Self.run([ip, "link", "set", outside, "master", bridge])
            try await Self.run([ip, "link", "set", outside, "up"])
            try await Self.run([ip, "-n", namespace, "addr", "add", "\(address(of: index))/24", "dev", inside])
            try await Self.run([ip, "-n", namespace, "link", "set", inside, "up"])
            try await Self.run([ip, "-n", namespace, "link", "set", "lo", "up"])
        }
    }

    private func remove() async {
        guard let ip = Self.ip else { return }
        for index in namespaces.indices { await crash(index) }
        for namespace in namespaces { _ = try? await Self.run([ip, "netns", "delete", namespace]) }
        _ = try? await Self.run([ip, "link", "delete", bridge])
    }

    /// Runs `command`; its output, or ``HostSetupError`` when it fails.
    @discardableResult
    static func run(_ command: [String]) async throws -> String {
        let (status, output) = try await runCollectingOutput(command[0], Array(command.dropFirst()))
        guard status == 0 else { throw HostSetupError(command: command.joined(separator: " "), output: output) }
        return output
    }
}

/// A command that sets up test hosts failed.
public struct HostSetupError: Error, CustomStringConvertible {
    public let command: String
    public let output: String
    public var description: String { "`\(command)` failed: \(output.trimmingCharacters(in: .whitespacesAndNewlines))" }
}
