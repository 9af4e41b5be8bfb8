import Foundation
import Testing
import VigilWorkflow

@Suite("Reading CSV and JSON-lines data files")
struct DataFileReaderTests {
    /// Writes `text` to a temporary file with the given extension and returns its path.
    static func file(_ text: String, extension ext: String = "csv") throws -> String {
        let url = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-data-\(UUID().uuidString).\(ext)")
        try Data(text.utf8).write(to: url)
        return url.path
    }

    @Test("numbers, text, quotes, CRLF and missing markers")
    func csvTypes() throws {
        let path = try Self.file("amount,plan,note\r\n1.5,basic,\"a, \"\"quoted\"\" note\"\r\n,pro,NA\r\n-2e3,\"team\",\r\n\r\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let table = try DataFileReader.read(path: path)
        #expect(table.columnNames == ["amount", "plan", "note"])
        #expect(table.rowCount == 3)
        guard case let .numeric(amounts) = table["amount"] else { Issue.record("amount should be numeric"); return }
        #expect(amounts[0] == 1.5 && amounts[1].isNaN && amounts[2] == -2000)
        guard case let .text(notes) = table["note"] else { Issue.record("note should be text"); return }
        #expect(notes == ["a, \"quoted\" note", nil, nil])
        guard case let .text(plans) = table["plan"] else { Issue.record("plan should be text"); return }
        #expect(plans == ["basic", "pro", "team"])
    }

    @Test("a column that turns out not to be numeric keeps its earlier values as text")
    func lateText() throws {
        let path = try Self.file("code\n7\n12\nX9\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        guard case let .text(codes) = try DataFileReader.read(path: path)["code"] else { Issue.record("code should be text"); return }
        #expect(codes == ["7", "12", "X9"])
    }

    @Test("malformed files name the file, the line and the reason", arguments: [
        ("a,b\n1,2\n3\n", "3: expected 2 fields as in the header, found 1"),
        ("a,b\n1,\"2\n3,4\n", "2: a quoted field is never closed"),
        ("a,b\n1,\"2\"x\n", "2: unexpected text after a closing quote"),
        ("a,a\n1,2\n", "1: the header row names column 'a' twice"),
        ("", "the file is empty; a header row is needed"),
        ("a,b\n1,\u{FFFD}\n", nil),
    ])
    func malformed(text: String, expected: String?) throws {
        let path = try Self.file(text)
        defer { try? FileManager.default.removeItem(atPath: path) }
        guard let expected else {
            #expect(throws: Never.self) { try DataFileReader.read(path: path) }
            return
        }
        #expect { try DataFileReader.read(path: path) } throws: { error in
            "\(error)" == "\(path):\(expected)" || "\(error)" == "\(path): \(expected)"
        }
    }

    @Test("a declared numeric column rejects text with its line; invalid UTF-8 is an error")
    func declaredNumeric() throws {
        let path = try Self.file("x\n1\n2\nthree\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect { try DataFileReader.read(path: path, readings: ["x": .numeric]) } throws: { error in
            "\(error)" == "\(path):4: column 'x': 'three' is not a number"
        }
        let binary = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-bin-\(UUID().uuidString).csv")
        try Data([0x61, 0x0A, 0xFF, 0xFE, 0x0A]).write(to: binary)
        defer { try? FileManager.default.removeItem(at: binary) }
        #expect { try DataFileReader.read(path: binary.path) } throws: { error in "\(error)".contains(":2: column 'a': the value is not valid UTF-8") }
    }

    @Test("JSON lines: numbers, strings, booleans, null; bad lines are named")
    func jsonLines() throws {
        let path = try Self.file(#"{"amount": 3, "plan": "pro", "vip": true}"# + "\n\n" + #"{"amount": null, "plan": "basic", "vip": false}"# + "\n", extension: "jsonl")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let table = try DataFileReader.read(path: path)
        #expect(table.columnNames == ["amount", "plan", "vip"])
        guard case let .numeric(amounts) = table["amount"], case let .text(vip) = table["vip"] else {
            Issue.record("unexpected column types"); return
        }
        #expect(amounts[0] == 3 && amounts[1].isNaN)
        #expect(vip == ["true", "false"])
        let bad = try Self.file("{\"a\": 1}\n{\"a\": \n", extension: "jsonl")
        defer { try? FileManager.default.removeItem(atPath: bad) }
        #expect { try DataFileReader.read(path: bad) } throws: { error in "\(error)" == "\(bad):2: not valid JSON" }
    }
}
