import Foundation
import Hummingbird
import VigilEngine
import VigilStore
import VigilWorkflow

/// Runs: list, show with steps and events, trigger, cancel, approve, reject.
extension APIRoutes {
    static func json(_ run: RunSummary) -> JSONValue {
        let formatter = ISO8601DateFormatter()
        return .object([
            "id": .number(Double(run.id)), "workflow": .string(run.workflow), "workflow_version": .number(Double(run.workflowVersion)),
            "state": .string(run.state.rawValue), "trigger": .object(run.trigger.expressionValue),
            "created_at": .string(formatter.string(from: run.createdAt)), "started_at": run.startedAt.map { .string(formatter.string(from: $0)) } ?? .null,
            "finished_at": run.finishedAt.map { .string(formatter.string(from: $0)) } ?? .null, "error": run.error.map(JSONValue.string) ?? .null,
        ])
    }

    mutating func addRunRoutes() {
        add(.get, "/api/v1/runs", .viewer) { request in
            let limit = try request.queryParameter("limit", in: 1...500, default: 50), offset = try request.queryParameter("offset", in: 0...1_000_000, default: 0)
            let state = try request.queryParameter("state").map { text in
                guard let state = RunState(rawValue: text) else {
                    throw APIError.badRequest("query parameter 'state' must be one of \(RunState.allCases.map(\.rawValue).joined(separator: ", "))")
                }
                return state
            }
            let runs = try await RunStore(database: request.database).list(workflow: try request.queryParameter("workflow"), state: state, limit: limit, offset: offset)
            return JSONResponse.ok(JSONValue.object([
                "runs": .array(runs.map(Self.json)), "next_offset": runs.count == limit ? .number(Double(offset + limit)) : .null,
            ]))
        }
        add(.get, "/api/v1/runs/{id}", .viewer) { request in
            let id = try request.pathID("id")
            let store = RunStore(database: request.database)
            let run = try await store.run(id)
            let formatter = ISO8601DateFormatter()
            let steps: [JSONValue] = try await store.steps(ofRun: id).map { step in
                .object([
                    "name": .string(step.name), "type": .string(step.type), "state": .string(step.state.rawValue), "attempt": .number(Double(step.attempt)),
                    "needs": .array(step.needs.map(JSONValue.string)), "outputs": step.outputs.map(JSONValue.object) ?? .null,
                    "error": step.error.map(JSONValue.string) ?? .null,
                    "started_at": step.startedAt.map { .string(formatter.string(from: $0)) } ?? .null,
                    "finished_at": step.finishedAt.map { .string(formatter.string(from: $0)) } ?? .null,
                ])
            }
            let events: [JSONValue] = try await store.events(ofRun: id).map { event in
                .object([
                    "at": .string(formatter.string(from: event.at)), "step": event.step.map(JSONValue.string) ?? .null,
                    "from": event.fromState.map(JSONValue.string) ?? .null, "to": .string(event.toState),
                    "attempt": event.attempt.map { .number(Double($0)) } ?? .null, "actor": .string(event.actor), "reason": event.reason.map(JSONValue.string) ?? .null,
                ])
            }
            guard case var .object(body) = Self.json(run) else { return JSONResponse.ok(Self.json(run)) }
            body["steps"] = .array(steps)
            body["events"] = .array(events)
            return JSONResponse.ok(JSONValue.object(body))
        }
        add(.post, "/api/v1/workflows/{workflow}/runs", .operator) { request in
            let workflow = try request.path("workflow")
            _ = try await WorkflowStore(database: request.database).version(of: workflow)
            let body = try await request.object(allowing: ["params", "idempotency_key"])
            var params: [String: JSONValue] = [:]
            if let value = body["params"] {
                guard case let .object(given) = value, !APIRequest.holdsNUL(value) else {
                    throw APIError.unprocessable("'params' must be an object of parameter values, without NUL characters")
                }
                params = given
            }
            let key = try request.text("idempotency_key", in: body)
            for name in body.keys where !["params", "idempotency_key"].contains(name) { throw APIError.unprocessable("unknown field '\(name)' (expected params, idempotency_key)") }
            let creation: RunCreation
            do {
                creation = try await RunLauncher(database: request.database, clock: request.server.clock)
                    .start(workflow, params: params, trigger: RunTrigger(kind: .manual, actor: request.principal.name), idempotencyKey: key.map { "api:\($0)" })
            } catch let error as LaunchError {
                throw APIError.unprocessable(error.description)
            }
            let (status, outcome): (HTTPResponse.Status, String) = switch creation {
            case .created: (.created, "created")
            case .existing: (.ok, "existing")
            case .skipped: (.conflict, "skipped")
            }
            // The store audits a run it creates; a start refused by the concurrency policy is audited here.
            if case .skipped = creation {
                try await AuditLog(database: request.database).append(actor: request.principal.name, action: "run.skipped", subject: "run:\(creation.runID)",
                                                                      reason: "run \(creation.runID) of \(workflow) is still active (concurrency policy skip)",
                                                                      details: ["workflow": .string(workflow)], at: request.now)
            }
            return JSONResponse.ok(JSONValue.object(["run": .number(Double(creation.runID)), "outcome": .string(outcome)]), status: status)
        }
        add(.post, "/api/v1/runs/{id}/cancel", .operator) { request in
            let id = try request.pathID("id")
            let reason = try request.reason(in: try await request.object(allowing: ["reason"]))
            try await RunStore(database: request.database).cancel(id, actor: request.principal.name, reason: reason, now: request.now)
            return JSONResponse.ok(Self.json(try await RunStore(database: request.database).run(id)))
        }
        // Any principal may ask; the approval's own roles, quorum and self-approval rule decide,
        // and a refusal (403) is audited.
        for (path, approve) in [("approve", true), ("reject", false)] {
            add(.post, "/api/v1/runs/{id}/steps/{step}/\(path)", .viewer) { request in
                let id = try request.pathID("id"), step = try request.path("step")
                let reason = try request.reason(in: try await request.object(allowing: ["reason"]))
                let approver = Approver(name: request.principal.name, roles: Set(request.principal.roles.map(\.rawValue)))
                try await RunStore(database: request.database).decideApproval(run: id, step: step, approve: approve, approver: approver, reason: reason, now: request.now)
                return JSONResponse.ok(Self.json(try await RunStore(database: request.database).run(id)))
            }
        }
    }
}
