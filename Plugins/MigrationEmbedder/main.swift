import Foundation

// Usage: MigrationEmbedder OUTPUT.swift FILE.sql...
//        MigrationEmbedder --document NAME OUTPUT.swift FILE
// Writes a Swift file holding each migration's file name and exact text, or (with --document) one
// file's text as `NAME.text`.
let arguments = CommandLine.arguments.dropFirst()

/// A raw string literal holding `text` exactly, with enough hashes that nothing in it can close it.
func literal(_ text: String) -> String {
    var hashes = "#"
    while text.contains("\"" + hashes) { hashes += "#" }
    return "\(hashes)\"\"\"\n\(text)\n\"\"\"\(hashes)"
}

if arguments.first == "--document" {
    let values = Array(arguments.dropFirst())
    guard values.count == 3 else {
        FileHandle.standardError.write(Data("usage: MigrationEmbedder --document NAME OUTPUT FILE\n".utf8))
        exit(2)
    }
    let text = try String(contentsOf: URL(fileURLWithPath: values[2]), encoding: .utf8)
    let source = """
        // Generated at build time from \(URL(fileURLWithPath: values[2]).lastPathComponent) by a build plugin. Do not edit.

        /// The document as it was in the repository when this binary was built.
        enum \(values[0]) {
            static let text = \(literal(text))
        }

        """
    try source.write(toFile: values[1], atomically: true, encoding: .utf8)
    exit(0)
}
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
    source += "        MigrationFile(fileName: \"\(url.lastPathComponent)\", sql: \(literal(text))),\n"
}
source += "    ]\n}\n"
try source.write(toFile: String(output), atomically: true, encoding: .utf8)
