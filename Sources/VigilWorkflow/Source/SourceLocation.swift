/// A place in a workflow file, 1-based, as editors count.
public struct SourceLocation: Sendable, Hashable, Codable, CustomStringConvertible, Comparable {
    public let file: String
    public let line: Int
    public let column: Int

    public init(file: String, line: Int, column: Int) {
        self.file = file
        self.line = line
        self.column = column
    }

    /// The location `offset` characters to the right on the same line.
    public func advanced(by offset: Int) -> SourceLocation {
        SourceLocation(file: file, line: line, column: column + offset)
    }

    public var description: String { "\(file):\(line):\(column)" }

    public static func < (lhs: SourceLocation, rhs: SourceLocation) -> Bool {
        (lhs.file, lhs.line, lhs.column) < (rhs.file, rhs.line, rhs.column)
    }
}

/// One problem found in a workflow file.
public struct Diagnostic: Sendable, Hashable, Codable, CustomStringConvertible {
    public let location: SourceLocation
    public let message: String

    /// A diagnostic; control characters in `message` (a user's text quoted in it may hold a
    /// newline or a tab) are escaped, so every diagnostic stays one line.
    public init(_ location: SourceLocation, _ message: String) {
        self.location = location
        self.message = message.unicodeScalars.contains(where: { $0.properties.generalCategory == .control })
            ? String(message.unicodeScalars.map { $0.properties.generalCategory == .control ? $0.escaped(asASCII: true) : String($0) }.joined())
            : message
    }

    /// `file:line:column: message`.
    public var description: String { "\(location): \(message)" }
}

/// A workflow file that cannot be used, with every problem found in it.
public struct WorkflowError: Error, Sendable, CustomStringConvertible {
    public let diagnostics: [Diagnostic]

    public init(_ diagnostics: [Diagnostic]) {
        self.diagnostics = diagnostics.sorted { $0.location < $1.location }
    }

    public var description: String { diagnostics.map(\.description).joined(separator: "\n") }
}
