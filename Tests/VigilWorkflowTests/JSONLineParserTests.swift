import Foundation
import Testing
import VigilStatistics
@testable import VigilWorkflow

/// ``JSONLineParser`` answers only where Foundation's `JSONSerialization` would read a line the
/// same way; everything else it leaves to Foundation.
@Suite("The fast path for JSON-lines records")
struct JSONLineParserTests {
    static func fast(_ line: String) -> [JSONLineParser.Entry]? {
        // In the order the reader numbers columns, as Foundation's entries come.
        Array(line.utf8).withUnsafeBytes(JSONLineParser.line).map { line in line.order.map { line.entries[$0] } }
    }

    static func foundation(_ line: String) -> Result<[JSONLineParser.Entry], DataFileError> {
        Result { () throws(DataFileError) in try DataRecordReader.foundationEntries(ArraySlice(line.utf8), file: "f", line: 1) }
    }

    /// Fails unless the fast path's answer, when it gives one, is Foundation's.
    static func checkAgrees(_ line: String) {
        guard let fast = fast(line) else { return }
        switch foundation(line) {
        case let .success(reference):
            #expect(fast.map(\.key) == reference.map(\.key), "keys of \(line)")
            #expect(fast.map(\.value) == reference.map(\.value), "values of \(line)")
        case let .failure(error):
            Issue.record("the fast path read a line Foundation refuses (\(error)): \(line)")
        }
    }

    @Test("an inference log's lines take the fast path and read as Foundation reads them")
    func typicalLines() {
        let lines = [
            #"{"request_id":"r1-0","ts":"2026-11-24T00:00:00Z","prediction":"1","score":0.5513,"latency_ms":17.25,"error":false,"order_amount":54.6,"order_count":3,"plan":"pro","region":"EU"}"#,
            #"{"request_id": "a", "features": {"tenure": 12, "plan": "basic", "z": null}, "score": 1, "label": "yes"}"#,
            #" { "id" : "x\ty" , "embedding" : [0.25, -1, 3.5, null, "n", true] , "empty": [] } "#,
            #"{"plan":"a\"b\\c\/d\n","amount":-12.75,"zero":0,"neg":-0.5,"big":123456789012345}"#,
            #"{"région":"Zürich 東京","features":{"région":"inner"},"a":"é"}"#,
            "{}",
        ]
        for line in lines {
            #expect(Self.fast(line) != nil, "the fast path should read \(line)")
            Self.checkAgrees(line)
        }
    }

    @Test("what the fast path leaves to Foundation", arguments: [
        #"{"a":1e5}"#, #"{"a":-0}"#, #"{"a":1234567890123456}"#, #"{"a":01}"#, #"{"a":.5}"#, #"{"a":1.}"#,
        #"{"a":"\u00e9"}"#, #"{"a":[[1]]}"#, #"{"a":{"b":1}}"#, #"{"o":{}}"#, #"{"features":{"b":{"c":1}}}"#, #"{"a":1,"a":2}"#,
        #"{"a":1"#, #"{"a":1}x"#, #"[1,2]"#, #"{"a":tru}"#, "{\"a\":\"x\u{1}\"}", #"{"a":"\x"}"#, "",
    ])
    func leftToFoundation(_ line: String) {
        #expect(Self.fast(line) == nil, "\(line)")
    }

    @Test("20,000 lines built from JSON's pieces, valid and not: wherever the fast path answers, Foundation agrees")
    func differential() {
        var random = SeededGenerator(seed: 7)
        let keys = ["a", "plan", "features", "score", "\"q", "é", "", "a"]
        let scalars = ["1", "-1", "0", "-0", "0.5", "-12.25", "1e3", "01", "1.", ".5", "123456789012345", "1234567890123456", "-", "--1",
                       "true", "false", "null", "tru", "\"x\"", "\"\\n\\t\\\"\"", "\"\\u0041\"", "\"é\"", "\"a\\q\"", "\"unterminated"]
        func pick(_ options: [String]) -> String { options[Int(random.uniform() * Double(options.count)) % options.count] }
        func value(depth: Int) -> String {
            switch Int(random.uniform() * 10) {
            case 0 where depth < 2:
                return "[" + (0..<Int(random.uniform() * 4)).map { _ in value(depth: depth + 1) }.joined(separator: ",") + "]"
            case 1 where depth < 2:
                return object(depth: depth + 1)
            default:
                return pick(scalars)
            }
        }
        func object(depth: Int) -> String {
            let members = (0..<Int(random.uniform() * 5)).map { _ in "\"\(pick(keys))\"" + pick([":", " : ", ":"]) + value(depth: depth) }
            return "{" + members.joined(separator: pick([",", ", ", ","])) + pick(["}", "}", " }", ""])
        }
        var answered = 0
        for _ in 0..<20_000 {
            let line = pick(["", " "]) + object(depth: 0) + pick(["", " ", "\r", ",", "x"])
            if Self.fast(line) != nil { answered += 1 }
            Self.checkAgrees(line)
        }
        // The comparison means something only if the fast path answered often.
        #expect(answered > 2_000, "the fast path answered \(answered) of 20,000 lines")
    }

    @Test("a file's records are the same read fast as read by Foundation line by line: lines that repeat the keys before them, in another order, with new keys, with a key at the top and in features")
    func recordsAsFoundationReadsThem() throws {
        let lines = [
            #"{"request_id":"a","score":0.5,"plan":"pro"}"#,
            #"{"request_id":"b","score":0.25,"plan":"team"}"#,
            #"{"plan":"basic","request_id":"c","score":1}"#,
            #"{"request_id":"d","region":"EU","score":0.75,"plan":"pro"}"#,
            #"{"request_id":"e","région":"top","features":{"région":"inner","tenure":3}}"#,
            #"{"request_id":"f","région":"top","features":{"région":"inner","tenure":4}}"#,
            #"{"request_id":"g","features":{"tenure":5},"score":"A"}"#,
            #"{"request_id":"h","features":{"tenure":6},"score":0.5}"#,
        ]
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-jsonl-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let file = folder.appendingPathComponent("lines.jsonl")
        try Data(lines.joined(separator: "\n").utf8).write(to: file)
        let reader = try DataRecordReader(path: file.path)
        // Foundation's reading, line by line, in the columns the reader numbered.
        var number = 0
        while let record = try reader.next() {
            number += 1
            let reference = try DataRecordReader.foundationEntries(ArraySlice(lines[number - 1].utf8), file: "f", line: number)
            var expected = [String: JSONRecordValue]()
            for (key, value) in reference { expected[key] = value }
            for (column, name) in reader.columnNames.enumerated() {
                #expect(record.text(column) == expected[name].flatMap { value in
                    switch value {
                    case let .text(text): text
                    case let .number(number): NumberText.format(number)
                    case let .bool(flag): flag ? "true" : "false"
                    case .numbers, .missing: nil
                    }
                }, "line \(number), \(name)")
            }
        }
        #expect(number == lines.count)
        #expect(reader.columnNames == ["plan", "request_id", "score", "region", "région", "tenure"])
    }
}
