import Foundation
import Synchronization

/// A real SMTP server for a test (`smtp_receiver.py` beside this file, on aiosmtpd from the
/// venv `scripts/test` makes): STARTTLS required with a certificate made for the test, AUTH as
/// `vigil` / `s3cret`. It can be stopped and started again on the same port, to stage an outage.
public final class MailServer: Sendable {
    /// The user name and password the server takes.
    public static let username = "vigil", password = "s3cret"

    public let port: Int
    /// The server's self-signed certificate (PEM), for the client to trust.
    public let certificate: String
    private let folder: URL
    private let process: Mutex<Process?>

    private init(port: Int, folder: URL, process: Process) {
        self.port = port
        self.folder = folder
        self.certificate = folder.appendingPathComponent("cert.pem").path
        self.process = Mutex(process)
    }

    /// Every message accepted so far, in order, each as the server recorded it: `mail_from`,
    /// `rcpt_tos`, `tls`, `login`, the headers (`subject`, `message-id`, `in-reply-to`,
    /// `references`, `x-vigil-event`, …) in lower case, and the `plain` and `html` bodies.
    public func messages() throws -> [[String: String]] {
        guard let text = try? String(contentsOf: folder.appendingPathComponent("messages.jsonl"), encoding: .utf8) else { return [] }
        return try text.split(separator: "\n").map { line in
            try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: String] ?? [:]
        }
    }

    /// Stops the server: connections to its port are refused until ``start()``.
    public func stop() {
        process.withLock { process in
            process?.terminate()
            process?.waitUntilExit()
            process = nil
        }
    }

    /// Starts the server again on the same port.
    public func start() async throws {
        let started = try await Self.launch(folder: folder, port: port)
        process.withLock { $0 = started.process }
    }

    private static func launch(folder: URL, port: Int?) async throws -> (process: Process, port: Int) {
        let portFile = folder.appendingPathComponent("port")
        try? FileManager.default.removeItem(at: portFile)
        let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        let python = ProcessInfo.processInfo.environment["VIGIL_CLIENT_PYTHON"]
            ?? here.deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(".build/python-client/bin/python").path
        let process = Process()
        process.executableURL = URL(fileURLWithPath: python)
        process.arguments = [here.appendingPathComponent("smtp_receiver.py").path, folder.appendingPathComponent("messages.jsonl").path, portFile.path,
                             folder.appendingPathComponent("cert.pem").path, folder.appendingPathComponent("key.pem").path] + (port.map { [String($0)] } ?? [])
        // Never the test runner's own output pipe: a child holding it open keeps `swift test` waiting.
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: folder.appendingPathComponent("server.log").path) ?? FileHandle.nullDevice
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if let text = try? String(contentsOf: portFile, encoding: .utf8), let port = Int(text) { return (process, port) }
            guard process.isRunning else { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        process.terminate()
        let log = (try? String(contentsOf: folder.appendingPathComponent("server.log"), encoding: .utf8)) ?? ""
        throw MailServerError(description: "the test SMTP server did not start (is aiosmtpd in \(python)? run scripts/test): \(log.suffix(500))")
    }

    /// Runs `body` with a fresh server, stopped and cleaned up when `body` returns.
    public static func with<Result: Sendable>(_ body: (MailServer) async throws -> Result) async throws -> Result {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-smtp-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        FileManager.default.createFile(atPath: folder.appendingPathComponent("server.log").path, contents: nil)
        defer { try? FileManager.default.removeItem(at: folder) }
        let openssl = Process()
        openssl.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        openssl.arguments = ["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
                             "-subj", "/CN=localhost", "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost",
                             "-keyout", folder.appendingPathComponent("key.pem").path, "-out", folder.appendingPathComponent("cert.pem").path]
        openssl.standardOutput = FileHandle.nullDevice
        openssl.standardError = FileHandle.nullDevice
        try openssl.run()
        openssl.waitUntilExit()
        guard openssl.terminationStatus == 0 else { throw MailServerError(description: "openssl could not make the test certificate") }
        let started = try await launch(folder: folder, port: nil)
        let server = MailServer(port: started.port, folder: folder, process: started.process)
        defer { server.stop() }
        return try await body(server)
    }
}

/// The test SMTP server could not be started.
public struct MailServerError: Error, CustomStringConvertible {
    public let description: String
}
