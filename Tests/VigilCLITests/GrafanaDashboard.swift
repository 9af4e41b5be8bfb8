import Foundation
import Testing
import VigilTesting

/// `dashboards/vigil.json`, the Grafana dashboard, read for the tests: its structure checked
/// against what Grafana's dashboard model requires, and its queries taken out to run against a
/// real PostgreSQL and a real Prometheus.
struct GrafanaDashboard {
    static let file = PythonClientTests.package.appendingPathComponent("dashboards/vigil.json")

    /// The PostgreSQL queries (panels, the model variable, the alert annotations) and the PromQL
    /// expressions, with Grafana's macros and `$model` filled in for `model` and the time range.
    let sql: [(name: String, query: String)]
    let promQL: [(name: String, expression: String)]
    /// What is wrong with the dashboard's structure, one line each.
    let problems: [String]

    init(model: String, from: String, to: String) throws {
        let root = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: Self.file)) as? [String: Any])
        var problems: [String] = []
        for key in ["uid", "title", "schemaVersion", "panels", "templating", "annotations", "time"] where root[key] == nil {
            problems.append("the dashboard has no '\(key)'")
        }
        let inputs = Set(((root["__inputs"] as? [[String: Any]]) ?? []).compactMap { $0["name"] as? String }.map { "${\($0)}" })
        func fill(_ text: String) -> String {
            text.replacingOccurrences(of: #"\$__timeFilter\(([a-z_]+)\)"#, with: "$1 BETWEEN '\(from)' AND '\(to)'", options: .regularExpression)
                .replacingOccurrences(of: "$model", with: model)
        }
        var sql: [(String, String)] = [], promQL: [(String, String)] = []
        func take(_ target: [String: Any], datasource: [String: Any]?, in name: String) {
            let source = (target["datasource"] as? [String: Any]) ?? datasource ?? [:]
            guard let uid = source["uid"] as? String, inputs.contains(uid) else {
                problems.append("\(name): its data source \(source["uid"] ?? "none") is not one of the dashboard's inputs \(inputs.sorted())")
                return
            }
            switch source["type"] as? String {
            case "grafana-postgresql-datasource":
                guard let query = target["rawSql"] as? String, target["rawQuery"] as? Bool == true else { problems.append("\(name): a PostgreSQL target without rawSql"); return }
                sql.append((name, fill(query)))
            case "prometheus":
                guard let expression = target["expr"] as? String else { problems.append("\(name): a Prometheus target without expr"); return }
                promQL.append((name, fill(expression)))
            default:
                problems.append("\(name): unknown data source type \(source["type"] ?? "none")")
            }
        }
        var ids = Set<Int>()
        for panel in (root["panels"] as? [[String: Any]]) ?? [] {
            let name = "panel '\(panel["title"] as? String ?? "?")'"
            guard let id = panel["id"] as? Int, ids.insert(id).inserted else { problems.append("\(name): missing or repeated id"); continue }
            guard ["stat", "timeseries", "table", "bargauge", "gauge", "barchart", "text"].contains(panel["type"] as? String ?? "") else {
                problems.append("\(name): unknown panel type \(panel["type"] ?? "none")")
                continue
            }
            let grid = (panel["gridPos"] as? [String: Int]) ?? [:]
            if !(grid["x"].map { (0..<24).contains($0) } ?? false) || !(grid["w"].map { (1...24).contains($0) } ?? false) || (grid["x"] ?? 0) + (grid["w"] ?? 0) > 24
                || (grid["y"] ?? -1) < 0 || (grid["h"] ?? 0) < 1 {
                problems.append("\(name): gridPos \(grid) is off Grafana's 24-column grid")
            }
            let targets = (panel["targets"] as? [[String: Any]]) ?? []
            if targets.isEmpty { problems.append("\(name): no targets") }
            for target in targets { take(target, datasource: panel["datasource"] as? [String: Any], in: "\(name) \(target["refId"] ?? "")") }
        }
        for variable in ((root["templating"] as? [String: Any])?["list"] as? [[String: Any]]) ?? [] {
            take(["rawSql": variable["query"] ?? "", "rawQuery": true], datasource: variable["datasource"] as? [String: Any], in: "variable '\(variable["name"] ?? "")'")
        }
        for annotation in ((root["annotations"] as? [String: Any])?["list"] as? [[String: Any]]) ?? [] {
            take((annotation["target"] as? [String: Any]) ?? [:], datasource: annotation["datasource"] as? [String: Any], in: "annotation '\(annotation["name"] ?? "")'")
        }
        self.sql = sql
        self.promQL = promQL
        self.problems = problems
    }

    /// What Grafana's dashboard schema (`Fixtures/grafana-dashboard.schema.json`, transcribed from
    /// Grafana's CUE) finds wrong with the dashboard, checked with jsonschema_rs from
    /// schemathesis's venv: the exit status and the problems, one a line.
    static func schemaCheck() async throws -> (status: Int32, output: String) {
        let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        let script = """
            import json, sys, jsonschema_rs
            schema = json.load(open(sys.argv[1]))
            problems = [f"{list(e.instance_path)}: {e.message[:300]}" for e in jsonschema_rs.validator_for(schema).iter_errors(json.load(open(sys.argv[2])))]
            print("\\n".join(problems) or "valid")
            sys.exit(1 if problems else 0)
            """
        return try await runCollectingOutput(
            PythonClientTests.package.appendingPathComponent(".build/schemathesis/bin/python").path,
            ["-c", script, here.appendingPathComponent("Fixtures/grafana-dashboard.schema.json").path, file.path]
        )
    }
}
