import Foundation
import Testing
import VigilTesting

@Suite("vigil drift")
struct DriftCommandTests {
    static func write(_ name: String, _ text: String, in folder: URL) throws -> String {
        let url = folder.appendingPathComponent(name)
        try Data(text.utf8).write(to: url)
        return url.path
    }

    @Test("reports each column and the dataset decision, in table, JSON and CSV")
    func report() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-drift-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var reference = "x,y,plan\n", current = "x,y,plan\n"
        for index in 0..<200 {
            reference += "\(index),\(index % 17),\(["a", "b"][index % 2])\n"
            current += "\(index + 150),\(index % 17),\(["a", "b", "c"][index % 3])\n"
        }
        let referencePath = try Self.write("reference.csv", reference, in: folder)
        let currentPath = try Self.write("current.csv", current, in: folder)
        let environment = VigilProcess.cleanEnvironment()

        let table = try await VigilProcess.run(["drift", referencePath, currentPath], environment: environment)
        #expect(table.status == 0, "\(table.standardError)")
        let lines = table.standardOutput.split(separator: "\n")
        #expect(lines.contains { $0.hasPrefix("x ") && $0.contains(" ks ") && $0.contains(" yes ") })
        #expect(lines.contains { $0.hasPrefix("y ") && $0.contains(" no ") })
        #expect(lines.contains { $0.hasPrefix("plan ") && $0.contains("unseen: c") })
        #expect(table.standardOutput.contains("dataset: DRIFT — 2 of 3 columns drifted"))

        let json = try await VigilProcess.run(["drift", referencePath, currentPath, "--format", "json"], environment: environment)
        let decoded = try JSONSerialization.jsonObject(with: Data(json.standardOutput.utf8)) as? [String: Any]
        let report = try #require(decoded?["report"] as? [String: Any])
        #expect(report["drifted"] as? Bool == true)
        #expect((report["columns"] as? [[String: Any]])?.count == 3)

        let csv = try await VigilProcess.run(["drift", referencePath, currentPath, "--format", "csv", "--method", "psi", "--columns", "x"], environment: environment)
        #expect(csv.standardOutput.hasPrefix("column,kind,method,score,threshold,p_value"))
        #expect(csv.standardOutput.contains("\nx,numeric,psi,"))

        let failing = try await VigilProcess.run(["drift", referencePath, currentPath, "--fail-on-drift"], environment: environment)
        #expect(failing.status == 3)
    }

    @Test("bad input is one line naming file and line, exit 1; bad options exit 2")
    func badInput() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-drift-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let good = try Self.write("good.csv", "a,b\n1,2\n", in: folder)
        let bad = try Self.write("bad.csv", "a,b\n1,2\n3,4,5\n", in: folder)
        let environment = VigilProcess.cleanEnvironment()
        let output = try await VigilProcess.run(["drift", good, bad], environment: environment)
        #expect(output.status == 1)
        #expect(output.standardError == "vigil: error: \(bad):3: expected 2 fields as in the header, found 3\n")
        let missing = try await VigilProcess.run(["drift", good, folder.appendingPathComponent("none.csv").path], environment: environment)
        #expect(missing.status == 1 && missing.standardError.contains("none.csv: cannot read the file"))
        let usage = try await VigilProcess.run(["drift", good, good, "--method", "magic"], environment: environment)
        #expect(usage.status == 2 && usage.standardError.contains("unknown method 'magic'"))
    }

    @Test("a JSON-lines field of arrays is an embedding column: MMD flags a shift in a few dimensions and not an unchanged sample; other methods by flag; a ragged or non-numeric embedding names its line")
    func embeddings() async throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-drift-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        var random = SeededNumbers(seed: 9)
        func file(_ name: String, shift: Double) throws -> String {
            let lines = (0..<300).map { _ in
                let vector = (0..<16).map { dimension in random.normal() + (dimension < 3 ? shift : 0) }
                return "{\"amount\": \(random.normal()), \"vec\": [\(vector.map { String($0) }.joined(separator: ","))]}"
            }
            return try Self.write(name, lines.joined(separator: "\n") + "\n", in: folder)
        }
        let reference = try file("reference.jsonl", shift: 0), same = try file("same.jsonl", shift: 0), shifted = try file("shifted.jsonl", shift: 0.5)
        let environment = VigilProcess.cleanEnvironment()

        let drifted = try await VigilProcess.run(["drift", reference, shifted, "--format", "csv", "--columns", "vec"], environment: environment)
        #expect(drifted.status == 0, "\(drifted.standardError)")
        let row = drifted.standardOutput.split(separator: "\n").first { $0.hasPrefix("vec,") }.map(String.init) ?? ""
        #expect(row.hasPrefix("vec,embedding,mmd,") && row.contains(",yes,300,300,"), "\(drifted.standardOutput)")
        #expect(row.contains("dimension 16; 300 and 300 rows compared, seed 0"))

        let calm = try await VigilProcess.run(["drift", reference, same, "--format", "csv", "--columns", "vec"], environment: environment)
        #expect(calm.standardOutput.contains("\nvec,embedding,mmd,") && calm.standardOutput.contains(",no,300,300,"), "\(calm.standardOutput)")

        for method in ["mean_distance", "pca_ks", "domain_classifier"] {
            let output = try await VigilProcess.run(
                ["drift", reference, shifted, "--format", "csv", "--columns", "vec", "--embedding-method", method], environment: environment
            )
            #expect(output.standardOutput.contains("\nvec,embedding,\(method),") && output.standardOutput.contains(",yes,300,300,"), "\(method): \(output.standardOutput)")
        }

        let ragged = try Self.write("ragged.jsonl", "{\"vec\": [1, 2, 3]}\n\n{\"vec\": [1, 2]}\n", in: folder)
        let raggedRun = try await VigilProcess.run(["drift", reference, ragged], environment: environment)
        #expect(raggedRun.status == 1)
        #expect(raggedRun.standardError == "vigil: error: \(ragged):3: column 'vec': this embedding has 2 values, earlier ones 3\n")
        let words = try Self.write("words.jsonl", "{\"vec\": [1, \"two\"]}\n", in: folder)
        let wordsRun = try await VigilProcess.run(["drift", reference, words], environment: environment)
        #expect(wordsRun.standardError == "vigil: error: \(words):1: column 'vec': an embedding's values must be finite numbers, not two\n")
        let badMethod = try await VigilProcess.run(["drift", reference, same, "--embedding-method", "ks"], environment: environment)
        #expect(badMethod.status == 2)
        #expect(badMethod.standardError.contains("unknown embedding method 'ks'; use one of mmd, domain_classifier, mean_distance, pca_ks"))
    }
}

/// Seeded normal numbers for test files.
private struct SeededNumbers {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func uniform() -> Double {
        state = state &* 6364136223846793005 &+ 1442695040888963407
        return Double(state >> 11) / Double(1 << 53)
    }
    mutating func normal() -> Double {
        (-2 * log(max(uniform(), 1e-300))).squareRoot() * cos(2 * .pi * uniform())
    }
}
