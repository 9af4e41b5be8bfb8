import Foundation
import Testing
import VigilTesting

@Suite("vigil bench scale", .timeLimit(.minutes(3)))
struct BenchScaleTests {
    @Test("a shortened run prints one JSON line with one figure per day for each measure (and the archiving retention pass's), and refuses a log shorter than two days")
    func shortened() async throws {
        let output = try await VigilProcess.run(["bench", "scale", "--rows", "3000", "--rows-per-day", "1000", "--archive"], environment: VigilProcess.cleanEnvironment())
        try #require(output.status == 0, "\(output.standardError)")
        let lines = output.standardOutput.split(separator: "\n")
        #expect(lines.count == 1)
        let figures = try #require(try JSONSerialization.jsonObject(with: Data(lines[0].utf8)) as? [String: Any])
        #expect(figures["rows"] as? Int == 3_000 && figures["days"] as? Int == 3)
        #expect((figures["rows_in_log"] as? [Double]) == [1_000, 2_000, 3_000])
        for name in ["ingest_rows_per_s", "bytes_per_row"] {
            let values = try #require(figures[name] as? [Double], "\(name)")
            #expect(values.count == 3 && values.allSatisfy { $0 > 0 }, "\(name): \(values)")
        }
        // Day 0 is the baseline; each later day is one monitored window.
        for name in ["monitor_pass_s", "scan_s", "monitor_to_scan", "monitor_pass_peak_resident_mib"] {
            let values = try #require(figures[name] as? [Double], "\(name)")
            #expect(values.count == 2 && values.allSatisfy { $0 > 0 }, "\(name): \(values)")
        }
        // --archive: day 0's 1,000 rows exported and dropped (the bench checks the counts itself).
        for name in ["archive_pass_s", "archive_rows_per_s", "archive_file_bytes_per_row", "archive_pass_peak_resident_mib"] {
            #expect((figures[name] as? Double).map { $0 > 0 } == true, "\(name): \(String(describing: figures[name]))")
        }
        let refused = try await VigilProcess.run(["bench", "scale", "--rows", "1000", "--rows-per-day", "1000"], environment: VigilProcess.cleanEnvironment())
        #expect(refused.status != 0 && refused.standardError.contains("--rows at least two days' worth"), "\(refused.standardError)")
    }
}
