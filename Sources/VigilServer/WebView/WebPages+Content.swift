import Foundation
import Hummingbird
import VigilEngine
import VigilStore
import VigilWorkflow

/// What each page shows.
extension WebPages {
    func runs(_ request: Request, _ principal: Principal) async throws -> String {
        let workflow = request.uri.queryParameters.get("workflow").flatMap { $0.isEmpty ? nil : String($0) }
        let stateText = request.uri.queryParameters.get("state").flatMap { $0.isEmpty ? nil : String($0) }
        let state = stateText.flatMap(RunState.init(rawValue:))
        let runs = try await RunStore(database: server.database).list(workflow: workflow, state: state, limit: 200)
        let options = ([""] + RunState.allCases.map(\.rawValue)).map { value in
            "<option value=\"\(value)\"\(value == (stateText ?? "") ? " selected" : "")>\(value.isEmpty ? "any state" : value)</option>"
        }.joined()
        let filters = """
            <form method="get" action="/ui/runs"><label>Workflow <input name="workflow" value="\(HTML.escape(workflow ?? ""))"></label>
            <label>State <select name="state">\(options)</select></label> <button type="submit">Filter</button></form>
            """
        let rows = runs.map { run in
            [
                "<a href=\"/ui/runs/\(run.id)\">\(run.id)</a>", HTML.escape(run.workflow), String(run.workflowVersion),
                "<span class=\"state-\(run.state.rawValue)\">\(run.state.rawValue)</span>",
                HTML.escape(run.trigger.kind.rawValue + (run.trigger.name.map { " \($0)" } ?? "") + " by " + run.trigger.actor),
                HTML.time(run.createdAt), HTML.time(run.finishedAt), HTML.escape(run.error ?? ""),
            ]
        }
        return HTML.page(title: "Runs", principal: principal.name,
                         body: filters + HTML.table(["run", "workflow", "version", "state", "trigger", "created", "finished", "error"], rows, id: "runs"))
    }

    func run(_ context: BasicRequestContext, _ principal: Principal) async throws -> String {
        guard let id = context.parameters.get("id").flatMap({ Int($0) }) else { throw APIError.notFound("no such run") }
        let store = RunStore(database: server.database)
        let run = try await store.run(id)
        let steps = try await store.steps(ofRun: id).map { step in
            [
                HTML.escape(step.name), HTML.escape(step.type), "<span class=\"state-\(step.state.rawValue)\">\(step.state.rawValue)</span>",
                String(step.attempt), HTML.time(step.startedAt), HTML.time(step.finishedAt),
                HTML.escape(step.outputs.map { values in values.keys.sorted().map { "\($0)=\(values[$0]!)" }.joined(separator: " ") }.map { String($0.prefix(200)) } ?? ""),
                HTML.escape(step.error ?? ""),
            ]
        }
        let events = try await store.events(ofRun: id).map { event in
            [
                HTML.time(event.at), HTML.escape(event.step ?? "(run)"), HTML.escape("\(event.fromState ?? "—") → \(event.toState)"),
                event.attempt.map(String.init) ?? "", HTML.escape(event.actor), HTML.escape(event.reason ?? ""),
            ]
        }
        let summary = """
            <p>Workflow <strong>\(HTML.escape(run.workflow))</strong> version \(run.workflowVersion), <span class="state-\(run.state.rawValue)">\(run.state.rawValue)</span>.
            Triggered by \(HTML.escape(run.trigger.kind.rawValue))\(HTML.escape(run.trigger.name.map { " '\($0)'" } ?? "")) as \(HTML.escape(run.trigger.actor))
            at \(HTML.time(run.createdAt))\(run.error.map { ". Error: " + HTML.escape($0) } ?? "").</p>
            """
        return HTML.page(title: "Run \(id)", principal: principal.name, body: summary
            + "<h2>Steps</h2>" + HTML.table(["step", "type", "state", "attempt", "started", "finished", "outputs", "error"], steps, id: "steps")
            + "<h2>Timeline</h2>" + HTML.table(["at", "step", "change", "attempt", "who", "why"], events, id: "timeline"))
    }

    func alerts(_ principal: Principal) async throws -> String {
        let alerts = try await AlertStore(database: server.database).list(states: [.firing, .acknowledged, .silenced], limit: 500)
        let visible = try await visibleModels(alerts.map(\.model), principal)
        let rows = alerts.filter { visible.contains($0.model) }.map { alert in
            [
                "<a href=\"/ui/alerts/\(alert.id)\">\(alert.id)</a>", "<a href=\"/ui/models/\(HTML.escape(alert.model))\">\(HTML.escape(alert.model))</a>", HTML.escape(alert.rule),
                alert.severity.rawValue, alert.state.rawValue, "\(alert.occurrences)×", HTML.time(alert.firstSeen), HTML.time(alert.lastSeen),
                HTML.escape(alert.acknowledgedBy ?? ""), HTML.escape(alert.statusReason ?? ""),
            ]
        }
        return HTML.page(title: "Open alerts", principal: principal.name, body: rows.isEmpty ? "<p>No open alerts.</p>"
            : HTML.table(["id", "model", "alert", "severity", "state", "seen", "first seen", "last seen", "acknowledged by", "status"], rows, id: "alerts"))
    }

    /// Steps waiting for approval: who may decide, how many must, who has, and when the gate
    /// decides by itself.
    func approvals(_ principal: Principal) async throws -> String {
        let pending = try await RunStore(database: server.database).pendingApprovals()
        let rows = pending.map { approval in
            [
                "<a href=\"/ui/runs/\(approval.runID)\">\(approval.runID)</a>", HTML.escape(approval.workflow), HTML.escape(approval.step),
                HTML.escape(approval.roles.joined(separator: ", ") + " (or admin)"),
                "\(approval.approvedBy.count) of \(approval.quorum)" + (approval.approvedBy.isEmpty ? "" : ": " + HTML.escape(approval.approvedBy.joined(separator: ", "))),
                HTML.escape(approval.startedBy) + (approval.allowSelfApproval ? "" : " (may not approve)"),
                HTML.time(approval.waitingSince),
                approval.timesOutAt.map { HTML.time($0) + " then " + HTML.escape(approval.onTimeout) } ?? "never",
            ]
        }
        return HTML.page(title: "Pending approvals", principal: principal.name, body: rows.isEmpty ? "<p>No step is waiting for approval.</p>"
            : HTML.table(["run", "workflow", "step", "who may decide", "approvals", "started by", "waiting since", "times out"], rows, id: "approvals"))
    }

    func models(_ principal: Principal) async throws -> String {
        let models = try await ModelRegistry(database: server.database).models()
        let visible = try await visibleModels(models.map(\.model), principal)
        let rows = models.filter { visible.contains($0.model) }.map { model in
            [
                "<a href=\"/ui/models/\(HTML.escape(model.model))\">\(HTML.escape(model.model))</a>", model.championVersion.map(String.init) ?? "",
                model.canaryVersion.map { "\($0) at \(Int(model.canaryWeight * 100))%" } ?? "", model.shadowVersion.map(String.init) ?? "",
            ]
        }
        return HTML.page(title: "Models", principal: principal.name, body: HTML.table(["model", "champion", "canary", "shadow"], rows, id: "models"))
    }

    /// The model named in the path, when the principal may see it.
    func visibleModel(_ context: BasicRequestContext, _ principal: Principal) async throws -> String {
        guard let name = context.parameters.get("model") else { throw APIError.notFound("no such model") }
        guard try await visibleModels([name], principal).contains(name) else {
            throw APIError.forbidden("model \(name) is sensitive; token of \(principal.name) is not granted it")
        }
        return name
    }

    func report(_ context: BasicRequestContext, _ principal: Principal) async throws -> String {
        let name = try await visibleModel(context, principal)
        guard try await ModelRegistry(database: server.database).models().contains(where: { $0.model == name }) else {
            throw APIError.notFound("no model named \(name)")
        }
        let report = try await ModelReport.build(model: name, from: .distantPast, to: Date(), database: server.database)
        return HTML.page(title: "Report: \(name)", principal: principal.name, body: ReportPage.body(report))
    }

    func model(_ context: BasicRequestContext, _ principal: Principal) async throws -> String {
        let name = try await visibleModel(context, principal)
        let registry = ModelRegistry(database: server.database)
        let changelog = try await registry.changelog(of: name)
        let windows = try await MetricsStore(database: server.database).recentWindows(model: name, count: 168)
        let alerts = try await AlertStore(database: server.database).list(model: name, limit: 200)
        var marks = alerts.map { SVGChart.Mark(at: $0.firstSeen, label: "alert \($0.id) (\($0.severity.rawValue))") }
        marks += changelog.filter { ["promoted", "rolled_back", "registered"].contains($0.action) }
            .map { SVGChart.Mark(at: $0.at, label: "\($0.action.replacingOccurrences(of: "_", with: " ")) v\($0.version.map(String.init) ?? "?")") }
        var drift: [String: [(Date, Double)]] = [:]
        var performance: [String: [(Date, Double)]] = [:]
        for window in windows {
            for metric in window.drift where metric.columnRole == "feature" { drift[metric.featureName, default: []].append((window.end, metric.driftScore)) }
            for (metric, value) in window.metrics where ["f1", "accuracy", "rmse", "mae", "auc"].contains(metric) {
                performance[metric, default: []].append((window.end, value.value))
            }
        }
        let driftChart = SVGChart(title: "Drift score per feature", series: drift.keys.sorted().map { SVGChart.Series(name: $0, points: drift[$0]!) }, marks: marks)
        let qualityChart = SVGChart(title: "Performance over time", series: performance.keys.sorted().map { SVGChart.Series(name: $0, points: performance[$0]!) }, marks: marks)
        let entries = changelog.map { entry in
            [
                HTML.time(entry.at), HTML.escape(entry.action), entry.version.map(String.init) ?? "", HTML.escape(entry.alias ?? ""),
                entry.fromVersion.map(String.init) ?? "", entry.runID.map { "<a href=\"/ui/runs/\($0)\">\($0)</a>" } ?? "", HTML.escape(entry.actor),
                HTML.escape(entry.reason ?? ""),
            ]
        }
        var lineage = "<p class=\"muted\">No champion yet.</p>"
        if let champion = try await registry.routing(of: name).championVersion {
            let graph = try await LineageStore(database: server.database).graph(around: LineageNode(kind: "model_version", id: "\(name)@\(champion)"))
            let items = (graph.upstream.reversed() + graph.downstream).map { edge in
                "<li>\(HTML.escape(edge.from.description)) —\(HTML.escape(edge.relation))→ \(HTML.escape(edge.to.description))</li>"
            }
            lineage = "<p>Champion version \(champion).</p>" + (items.isEmpty ? "" : "<ul id=\"lineage\">\(items.joined())</ul>")
        }
        let report = "<p><a href=\"/ui/models/\(HTML.escape(name))/report\">Report: incidents, time to recover, alert precision and recall</a></p>"
        return HTML.page(title: "Model \(name)", principal: principal.name, body: report + driftChart.svg + qualityChart.svg
            + "<h2>Changelog</h2>" + HTML.table(["at", "action", "version", "alias", "from", "run", "who", "why"], entries, id: "changelog")
            + "<h2>Lineage</h2>" + lineage)
    }

    /// One alert: what it is, each notification to each channel with its delivery history, and
    /// everything that happened to it.
    func alert(_ context: BasicRequestContext, _ principal: Principal) async throws -> String {
        guard let id = context.parameters.get("id").flatMap({ Int($0) }) else { throw APIError.notFound("no such alert") }
        let store = AlertStore(database: server.database)
        let alert = try await store.alert(id)
        guard try await visibleModels([alert.model], principal).contains(alert.model) else { throw APIError.notFound("no alert \(id)") }
        let notifications = try await NotificationOutbox(database: server.database).notifications(ofAlert: id).map { notification in
            [
                HTML.escape(notification.channel), notification.kind.rawValue, "<span class=\"state-\(notification.state.rawValue)\">\(notification.state.rawValue)</span>",
                String(notification.attempts), notification.lastStatus.map(String.init) ?? "", HTML.time(notification.createdAt),
                HTML.time(notification.deliveredAt ?? notification.deadAt), HTML.time(notification.nextAttemptAt), HTML.escape(notification.lastError ?? ""),
            ]
        }
        let events = try await store.events(ofAlert: id).map { event in
            [HTML.time(event.at), HTML.escape(event.actor), HTML.escape(event.action), HTML.escape(event.reason ?? "")]
        }
        let summary = """
            <p><strong>\(HTML.escape(alert.rule))</strong> on <a href="/ui/models/\(HTML.escape(alert.model))">\(HTML.escape(alert.model))</a>
            (\(HTML.escape(alert.subject))): \(alert.severity.rawValue), <span class="state-\(alert.state.rawValue)">\(alert.state.rawValue)</span>,
            seen \(alert.occurrences)× from \(HTML.time(alert.firstSeen)) to \(HTML.time(alert.lastSeen)).</p>
            """
        return HTML.page(title: "Alert \(id)", principal: principal.name, body: summary + Self.why(alert)
            + "<h2>Notifications</h2>" + (notifications.isEmpty ? "<p>None.</p>" : HTML.table(
                ["channel", "kind", "state", "attempts", "last status", "queued", "delivered or dead", "next attempt", "last error"], notifications, id: "notifications"
            ))
            + "<h2>History</h2>" + HTML.table(["at", "who", "what", "why"], events, id: "history"))
    }

    /// What the alert's latest finding said: its reasons, the drifted features and the top drivers.
    static func why(_ alert: Alert) -> String {
        func list(_ key: String) -> [[String: JSONValue]] {
            guard case let .array(values)? = alert.findings[key] else { return [] }
            return values.compactMap { if case let .object(fields) = $0 { fields } else { nil } }
        }
        let reasons: [String] = if case let .array(values)? = alert.findings["reasons"] { values.compactMap(\.stringValue) } else { [] }
        func number(_ value: JSONValue?) -> String { value?.numberValue.map { String(format: "%.3f", $0) } ?? "" }
        let drifted = list("drifted_features").map { [HTML.escape($0["feature"]?.stringValue ?? ""), number($0["score"]), HTML.escape($0["method"]?.stringValue ?? "")] }
        let drivers = list("drivers").map { driver in
            let importance = driver["reference_importance"] == nil ? "" : "\(number(driver["reference_importance"])) → \(number(driver["current_importance"]))"
            return [HTML.escape(driver["feature"]?.stringValue ?? ""), number(driver["share"]), number(driver["drift_share"]), number(driver["classifier_share"]),
                    HTML.escape(importance)]
        }
        var html = "<h2>Why</h2>" + (reasons.isEmpty ? "<p>No reasons recorded.</p>" : "<ul id=\"reasons\">" + reasons.map { "<li>\(HTML.escape($0))</li>" }.joined() + "</ul>")
        if !drivers.isEmpty { html += "<h3>Top drivers</h3>" + HTML.table(["feature", "share", "drift share", "classifier share", "champion importance (reference → window)"], drivers, id: "drivers") }
        if !drifted.isEmpty { html += "<h3>Drifted features</h3>" + HTML.table(["feature", "score", "method"], drifted, id: "drifted-features") }
        return html
    }

    private func visibleModels(_ models: [String], _ principal: Principal) async throws -> Set<String> {
        let sensitive = try await WorkflowStore(database: server.database).sensitiveModels()
        return Set(models.filter { !sensitive.contains($0) || principal.maySee(sensitiveModel: $0) })
    }
}
