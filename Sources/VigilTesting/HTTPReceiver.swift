import Foundation

/// Starts the test receiver (`receiver.py` beside this file: see its paths there) and stops it
/// when `body` returns. `body` gets the receiver's base URL and a reader of the requests it has
/// received so far, each as the receiver logged it (method, path, body, headers, status).
public func withReceiver<Result: Sendable>(_ body: (_ baseURL: String, _ requests: @Sendable () throws -> [[String: String]]) async throws -> Result) async throws -> Result {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-receiver-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let log = folder.appendingPathComponent("requests.jsonl")
    let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("receiver.py")
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    let portFile = folder.appendingPathComponent("port")
    process.arguments = ["python3", script.path, log.path, portFile.path]
    // Never the test runner's own output pipe: a child holding it open keeps `swift test` waiting.
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    process.standardInput = FileHandle.nullDevice
    try process.run()
    defer { process.terminate() }
    var port = ""
    // A Python start can take seconds while a full suite loads both cores.
    let deadline = ContinuousClock.now + .seconds(60)
    while port.isEmpty && ContinuousClock.now < deadline && process.isRunning {
        port = (try? String(contentsOf: portFile, encoding: .utf8)) ?? ""
        if port.isEmpty { try await Task.sleep(for: .milliseconds(20)) }
    }
    guard !port.isEmpty else { throw ReceiverDidNotStart(script: script.path, exited: !process.isRunning) }
    let requests: @Sendable () throws -> [[String: String]] = {
        guard let text = try? String(contentsOf: log, encoding: .utf8) else { return [] }
        return try text.split(separator: "\n").map { line in
            try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String] ?? [:]
        }
    }
    return try await body("http://127.0.0.1:\(port.trimmingCharacters(in: .whitespacesAndNewlines))", requests)
}

/// The test receiver wrote no port: it exited, or did not start within a minute.
public struct ReceiverDidNotStart: Error, CustomStringConvertible {
    public let script: String
    public let exited: Bool

    public var description: String {
        "test receiver \(script) \(exited ? "exited before it wrote its port" : "wrote no port within 60 s")"
    }
}
