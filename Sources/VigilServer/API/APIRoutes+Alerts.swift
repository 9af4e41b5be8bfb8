import Foundation
import Hummingbird
import VigilEngine
import VigilStore
import VigilWorkflow

/// Alerts: list, acknowledge, resolve, silence; and the Alertmanager webhook receiver.
extension APIRoutes {
    static func json(_ alert: Alert) -> JSONValue {
        let formatter = ISO8601DateFormatter()
        return .object([
            "id": .number(Double(alert.id)), "fingerprint": .string(alert.fingerprint), "model": .string(alert.model), "alert": .string(alert.rule),
            "subject": .string(alert.subject), "source": .string(alert.source), "severity": .string(alert.severity.rawValue), "state": .string(alert.state.rawValue),
            "labels": .object(alert.labels.mapValues(JSONValue.string)), "findings": .object(alert.findings), "occurrences": .number(Double(alert.occurrences)),
            "first_seen": .string(formatter.string(from: alert.firstSeen)), "last_seen": .string(formatter.string(from: alert.lastSeen)),
            "acknowledged_by": alert.acknowledgedBy.map(JSONValue.string) ?? .null, "resolved_by": alert.resolvedBy.map(JSONValue.string) ?? .null,
            "resolution": alert.resolution.map(JSONValue.string) ?? .null, "false_positive": .bool(alert.falsePositive),
            "status_reason": alert.statusReason.map(JSONValue.string) ?? .null,
        ])
    }

    mutating func addAlertRoutes() {
        add(.get, "/api/v1/alerts", .viewer) { request in
            let states: [AlertState] = try request.queryParameter("state").map { text in
                try text.split(separator: ",", omittingEmptySubsequences: false).map { name -> AlertState in
                    guard let state = AlertState(rawValue: String(name)) else {
                        throw APIError.badRequest("query parameter 'state' must be among \(AlertState.allCases.map(\.rawValue).joined(separator: ", "))")
                    }
                    return state
                }
            } ?? []
            let model = try request.queryParameter("model")
            if let model { try await request.checkModelVisible(model) }
            let alerts = try await AlertStore(database: request.database).list(states: states, model: model, since: try request.queryStart(),
                                                                                limit: try request.queryParameter("limit", in: 1...500, default: 100))
            let visible = try await request.visible(alerts.map(\.model))
            return JSONResponse.ok(JSONValue.object(["alerts": .array(alerts.filter { visible.contains($0.model) }.map(Self.json))]))
        }
        add(.get, "/api/v1/alerts/{id}", .viewer) { request in
            let alert = try await AlertStore(database: request.database).alert(try request.pathID("id"))
            try await request.checkModelVisible(alert.model)
            return JSONResponse.ok(Self.json(alert))
        }
        typealias Action = @Sendable (AlertStore, Int, String, String, Date) async throws -> Alert
        let actions: [(String, Action)] = [
            ("acknowledge", { store, id, actor, reason, now in
                try await store.acknowledge(id, actor: actor, reason: reason, now: now)
            }),
            ("resolve", { store, id, actor, reason, now in try await store.resolve(id, actor: actor, reason: reason, now: now) }),
            ("false-positive", { store, id, actor, reason, now in try await store.markFalsePositive(id, actor: actor, reason: reason, now: now) }),
        ]
        for (path, act) in actions {
            add(.post, "/api/v1/alerts/{id}/\(path)", .operator) { request in
                let id = try request.pathID("id")
                let reason = try request.reason(in: try await request.object(allowing: ["reason"]))
                let store = AlertStore(database: request.database)
                try await request.checkModelVisible(try await store.alert(id).model)
                return JSONResponse.ok(Self.json(try await act(store, id, request.principal.name, reason, request.now)))
            }
        }
        add(.post, "/api/v1/silences", .operator) { request in
            let body = try await request.object(allowing: ["model", "alert", "for", "reason"])
            let reason = try request.reason(in: body)
            let model = try request.text("model", in: body, required: true)!
            guard case let .string(length)? = body["for"], let duration = WorkflowDuration(length), duration.seconds > 0 else {
                throw APIError.unprocessable("'for' must be a duration from 1s to 36500d, such as 2h")
            }
            let rule = try request.text("alert", in: body)
            try await request.checkModelVisible(model)
            let (id, silenced) = try await AlertStore(database: request.database).silence(model: model, rule: rule, for: duration.seconds,
                                                                                          actor: request.principal.name, reason: reason, now: request.now)
            return JSONResponse.ok(JSONValue.object(["silence": .number(Double(id)), "silenced": .array(silenced.map { .number(Double($0)) })]), status: .created)
        }
        add(.post, "/api/v1/alertmanager", .operator) { request in
            await request.server.handleAlertmanager(request.request)
        }
    }
}
