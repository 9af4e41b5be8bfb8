import Foundation
import Hummingbird
import VigilStore
import VigilWorkflow

/// Models: routing for the serving layer, versions, changelog; drift metrics.
extension APIRoutes {
    static func json(_ routing: ModelRouting) -> JSONValue {
        .object([
            "model": .string(routing.model), "champion_version": routing.championVersion.map { .number(Double($0)) } ?? .null,
            "canary_version": routing.canaryVersion.map { .number(Double($0)) } ?? .null, "canary_weight": .number(routing.canaryWeight),
            "shadow_version": routing.shadowVersion.map { .number(Double($0)) } ?? .null,
            "updated_at": routing.updatedAt.map { .string(ISO8601DateFormatter().string(from: $0)) } ?? .null,
        ])
    }

    mutating func addModelRoutes() {
        add(.get, "/api/v1/models", .viewer) { request in
            let models = try await ModelRegistry(database: request.database).models()
            let visible = try await request.visible(models.map(\.model))
            return JSONResponse.ok(JSONValue.object(["models": .array(models.filter { visible.contains($0.model) }.map(Self.json))]))
        }
        add(.get, "/api/v1/models/{model}/routing", anyOf: [.viewer, .ingest]) { request in
            let model = try request.modelPath()
            try await request.checkModelVisible(model)
            let routing = Self.json(try await ModelRegistry(database: request.database).routing(of: model))
            return JSONResponse.revalidated(routing, ifNoneMatch: request.request.headers[.ifNoneMatch])
        }
        add(.get, "/api/v1/models/{model}/versions", .viewer) { request in
            let model = try request.modelPath()
            try await request.checkModelVisible(model)
            let registry = ModelRegistry(database: request.database)
            _ = try await registry.routing(of: model)
            let formatter = ISO8601DateFormatter()
            let versions: [JSONValue] = try await registry.versions(of: model).map { version in
                .object([
                    "version": .number(Double(version.version)), "artifact_uri": .string(version.artifactURI), "checksum": version.checksum.map(JSONValue.string) ?? .null,
                    "framework": .string(version.framework), "parent_version": version.parentVersion.map { .number(Double($0)) } ?? .null,
                    "run_id": version.runID.map { .number(Double($0)) } ?? .null, "metrics": .object(version.metrics), "parameters": .object(version.parameters),
                    "archived": .bool(version.archived), "created_at": .string(formatter.string(from: version.createdAt)), "created_by": .string(version.createdBy),
                ])
            }
            return JSONResponse.ok(JSONValue.object(["versions": .array(versions)]))
        }
        add(.get, "/api/v1/models/{model}/changelog", .viewer) { request in
            let model = try request.modelPath()
            try await request.checkModelVisible(model)
            let registry = ModelRegistry(database: request.database)
            _ = try await registry.routing(of: model)
            let formatter = ISO8601DateFormatter()
            let entries: [JSONValue] = try await registry.changelog(of: model).map { entry in
                .object([
                    "at": .string(formatter.string(from: entry.at)), "actor": .string(entry.actor), "action": .string(entry.action),
                    "version": entry.version.map { .number(Double($0)) } ?? .null, "alias": entry.alias.map(JSONValue.string) ?? .null,
                    "from_version": entry.fromVersion.map { .number(Double($0)) } ?? .null, "reason": entry.reason.map(JSONValue.string) ?? .null,
                    "run_id": entry.runID.map { .number(Double($0)) } ?? .null, "details": .object(entry.details),
                ])
            }
            return JSONResponse.ok(JSONValue.object(["entries": .array(entries)]))
        }
        add(.get, "/api/v1/models/{model}/metrics", .viewer) { request in
            let model = try request.modelPath()
            try await request.checkModelVisible(model)
            let kindText = try request.queryParameter("kind") ?? MetricListing.Kind.performance.rawValue
            guard let kind = MetricListing.Kind(rawValue: kindText) else {
                let kinds = MetricListing.Kind.allCases.map(\.rawValue)
                throw APIError.badRequest("query parameter 'kind' must be one of \(kinds.joined(separator: ", "))\(Suggestion.hint(for: kindText, in: kinds))")
            }
            func flag(_ name: String) throws -> Bool {
                switch try request.queryParameter(name) {
                case nil, "false": return false
                case "true": return true
                default: throw APIError.badRequest("query parameter '\(name)' must be true or false")
                }
            }
            let since = try request.queryStart() ?? request.now.addingTimeInterval(-7 * 86_400)
            let listing = try await MetricsStore(database: request.database).listing(
                kind, model: model, since: since, slices: try flag("slices"), driftedOnly: try flag("drifted"), estimated: try flag("estimated"),
                limit: try request.queryParameter("limit", in: 1...100_000, default: 10_000)
            )
            let formatter = ISO8601DateFormatter()
            return JSONResponse.ok(JSONValue.object([
                "model": .string(model), "kind": .string(kind.rawValue), "columns": .array(listing.columns.map(JSONValue.string)),
                "rows": .array(listing.rows.map { row in .array([.string(formatter.string(from: row.windowStart))] + row.cells.map(JSONValue.string)) }),
            ]))
        }
        add(.get, "/api/v1/models/{model}/drift", .viewer) { request in
            let model = try request.modelPath()
            try await request.checkModelVisible(model)
            let windows = try await MetricsStore(database: request.database).recentWindows(model: model, count: try request.queryParameter("windows", in: 1...500, default: 24))
            let formatter = ISO8601DateFormatter()
            let rows: [JSONValue] = windows.map { window in
                .object([
                    "window_start": .string(formatter.string(from: window.start)), "window_end": .string(formatter.string(from: window.end)),
                    "rows": .number(Double(window.rows)),
                    "drift": .array(window.drift.map { metric in
                        .object([
                            "feature": .string(metric.featureName), "role": .string(metric.columnRole), "method": .string(metric.method),
                            "score": .number(metric.driftScore), "threshold": .number(metric.driftThreshold),
                            "p_value": metric.pValue.map(JSONValue.number) ?? .null, "drifted": .bool(metric.drifted),
                        ])
                    }),
                    "metrics": .object(window.metrics.mapValues { .number($0.value) }),
                ])
            }
            return JSONResponse.ok(JSONValue.object(["model": .string(model), "windows": .array(rows)]))
        }
    }
}
