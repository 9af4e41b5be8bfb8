import Foundation
import Testing
import VigilTesting

/// `examples/python-sklearn/run`: a scikit-learn model trained and served in Python, watched,
/// retrained, judged in shadow and promoted by an embedded Vigil.
@Suite("The bring-your-own-model example", .timeLimit(.minutes(10)))
struct ExampleTests {
    @Test("examples/python-sklearn/run exits 0 and prints one JSON line with promoted_version ≥ 2, the drift alert and the succeeded run")
    func pythonSklearn() async throws {
        guard let python = PythonClientTests.interpreter() else { return }
        let script = PythonClientTests.package.appendingPathComponent("examples/python-sklearn/run").path
        // Every process the example starts inherits this mark, PostgreSQL included.
        let mark = "example-\(UUID().uuidString)"
        let environment = VigilProcess.cleanEnvironment(["PYTHON": python, "VIGIL": VigilProcess.executable.path, "VIGIL_TEST_MARK": mark])
        let result = try await PythonClientTests.run(script, [], environment: environment)
        #expect(result.status == 0, "\(result.output.suffix(3_000))")
        let line = result.output.split(separator: "\n").last { $0.hasPrefix("{") } ?? ""
        let summary = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any], "\(result.output.suffix(2_000))")
        #expect((summary["promoted_version"] as? Int ?? 0) >= 2, "\(line)")
        let runs = summary["runs"] as? [[String: Any]] ?? []
        #expect(runs.count == 1 && runs.first?["state"] as? String == "succeeded", "\(line)")
        let alerts = summary["alerts"] as? [[String: Any]] ?? []
        #expect(alerts.contains { $0["alert"] as? String == "cancer-drift" && $0["severity"] as? String == "hard" }, "\(line)")
        #expect((summary["shadow"] as? [String: Any])?["decision"] as? String == "promote", "\(line)")
        // The embedded cluster its `vigil serve` started is stopped with it.
        let left = Self.processes(marked: mark)
        #expect(left.isEmpty, "the example left processes running: \(left)")
    }

    /// The command lines of running processes whose environment holds `VIGIL_TEST_MARK=mark`.
    static func processes(marked mark: String) -> [String] {
        let entry = Array("VIGIL_TEST_MARK=\(mark)".utf8)
        let processes = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return processes.filter { $0.allSatisfy(\.isNumber) }.compactMap { pid in
            guard let environment = FileManager.default.contents(atPath: "/proc/\(pid)/environ"),
                  environment.split(separator: 0).contains(where: { $0.elementsEqual(entry) }),
                  let command = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") else { return nil }
            return String(decoding: command.map { $0 == 0 ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
        }
    }
}
