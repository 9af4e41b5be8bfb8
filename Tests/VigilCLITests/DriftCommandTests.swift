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
}
