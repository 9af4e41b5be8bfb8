import Foundation

/// Runs `executable` with `arguments` to its end and returns its exit status and its standard
/// output and error together: for helpers (Python scripts, checkers) whose words a test shows
/// when they fail. `environment` `nil` inherits the test's; `directory` `nil` keeps the test's.
public func runCollectingOutput(
    _ executable: String, _ arguments: [String], environment: [String: String]? = nil, directory: URL? = nil
) async throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    if let environment { process.environment = environment }
    if let directory { process.currentDirectoryURL = directory }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    process.standardInput = FileHandle.nullDevice
    try process.run()
    let data = try await Task.detached { try pipe.fileHandleForReading.readToEnd() ?? Data() }.value
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}
