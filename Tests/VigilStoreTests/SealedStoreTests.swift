import Foundation
import Testing

/// SQL lives in the store target only: every other target speaks to PostgreSQL through the
/// store's domain types, so a schema change is a change to one target.
@Suite("The sealed store")
struct SealedStoreTests {
    /// What only the store may write: the driver, its query type, the pool and transactions.
    static let forbidden = ["import PostgresNIO", "PostgresQuery", "PostgresConnection", ".client.query", ".client.with", "database.client", ".transaction {"]

    @Test("no target but VigilStore imports the PostgreSQL driver, builds a query or reaches the connection pool")
    func noSQLOutsideTheStore() throws {
        let sources = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Sources")
        let files = try #require(FileManager.default.enumerator(at: sources, includingPropertiesForKeys: nil)?.allObjects as? [URL])
            .filter { $0.pathExtension == "swift" && !$0.path.contains("/Sources/VigilStore/") }
        #expect(files.count > 50, "the scan found too few files to mean anything")
        var offences: [String] = []
        for file in files {
            let lines = try String(contentsOf: file, encoding: .utf8).split(separator: "\n", omittingEmptySubsequences: false)
            for (number, line) in lines.enumerated() {
                for pattern in Self.forbidden where line.contains(pattern) {
                    offences.append("\(file.path.replacingOccurrences(of: sources.path + "/", with: "")):\(number + 1): \(pattern)")
                }
            }
        }
        #expect(offences.isEmpty, "SQL outside Sources/VigilStore:\n\(offences.joined(separator: "\n"))")
    }
}
