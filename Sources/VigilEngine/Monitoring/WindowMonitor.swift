import Foundation
import Logging
import VigilStatistics
import VigilStore
import VigilWorkflow

/// Computes the windows of a workflow's monitored data that are due, and stores their metrics.
///
/// Three concerns, three types: this one decides which windows are due (and which periods a
/// roll-up covers); ``WindowReferences`` reads and keeps what they are compared with; and
/// ``WindowAnalysis`` computes a window's metrics with no I/O, deciding drift by the same
/// ``DriftPolicy`` as `vigil drift`.
///
/// A window is due when it has closed and was never computed, or when its rows, labels (count
/// or latest arrival) or quarantined rows changed since it was: late labels recompute exactly
/// the windows they belong to. Each window is read in one scan, profiled per column and slice,
/// compared with its reference (the baseline's profiles, or the stored profiles of the previous
/// or seasonal window), and its drift, integrity, performance and operational metrics replace
/// any earlier ones in one transaction.
public struct WindowMonitor: Sendable {
    public struct Options: Sendable {
        /// Methods, thresholds, confirmation, correction and minimum counts of the drift tests.
        public var policy = DriftPolicy()
        /// Features to test for drift; `nil` for every declared feature.
        public var features: [String]?
        /// Most windows computed in one pass, oldest first.
        public var maximumWindows = 48
        /// Share of a window's rows read, chosen by a hash of the request id (recorded with every metric).
        public var sampleRate = 1.0
        /// How far back windows are checked for new rows or labels.
        public var lookback: TimeInterval = 7 * 86_400
        /// Multivariate drift of the tested features together, and its settings; `nil` runs none.
        public var multivariate: MultivariateOptions?
        /// How embedding features are compared with the reference.
        public var embedding = EmbeddingSettings.standard

        public init() {}
    }

    /// A longer window rolled up from stored shorter ones, and its drift.
    public struct RolledUpWindow: Sendable {
        public let start: Date
        public let end: Date
        /// Stored windows merged into it.
        public let windows: Int
        public let drift: [DriftMetric]
    }

    /// What one pass did.
    public struct Summary: Sendable {
        /// Windows computed, oldest first.
        public var windows: [WindowSignature] = []
        /// Drift of the latest computed window, whole window only.
        public var latestDrift: [DriftMetric] = []
        public var latestPerformance: [WindowMetric] = []
        /// Multivariate drift of the latest computed window, and the features driving its drift.
        public var latestMultivariate: [MultivariateMetric] = []
        public var latestDrivers: [DriftDriver] = []
        /// Why no window was due, when none was: no rows yet, rows only before the lookback, the
        /// newest window still open, or everything already computed.
        public var idleReason: String?

        /// Features of the latest window that drifted, by falling score.
        public var driftedFeatures: [String] {
            latestDrift.filter { $0.columnRole == "feature" && $0.drifted }.sorted { $0.driftScore > $1.driftScore }.map(\.featureName)
        }

        /// Share of tested features of the latest window that drifted.
        public var driftShare: Double {
            let tested = latestDrift.filter { $0.columnRole == "feature" }
            return tested.isEmpty ? 0 : Double(tested.filter(\.drifted).count) / Double(tested.count)
        }
    }

    let workflow: String
    let source: MonitoredSource
    let options: Options
    let store: MetricsStore
    let analysis: WindowAnalysis
    let references: WindowReferences
    let logger: Logger

    public init(database: Database, workflow: String, model: String, data: MonitoredData, options: Options = Options(), logger: Logger) throws {
        self.workflow = workflow
        source = try MonitoredSource(model: model, data: data)
        let slices = try data.slices.map { expression throws(MonitorError) in try SliceRule(expression, features: data.features) }
        if let features = options.features {
            let declared = Set(data.features.map(\.name))
            if let unknown = features.first(where: { !declared.contains($0) }) {
                throw MonitorError("feature '\(unknown)' is not declared in the workflow's data.features")
            }
        }
        self.options = options
        store = MetricsStore(database: database)
        analysis = WindowAnalysis(
            data: data, slices: slices, policy: options.policy, testedFeatures: Set(options.features ?? data.features.map(\.name)),
            multivariate: options.multivariate, embedding: options.embedding, logger: logger
        )
        references = WindowReferences(source: source, store: store, analysis: analysis, sampleRate: options.sampleRate)
        self.logger = logger
    }

    /// The monitor of a monitoring workflow (one with `model` and `data`), with its `monitor`
    /// step's own settings where they are plain values.
    ///
    /// - Throws: ``MonitorError`` when the workflow monitors no model.
    public init(workflow version: WorkflowVersion, database: Database, logger: Logger) throws {
        guard let model = version.spec.model, let data = version.spec.data else {
            throw MonitorError("workflow '\(version.workflow)' monitors no model: it needs `model` and `data`")
        }
        var options = Options()
        if let with = version.spec.steps.first(where: { $0.uses == "monitor" })?.with,
           let parameters = try? JSONDecoder().decode(MonitorStep.Parameters.self, from: JSONEncoder().encode(with)) {
            options.policy = try parameters.policy()
            if let rate = parameters.sampleRate { options.sampleRate = rate }
            options.features = parameters.features
            options.multivariate = parameters.multivariate
            if let embedding = parameters.embedding { options.embedding = embedding }
        }
        try self.init(database: database, workflow: version.workflow, model: model, data: data, options: options, logger: logger)
    }

    var model: String { source.model }
    var granularity: TimeInterval { analysis.granularity }

    /// The start of the window `date` falls in.
    func windowStart(_ date: Date) -> Date {
        Date(timeIntervalSince1970: (date.timeIntervalSince1970 / granularity).rounded(.down) * granularity)
    }

    /// Computes the due windows (new, or changed since they were computed) that closed by `now`
    /// within the lookback, at most ``Options/maximumWindows`` of them.
    public func run(now: Date, runID: Int?) async throws -> Summary {
        let until = windowStart(now)
        let since = until.addingTimeInterval(-options.lookback)
        let signatures = try await source.signatures(since: since, until: until, on: store.database)
        let computed = try await store.computedWindows(model: model, since: since)
        let due = signatures.filter { $0 != computed[$0.start] }.prefix(options.maximumWindows)
        var summary = try await compute(Array(due), now: now, runID: runID) { _, _ in }
        if due.isEmpty { summary.idleReason = try await idleReason(since: since, until: until, computed: signatures.count) }
        return summary
    }

    /// Computes every due window of [since, until) that closed by `now`, however old and however
    /// many, oldest first: a history back-fill. Windows computed already and unchanged are
    /// skipped, so running it again computes nothing. `progress` hears (done, due) after each.
    public func backfill(since: Date, until: Date, now: Date, runID: Int?, progress: (Int, Int) -> Void) async throws -> Summary {
        let end = min(windowStart(until), windowStart(now))
        let signatures = try await source.signatures(since: windowStart(since), until: end, on: store.database)
        let computed = try await store.computedWindows(model: model, since: windowStart(since))
        let due = signatures.filter { $0 != computed[$0.start] }
        var summary = try await compute(due, now: now, runID: runID, progress: progress)
        if due.isEmpty {
            summary.idleReason = signatures.isEmpty ? "no closed window between \(since) and \(end) has rows" : "all \(signatures.count) windows are computed already"
        }
        return summary
    }

    /// Computes and records `due`, oldest first.
    func compute(_ due: [WindowSignature], now: Date, runID: Int?, progress: (Int, Int) -> Void) async throws -> Summary {
        var summary = Summary()
        var baselines: [String: MonitorReference] = [:]
        for (done, signature) in due.enumerated() {
            let baseline = try await references.baseline(at: signature.start, now: now, known: &baselines)
            let metrics = try await compute(signature, baseline: baseline, runID: runID)
            // The window's rows are gone by now; their memory goes back to the system.
            FreedMemory.release()
            try await store.record(metrics, model: model, runID: runID, now: now)
            summary.windows.append(signature)
            summary.latestDrift = metrics.drift.filter { $0.sliceKey == nil }
            summary.latestPerformance = metrics.performance.filter { $0.sliceKey == nil }
            summary.latestMultivariate = metrics.multivariate.filter { $0.sliceKey == nil }
            summary.latestDrivers = metrics.drivers
            logger.info("computed a monitoring window", metadata: [
                "model": "\(model)", "window": "\(signature.start)", "rows": "\(signature.rows)",
                "drifted": "\(metrics.drift.filter { $0.drifted && $0.sliceKey == nil }.map(\.featureName))",
            ])
            progress(done + 1, due.count)
        }
        return summary
    }

    /// Why a pass over [since, until) found nothing to compute.
    func idleReason(since: Date, until: Date, computed: Int) async throws -> String {
        let format = { (date: Date) in ISO8601DateFormatter().string(from: date) }
        guard let span = try await source.span(on: store.database) else {
            return "no rows for model \(model) yet: nothing to monitor"
        }
        if computed > 0 {
            return "nothing new since the last pass: the \(computed) window\(computed == 1 ? "" : "s") with rows since \(format(since)) are computed"
        }
        if span.first >= until {
            return "the first window is still open: rows begin at \(format(span.first)), and a window is computed once it closes"
        }
        if span.last < since {
            return "every row (\(format(span.first)) to \(format(span.last))) lies before this pass's lookback, which starts at \(format(since)); "
                + "`vigil monitor backfill \(workflow) --since \(format(span.first))` computes those windows"
        }
        return "no closed window since \(format(since)) has rows; the newest row is at \(format(span.last))"
    }

    /// Reads one window and its reference, and computes its metrics (for run `runID`, which a
    /// scoring program hears).
    func compute(_ signature: WindowSignature, baseline: MonitorReference?, runID: Int?) async throws -> WindowMetrics {
        let database = store.database
        let rows = try await source.rows(
            from: signature.start, to: signature.end, sampleRate: options.sampleRate, expectedRows: signature.rows, on: database
        )
        var reference = if let baseline { baseline } else { try await references.reference(for: signature) }
        if let fitted = reference?.profiles.estimator?.modelVersion, let serving = WindowAnalysis.championVersion(of: rows), serving != fitted {
            reference?.profiles.estimator = try await references.estimator(forVersion: serving, before: signature.start, now: signature.end)
        }
        var (metrics, drawn) = try await analysis.metrics(
            of: rows, window: signature, workflow: workflow, sampleRate: options.sampleRate,
            reference: reference, quarantined: try await references.quarantined(signature)
        )
        if let settings = options.multivariate?.championImportance, let sample = reference?.profiles.sample, let drawn, Self.drifted(metrics) {
            metrics.drivers = await rankedWithChampion(metrics, rows: rows, drawn: drawn, reference: sample, settings: settings, runID: runID)
        }
        let business = try await source.businessMetrics(from: signature.start, to: signature.end, on: database)
        if let problem = business.error { logger.warning("\(problem)", metadata: ["model": "\(model)"]) }
        for metric in source.data.metrics {
            if let value = business.values[metric.name] ?? nil {
                metrics.business.append(WindowMetric(slice: .overall, metric: metric.name, value: value, rowCount: business.rows))
            }
        }
        return metrics
    }

    /// Drift of longer windows rolled up from the stored profiles of shorter ones, without reading
    /// rows again: each `length`-long period in [from, to) (aligned to the epoch, like windows)
    /// against its reference — the period before (`previous`), the period a season earlier, or the
    /// fixed baseline. Whole windows only; nothing is stored.
    ///
    /// Merged profiles keep exact moments, ranges, sketches and category counts, but not
    /// histograms (each short window has its own bins), so binned numeric methods do not apply.
    public func rollUp(from: Date, to: Date, length: TimeInterval) async throws -> [RolledUpWindow] {
        guard length >= granularity, length.truncatingRemainder(dividingBy: granularity) == 0 else {
            throw MonitorError("a roll-up must be a whole number of \(Int(granularity)) s windows")
        }
        let first = (from.timeIntervalSince1970 / length).rounded(.down) * length
        var baselines: [String: MonitorReference] = [:]
        let moving = references.movingOffset(windowLength: length)
        var results: [RolledUpWindow] = []
        var start = first
        while start + length <= to.timeIntervalSince1970 {
            let period = (Date(timeIntervalSince1970: start), Date(timeIntervalSince1970: start + length))
            let current = try await references.merged(period.0, period.1)
            var reference = try await references.baseline(at: period.0, now: to, known: &baselines)
            let window: (Date, Date)? = if let moving {
                (period.0.addingTimeInterval(-moving.offset), period.1.addingTimeInterval(-moving.offset))
            } else {
                references.rollingPeriod(before: period.0)
            }
            if reference == nil, let window {
                let profiles = try await references.merged(window.0, window.1)
                if !profiles.isEmpty {
                    let comparison = moving?.comparison ?? "rolling"
                    reference = MonitorReference(profiles: profiles, window: window, comparison: comparison, name: "rolled-up \(references.name)")
                }
            }
            if let reference, !current.isEmpty {
                let columns = current.profiles.map { (ProfiledRows.Column(name: $0.key.column, role: current.roles[$0.key.column] ?? "feature"), $0.value) }
                    .sorted { $0.0.name < $1.0.name }
                // Merged profiles have no sorted values behind them.
                var findings: [ProfiledRows.Column: DriftFinding] = [:]
                for (column, profile) in columns {
                    findings[column] = analysis.finding(column, profile, sample: nil, slice: .overall, reference: reference)
                }
                results.append(RolledUpWindow(
                    start: period.0, end: period.1, windows: current.windowCount,
                    drift: analysis.drift(columns, findings: findings, slice: .overall, reference: reference)
                ))
            }
            start += length
        }
        return results
    }
}
