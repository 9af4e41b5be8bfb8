/// An error from the store layer, with a message meant for the person running Vigil.
public struct StoreError: Error, CustomStringConvertible, Sendable {
    /// What kind of failure this is; new codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private enum Base: String, Hashable, Sendable {
            case invalidConfiguration = "invalid configuration"
            case unreachable
            case migrationChanged = "migration changed"
            case migrationFailed = "migration failed"
            case invalidMigration = "invalid migration"
            case embeddedCluster = "embedded cluster"
            case notFound = "not found"
            case conflict
            case forbidden
            case query
        }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        public static let invalidConfiguration = Code(.invalidConfiguration)
        public static let unreachable = Code(.unreachable)
        public static let migrationChanged = Code(.migrationChanged)
        public static let migrationFailed = Code(.migrationFailed)
        public static let invalidMigration = Code(.invalidMigration)
        public static let embeddedCluster = Code(.embeddedCluster)
        public static let notFound = Code(.notFound)
        public static let conflict = Code(.conflict)
        /// The actor may not do this (an approval by someone the gate does not accept).
        public static let forbidden = Code(.forbidden)
        public static let query = Code(.query)

        public var description: String { base.rawValue }
    }

    public let code: Code
    /// One line saying what went wrong and, where possible, what to do about it.
    public let message: String
    /// The PostgreSQL or network error behind this one, kept whole for logs.
    public let underlying: (any Error)?

    public init(_ code: Code, _ message: String, underlying: (any Error)? = nil) {
        self.code = code
        self.message = message
        self.underlying = underlying
    }

    /// The SQLSTATE of the server error behind this one, if there is one.
    public var sqlState: String? { underlying.flatMap(Self.sqlState(of:)) }

    public var description: String { message }
}
