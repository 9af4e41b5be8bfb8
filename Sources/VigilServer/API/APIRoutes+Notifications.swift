import Foundation
import Hummingbird
import VigilStore
import VigilWorkflow

/// The notification outbox: what was sent, what waits for another round, what is dead; retrying.
extension APIRoutes {
    static func json(_ notification: AlertNotification) -> JSONValue {
        let formatter = ISO8601DateFormatter()
        func time(_ date: Date?) -> JSONValue { date.map { .string(formatter.string(from: $0)) } ?? .null }
        return .object([
            "id": .number(Double(notification.id)), "alert": .number(Double(notification.alertID)), "channel": .string(notification.channel),
            "kind": .string(notification.kind.rawValue), "state": .string(notification.state.rawValue), "attempts": .number(Double(notification.attempts)),
            "last_status": notification.lastStatus.map { .number(Double($0)) } ?? .null, "last_error": notification.lastError.map(JSONValue.string) ?? .null,
            "dedup_key": .string(notification.dedupKey), "created_at": time(notification.createdAt), "delivered_at": time(notification.deliveredAt),
            "next_attempt_at": time(notification.nextAttemptAt), "dead_at": time(notification.deadAt),
        ])
    }

    mutating func addNotificationRoutes() {
        add(.get, "/api/v1/notifications", .viewer) { request in
            let state = try request.queryParameter("state").map { text in
                guard let state = NotificationSelection(rawValue: text) else {
                    throw APIError.badRequest("query parameter 'state' must be one of \(NotificationSelection.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return state
            }
            let alertID = try request.queryParameter("alert").map { text in
                guard let id = Int(text), (1...9_007_199_254_740_991).contains(id) else {
                    throw APIError.badRequest("query parameter 'alert' must be an alert id (a whole number from 1 to 9007199254740991)")
                }
                return id
            }
            let notifications = try await NotificationOutbox(database: request.database).list(
                state: state, channel: try request.queryParameter("channel"), alertID: alertID, limit: try request.queryParameter("limit", in: 1...500, default: 100)
            )
            let visible = try await Self.visibleAlerts(Set(notifications.map(\.alertID)), request: request)
            return JSONResponse.ok(JSONValue.object(["notifications": .array(notifications.filter { visible.contains($0.alertID) }.map(Self.json))]))
        }
        add(.post, "/api/v1/notifications/{id}/retry", .operator) { request in
            let id = try request.pathID("id")
            let reason = try request.reason(in: try await request.object(allowing: ["reason"]))
            let outbox = NotificationOutbox(database: request.database)
            guard let notification = try await outbox.list(limit: 1, id: id).first else { throw APIError.notFound("no notification \(id)") }
            guard !(try await Self.visibleAlerts([notification.alertID], request: request)).isEmpty else { throw APIError.notFound("no notification \(id)") }
            let requeued = try await outbox.retry(id: id, actor: request.principal.name, reason: reason, now: request.now)
            return JSONResponse.ok(JSONValue.object(["notifications": .array(requeued.map(Self.json))]))
        }
    }

    /// The alerts among `ids` whose model the principal may see.
    private static func visibleAlerts(_ ids: Set<Int>, request: APIRequest) async throws -> Set<Int> {
        let store = AlertStore(database: request.database)
        var models: [Int: String] = [:]
        for id in ids { models[id] = try await store.alert(id).model }
        let visible = try await request.visible(Array(Set(models.values)))
        return Set(models.filter { visible.contains($0.value) }.keys)
    }
}
