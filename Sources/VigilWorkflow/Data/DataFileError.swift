/// A problem in a user's data file, located by file and line so it can be fixed.
public struct DataFileError: Error, Sendable, CustomStringConvertible, Equatable {
    public let file: String
    /// The 1-based line of the problem, or `nil` for the file as a whole.
    public let line: Int?
    public let message: String

    public init(file: String, line: Int?, _ message: String) {
        self.file = file
        self.line = line
        self.message = message
    }

    /// `file:line: message`, the form editors and terminals link to.
    public var description: String {
        if let line { "\(file):\(line): \(message)" } else { "\(file): \(message)" }
    }
}
