import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// A child program in a process group of its own, watched without blocking a thread: its output
/// goes to files that are read as it grows, and its exit is polled. Cancelling the waiting task
/// kills the whole group (SIGTERM, then SIGKILL), so nothing the program started is left behind.
struct ProcessGroup {
    struct Exit {
        /// The exit code, or 128 + the signal number.
        let status: Int32
    }

    enum Failure: Error, CustomStringConvertible {
        case cannotStart(String)
        var description: String {
            switch self {
            case let .cannotStart(reason): reason
            }
        }
    }

    let pid: pid_t
    let folder: URL

    /// The executable `program` names: itself if it has a slash, else the first match on `path`.
    private static func resolve(_ program: String, path: String) -> String? {
        if program.contains("/") { return FileManager.default.isExecutableFile(atPath: program) ? program : nil }
        return path.split(separator: ":").map { "\($0)/\(program)" }.first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// util-linux's setpriv, when installed.
    static let setpriv = ["/usr/bin/setpriv", "/bin/setpriv"].first { FileManager.default.isExecutableFile(atPath: $0) }

    /// Starts `arguments[0]` (looked up on PATH) with `arguments.dropFirst()`.
    static func start(_ arguments: [String], environment: [String: String], workingDirectory: String?) throws(Failure) -> ProcessGroup {
        guard let requested = arguments.first else { throw .cannotStart("no program to run") }
        guard let resolved = resolve(requested, path: environment["PATH"] ?? ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin") else {
            throw .cannotStart("cannot start \(requested): " + (requested.contains("/") ? "No such file or directory" : "no such program on PATH"))
        }
        var arguments = arguments
        arguments[0] = resolved
        // Glibc does not export posix_spawn_file_actions_addchdir_np; a shell changes directory, then execs.
        arguments = workingDirectory.map { ["/bin/sh", "-c", "cd \"$0\" && exec \"$@\"", $0] + arguments } ?? arguments
        // If the worker itself is killed (SIGKILL, power loss of the process), the program must not
        // live on as an orphan: setpriv gives it a parent-death signal before exec.
        if let setpriv = Self.setpriv { arguments = [setpriv, "--pdeathsig", "KILL", "--"] + arguments }
        let program = arguments[0]
        let folder: URL
        do {
            folder = try ScratchFolder.make(.step)
        } catch {
            throw .cannotStart("cannot create a folder for the step's output: \(error)")
        }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, folder.appendingPathComponent("stdout").path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        posix_spawn_file_actions_addopen(&actions, 2, folder.appendingPathComponent("stderr").path, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        // A new process group (pgid = pid), so the whole tree can be signalled at once.
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP))
        posix_spawnattr_setpgroup(&attributes, 0)

        let argv = arguments.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        let env = environment.map { strdup("\($0)=\($1)") } + [nil]
        defer { env.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawnp(&pid, program, &actions, &attributes, argv, env)
        guard spawned == 0 else {
            try? FileManager.default.removeItem(at: folder)
            throw .cannotStart("cannot start \(program): \(String(cString: strerror(spawned)))")
        }
        return ProcessGroup(pid: pid, folder: folder)
    }

    /// Waits for the program to exit, handing each new line of its output to `lines`. If the
    /// waiting task is cancelled, the process group is killed and reaped before this rethrows.
    func wait(lines: (_ stream: String, _ lines: [String]) async -> Void) async throws -> Exit {
        var readers = ["stdout", "stderr"].map { LineReader(path: folder.appendingPathComponent($0).path, stream: $0) }
        defer { try? FileManager.default.removeItem(at: folder) }
        while true {
            var status: Int32 = 0
            let done = waitpid(pid, &status, WNOHANG)
            for index in readers.indices {
                let new = readers[index].readLines(final: done == pid)
                if !new.isEmpty { await lines(readers[index].stream, new) }
            }
            if done == pid {
                // Anything the program left running in its group goes with it.
                kill(-pid, SIGKILL)
                return Exit(status: (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f))
            }
            do {
                try await Task.sleep(for: .milliseconds(50))
            } catch {
                await terminate()
                throw error
            }
        }
    }

    /// SIGTERM to the group, then SIGKILL after a grace period, and reap the child.
    ///
    /// The grace period is waited out in a task of its own, without holding a thread: the caller
    /// is being cancelled, so its own sleeps would end at once.
    func terminate(grace: Duration = .seconds(2)) async {
        let pid = pid
        kill(-pid, SIGTERM)
        await Task.detached {
            let deadline = ContinuousClock.now + grace
            var status: Int32 = 0
            while ContinuousClock.now < deadline {
                if waitpid(pid, &status, WNOHANG) == pid {
                    kill(-pid, SIGKILL)
                    return
                }
                try? await Task.sleep(for: .milliseconds(20))
            }
            kill(-pid, SIGKILL)
            while waitpid(pid, &status, 0) == -1 && errno == EINTR {}
        }.value
    }
}

/// Reads a growing file line by line.
private struct LineReader {
    let path: String
    let stream: String
    private var offset: UInt64 = 0
    private var partial = Data()

    init(path: String, stream: String) {
        self.path = path
        self.stream = stream
    }

    mutating func readLines(final: Bool) -> [String] {
        guard let handle = FileHandle(forReadingAtPath: path) else { return [] }
        defer { try? handle.close() }
        try? handle.seek(toOffset: offset)
        let data = handle.readDataToEndOfFile()
        offset += UInt64(data.count)
        partial.append(data)
        var lines: [String] = []
        while let newline = partial.firstIndex(of: UInt8(ascii: "\n")) {
            lines.append(String(decoding: partial[partial.startIndex..<newline], as: UTF8.self))
            partial = Data(partial[partial.index(after: newline)...])
        }
        if final && !partial.isEmpty {
            lines.append(String(decoding: partial, as: UTF8.self))
            partial = Data()
        }
        return lines
    }
}
