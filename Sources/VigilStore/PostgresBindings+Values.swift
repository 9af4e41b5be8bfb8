import PostgresNIO

extension PostgresBindings {
    /// Bindings for `$1`, `$2`, … of a query built as text (one that lists columns from a constant).
    init(values: any PostgresEncodable & Sendable...) throws {
        self.init()
        for value in values { try append(value) }
    }
}
