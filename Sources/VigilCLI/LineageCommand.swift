import ArgumentParser
import Crypto
import Foundation
import VigilStore
import VigilWorkflow

/// `vigil lineage MODEL@VERSION`: what led to a model version and what it led to.
struct LineageCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "lineage",
        abstract: "The lineage graph of a model version (or any node, as KIND:ID), up- and downstream.",
        discussion: """
            From the data window whose drift raised an alert, through the alert, the run, the training window, the version,
            its shadow comparison and promotion. --format openlineage prints OpenLineage run events (JSON lines) for Marquez or DataHub.
            """
    )

    enum Format: String, ExpressibleByArgument, CaseIterable {
        case text, json, openlineage
    }

    @OptionGroup var global: GlobalOptions
    @Argument(help: "MODEL@VERSION, or KIND:ID (alert:12, run:40).") var node: String
    @Option(help: "text, json or openlineage.") var format: Format = .text

    func run() async throws {
        let start = try Self.parse(node)
        try await global.withDatabase(logger: global.makeLogger()) { database in
            let graph = try await LineageStore(database: database).graph(around: start)
            guard !graph.upstream.isEmpty || !graph.downstream.isEmpty else {
                throw CommandFailure("nothing is recorded about \(start) in the lineage graph")
            }
            let formatter = ISO8601DateFormatter()
            switch format {
            case .text:
                print("\(start)")
                print("\nupstream (what led to it):")
                for edge in graph.upstream.reversed() { print("  \(edge.from) —\(edge.relation)→ \(edge.to)  [\(formatter.string(from: edge.createdAt))\(edge.runID.map { ", run \($0)" } ?? "")]") }
                print("\ndownstream (what it led to):")
                for edge in graph.downstream { print("  \(edge.from) —\(edge.relation)→ \(edge.to)  [\(formatter.string(from: edge.createdAt))\(edge.runID.map { ", run \($0)" } ?? "")]") }
            case .json:
                func rows(_ edges: [LineageEdge]) -> JSONValue {
                    .array(edges.map { edge in
                        .object([
                            "from": .string(edge.from.description), "to": .string(edge.to.description), "relation": .string(edge.relation),
                            "run": edge.runID.map { .number(Double($0)) } ?? .null, "at": .string(formatter.string(from: edge.createdAt)),
                        ])
                    })
                }
                print(try JSONOutput.encode(JSONValue.object(["node": .string(start.description), "upstream": rows(graph.upstream), "downstream": rows(graph.downstream)])))
            case .openlineage:
                for line in try await Self.openLineage(graph.upstream + graph.downstream, runs: RunStore(database: database)) { print(line) }
            }
        }
    }

    /// `churn@3` → `model_version:churn@3`; `alert:12` as is.
    static func parse(_ text: String) throws -> LineageNode {
        if let at = text.firstIndex(of: "@"), !text.contains(":") {
            guard Int(text[text.index(after: at)...]) != nil, at > text.startIndex else { throw ValidationError("expected MODEL@VERSION, such as churn@3") }
            return LineageNode(kind: "model_version", id: text)
        }
        guard let colon = text.firstIndex(of: ":"), colon > text.startIndex, text.index(after: colon) < text.endIndex else {
            throw ValidationError("expected MODEL@VERSION (churn@3) or KIND:ID (alert:12)")
        }
        return LineageNode(kind: String(text[..<colon]), id: String(text[text.index(after: colon)...]))
    }

    /// One OpenLineage `COMPLETE` run event per run in the edges: the run's job is its workflow,
    /// its inputs what led into it, its outputs what it produced.
    static func openLineage(_ edges: [LineageEdge], runs: RunStore) async throws -> [String] {
        var byRun: [Int: (inputs: [LineageNode], outputs: [LineageNode])] = [:]
        for edge in edges {
            if edge.to.kind == "run", let run = Int(edge.to.id) { byRun[run, default: ([], [])].inputs.append(edge.from) }
            if edge.from.kind == "run", let run = Int(edge.from.id) { byRun[run, default: ([], [])].outputs.append(edge.to) }
            if let run = edge.runID, edge.from.kind != "run", edge.to.kind != "run" {
                byRun[run, default: ([], [])].inputs.append(edge.from)
                byRun[run, default: ([], [])].outputs.append(edge.to)
            }
        }
        let formatter = ISO8601DateFormatter()
        var lines: [String] = []
        for (id, io) in byRun.sorted(by: { $0.key < $1.key }) {
            let run = try await runs.run(id)
            let outputs = Array(Set(io.outputs.map(\.description))).sorted()
            let inputs = Array(Set(io.inputs.map(\.description)).subtracting(outputs)).sorted()
            func dataset(_ name: String) -> JSONValue { .object(["namespace": .string("vigil"), "name": .string(name)]) }
            let event: JSONValue = .object([
                "eventType": .string(run.state == .failed ? "FAIL" : run.state == .succeeded ? "COMPLETE" : "RUNNING"),
                "eventTime": .string(formatter.string(from: run.finishedAt ?? run.createdAt)),
                "run": .object(["runId": .string(uuid("vigil-run-\(id)")), "facets": .object([
                    "vigil": .object(["_producer": .string(producer), "_schemaURL": .string(schemaURL), "run_id": .number(Double(id)),
                                      "trigger": .string(run.trigger.kind.rawValue), "actor": .string(run.trigger.actor)]),
                ])]),
                "job": .object(["namespace": .string("vigil"), "name": .string(run.workflow)]),
                "inputs": .array(inputs.map(dataset)), "outputs": .array(outputs.map(dataset)),
                "producer": .string(producer), "schemaURL": .string(schemaURL),
            ])
            lines.append(try JSONOutput.encode(event))
        }
        return lines
    }

    static let producer = "https://github.com/vigil-mlops/vigil"
    static let schemaURL = "https://openlineage.io/spec/2-0-2/OpenLineage.json#/$defs/RunEvent"

    /// A stable UUID (version 5 style, from SHA-256) for a name.
    static func uuid(_ name: String) -> String {
        var bytes = Array(SHA256.hash(data: Array(name.utf8)).prefix(16))
        bytes[6] = (bytes[6] & 0x0F) | 0x50
        bytes[8] = (bytes[8] & 0x3F) | 0x80
        let hex = bytes.map { String(format: "%02x", $0) }.joined()
        let parts = [hex.prefix(8), hex.dropFirst(8).prefix(4), hex.dropFirst(12).prefix(4), hex.dropFirst(16).prefix(4), hex.dropFirst(20)]
        return parts.joined(separator: "-")
    }
}
