import Foundation
import VigilStatistics
import VigilWorkflow

/// Seeded inference logs for the ingest and monitor benchmarks: 8 features (6 numeric, 2 categorical).
enum SyntheticInferences {
    static let features = [
        ColumnSchema(name: "order_amount", type: .number, minimum: 0),
        ColumnSchema(name: "order_count", type: .integer, minimum: 0),
        ColumnSchema(name: "tenure_months", type: .integer, minimum: 0, maximum: 600),
        ColumnSchema(name: "support_tickets", type: .integer, minimum: 0),
        ColumnSchema(name: "discount_rate", type: .number, minimum: 0, maximum: 1),
        ColumnSchema(name: "session_minutes", type: .number, minimum: 0),
        ColumnSchema(name: "plan", type: .category, allowed: ["basic", "pro", "team"]),
        ColumnSchema(name: "region", type: .category),
    ]

    /// Writes `rows` rows spread evenly over [start, start + seconds) to a CSV file; with
    /// `labelled`, each row also has a label that agrees with its prediction four times in five.
    static func writeCSV(to url: URL, rows: Int, start: Date, seconds: Double, seed: UInt64, shift: Double = 0, labelled: Bool = false) throws {
        var random = SeededGenerator(seed: seed)
        let plans = ["basic", "pro", "team"], regions = ["EU", "US", "APAC", "LATAM"]
        let handle = try FileHandle(forWritingTo: { _ = FileManager.default.createFile(atPath: url.path, contents: nil); return url }())
        defer { try? handle.close() }
        var text = "request_id,ts,model_version,prediction,score,latency_ms,error,order_amount,order_count,tenure_months,support_tickets,discount_rate,session_minutes,plan,region\(labelled ? ",label" : "")\n"
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        var stamp = ""
        var stampSecond = -1
        for row in 0..<rows {
            let offset = seconds * Double(row) / Double(rows)
            if Int(offset) != stampSecond {
                stampSecond = Int(offset)
                stamp = formatter.string(from: start.addingTimeInterval(Double(stampSecond)))
            }
            let score = random.uniform()
            let amount = exp(random.normal(mean: 4 + shift, deviation: 0.8))
            text += "r\(seed)-\(row),\(stamp),v1,\(score > 0.5 ? 1 : 0),\(Self.short(score)),\(Self.short(5 + random.uniform() * 40)),false,"
            text += "\(Self.short(amount)),\(Int(random.uniform() * 40)),\(Int(random.uniform() * 120)),\(Int(random.uniform() * 6)),"
            text += "\(Self.short(random.uniform() * 0.5)),\(Self.short(abs(random.normal(mean: 30, deviation: 10)))),"
            text += "\(plans[Int(random.uniform() * 3) % 3]),\(regions[Int(random.uniform() * 4) % 4])"
            if labelled { text += (score > 0.5) == (random.uniform() < 0.8) ? ",1" : ",0" }
            text += "\n"
            if text.utf8.count > 1 << 20 {
                handle.write(Data(text.utf8))
                text = ""
            }
        }
        handle.write(Data(text.utf8))
    }

    /// Four decimals, as a serving platform would log.
    static func short(_ value: Double) -> String {
        String(Double(Int((value * 10_000).rounded())) / 10_000)
    }
}
