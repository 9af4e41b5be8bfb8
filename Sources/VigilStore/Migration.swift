/// One file of `migrations/`: `NNNN_name.sql`.
public struct MigrationFile: Sendable, Equatable {
    public let fileName: String
    public let sql: String

    public init(fileName: String, sql: String) {
        self.fileName = fileName
        self.sql = sql
    }

    /// The number the file name starts with; migrations apply in this order.
    public var version: Int? {
        Int(fileName.prefix(while: \.isNumber))
    }

    /// Hex SHA-256 of the file's bytes, recorded when applied so later edits are caught.
    public var checksum: String { sql.sha256Hex }
}

/// Where the migrations come from.
public enum MigrationSource {
    /// The embedded migrations, checked for a well-formed, gap-free sequence of versions.
    ///
    /// - Throws: ``StoreError`` `.invalidMigration` naming the offending file.
    public static func validated(_ files: [MigrationFile] = embedded) throws(StoreError) -> [MigrationFile] {
        var seen: [Int: String] = [:]
        for file in files {
            guard let version = file.version, file.fileName.hasSuffix(".sql"),
                  file.fileName.dropFirst(4).first == "_", file.fileName.prefix(4).allSatisfy(\.isNumber)
            else {
                throw StoreError(.invalidMigration, "migrations/\(file.fileName): name must look like 0001_description.sql")
            }
            if let other = seen[version] {
                throw StoreError(.invalidMigration, "migrations/\(file.fileName): version \(version) is also used by \(other)")
            }
            seen[version] = file.fileName
        }
        return files.sorted { ($0.version ?? 0) < ($1.version ?? 0) }
    }
}
