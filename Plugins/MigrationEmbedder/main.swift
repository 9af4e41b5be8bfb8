import Foundation

// Usage: MigrationEmbedder OUTPUT.swift FILE.sql...
// Writes a Swift file holding each migration's file name and exact text.
let arguments = CommandLine.arguments.dropFirst()
guard let output = arguments.first else {
    FileHandle.standardError.write(Data("usage: MigrationEmbedder OUTPUT FILE...\n".utf8))
    exit(2)
}

var source = """
// Generated at build time from migrations/*.sql by the EmbedMigrations plugin. Do not edit.

extension MigrationSource {
    /// The migrations that were in `migrations/` when this binary was built, in file-name order.
    public static let embedded: [MigrationFile] = [

"""
for path in arguments.dropFirst() {
    let url = URL(fileURLWithPath: path)
    let text = try String(contentsOf: url, encoding: .utf8)
    // A raw string with enough hashes that no sequence in the SQL can close it.
    var hashes = "#"
    while text.contains("\"" + hashes) { hashes += "#" }
    source += "        MigrationFile(fileName: \"\(url.lastPathComponent)\", sql: \(hashes)\"\"\"\n\(text)\n\"\"\"\(hashes)),\n"
}
source += "    ]\n}\n"
try source.write(toFile: String(output), atomically: true, encoding: .utf8)
