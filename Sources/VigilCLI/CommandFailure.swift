import VigilStore

/// A failure to report to the person at the terminal as one line, with exit code 1.
struct CommandFailure: Error, CustomStringConvertible {
    let message: String

    init(_ message: String) {
        self.message = message
    }

    /// Wraps any error from the layers below into one readable line.
    init(_ error: any Error) {
        if let error = error as? CommandFailure {
            self = error
        } else {
            self.message = StoreError.explain(error)
        }
    }

    var description: String { message }
}
