import ArgumentParser
import Foundation
import VigilEngine
import VigilWorkflow
#if canImport(Glibc)
import Glibc
#endif

/// Runs the `vigil` command with the exit codes people and scripts rely on:
/// 0 success, 1 failure, 2 usage error. Errors go to stderr as one line.
@main
enum VigilMain {
    static func main() async {
        // Windows of millions of rows come and go in a long-running worker: keep their memory returnable.
        FreedMemory.keepLargeBlocksMapped()
        do {
            var command = try Vigil.parseAsRoot()
            if var command = command as? any AsyncParsableCommand {
                try await command.run()
            } else {
                try command.run()
            }
        } catch {
            exit(withCode: report(error))
        }
    }

    /// Prints `error` where it belongs and returns the process exit code.
    static func report(_ error: any Error) -> Int32 {
        if let error = error as? ExitCode { return error.rawValue }
        if let error = error as? CommandFailure {
            printError("vigil: error: \(error.message)")
            return 1
        }
        if let error = error as? DataFileError {
            printError("vigil: error: \(error)")
            return 1
        }
        let code = Vigil.exitCode(for: error)
        let message = Vigil.fullMessage(for: error)
        if code == .success {
            print(message)
            return 0
        }
        if code == .validationFailure {
            printError(message)
            return 2
        }
        printError("vigil: error: \(message)")
        return 1
    }

    private static func exit(withCode code: Int32) -> Never {
        Glibc.exit(code)
    }
}

/// Writes one line to standard error.
func printError(_ text: String) {
    var standardError = StandardError()
    print(text, to: &standardError)
}

struct StandardError: TextOutputStream {
    mutating func write(_ string: String) {
        FileHandle.standardError.write(Data(string.utf8))
    }
}
