import Foundation
import Hummingbird
import VigilStore
import VigilWorkflow

/// The audit log, for auditors; and Prometheus metrics.
extension APIRoutes {
    mutating func addAuditRoutes() {
        add(.get, "/metrics", .viewer) { request in
            let sensitive = try await WorkflowStore(database: request.database).sensitiveModels()
            let hidden = sensitive.filter { !request.principal.maySee(sensitiveModel: $0) }
            let text = MetricsExporter.render(try await ServiceSnapshot.read(from: request.database, hiding: hidden))
            return Response(status: .ok, headers: [.contentType: "text/plain; version=0.0.4"], body: .init(byteBuffer: ByteBuffer(string: text)))
        }
        add(.get, "/api/v1/audit", .auditor) { request in
            let limit = try request.queryParameter("limit", in: 1...1_000, default: 200)
            let entries = try await AuditLog(database: request.database).list(
                since: try request.queryStart(), actor: try request.queryParameter("actor"), subject: try request.queryParameter("subject"),
                after: try request.queryParameter("after", in: 0...Int(Int32.max), default: 0), limit: limit
            )
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            let rows: [JSONValue] = entries.map { entry in
                .object([
                    "id": .number(Double(entry.id)), "at": .string(formatter.string(from: entry.at)), "actor": .string(entry.actor),
                    "action": .string(entry.action), "subject": .string(entry.subject), "reason": entry.reason.map(JSONValue.string) ?? .null,
                    "details": .object(entry.details), "previous_hash": .string(entry.previousHash), "hash": .string(entry.hash),
                ])
            }
            return JSONResponse.ok(JSONValue.object([
                "entries": .array(rows), "next_after": entries.count == limit ? entries.last.map { .number(Double($0.id)) } ?? .null : .null,
            ]))
        }
        add(.get, "/api/v1/audit/verify", .auditor) { request in
            let saved = try request.queryParameter("head").map { text in
                guard let head = AuditHead(text) else { throw APIError.badRequest("query parameter 'head' must be ID:HASH as `vigil audit head` prints it") }
                return head
            }
            let result = try await AuditLog(database: request.database).verify(against: saved)
            var body: [String: JSONValue] = [
                "intact": .bool(result.isIntact), "checked": .number(Double(result.checked)), "head": .string(result.head.description),
            ]
            if let (entry, problem) = result.broken {
                body["broken"] = .object(["id": .number(Double(entry.id)), "action": .string(entry.action), "subject": .string(entry.subject), "problem": .string(problem)])
            }
            if let cut = result.cut { body["cut"] = .string(cut) }
            return JSONResponse.ok(JSONValue.object(body))
        }
    }
}
