import Foundation
import Logging
import VigilStatistics
import VigilStore
import VigilWorkflow

/// Computes the windows of a workflow's monitored data that are due, and stores their metrics.
///
/// A window is due when it has closed and was never computed, or when its rows, labels (count
/// or latest arrival) or quarantined rows changed since it was: late labels recompute exactly
/// the windows they belong to. Each window is read in one scan, profiled per column and slice,
/// compared with its reference (the baseline's profiles, or the stored profiles of the previous
/// or seasonal window), and its drift, integrity, performance and operational metrics replace
/// any earlier ones in one transaction.
public struct WindowMonitor: Sendable {
    public struct Options: Sendable {
        /// A drift method for every column it applies to; `nil` picks per column (see ``method(for:reference:)``).
        public var method: DriftMethod?
        /// A threshold for the chosen method instead of its default.
        public var threshold: Double?
        /// Features to test for drift; `nil` for every declared feature.
        public var features: [String]?
        /// Most windows computed in one pass, oldest first.
        public var maximumWindows = 48
        /// Share of a window's rows read, chosen by a hash of the request id (recorded with every metric).
        public var sampleRate = 1.0
        /// How far back windows are checked for new rows or labels.
        public var lookback: TimeInterval = 7 * 86_400
        /// Fewer rows than this in the window or its reference: no drift test for that column.
        public var minimumRows = 30
        /// With the automatic method, an effect size above its threshold counts as drift only when
        /// a test (KS for numbers, chi-square for categories) also rejects "no change" at this
        /// level: on small windows sampling noise alone moves effect sizes past their thresholds.
        /// `nil` decides on the effect size alone.
        public var significance: Double? = 0.001

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
    let slices: [SliceRule]
    let options: Options
    let store: MetricsStore
    let logger: Logger

    public init(database: Database, workflow: String, model: String, data: MonitoredData, options: Options = Options(), logger: Logger) throws {
        self.workflow = workflow
        source = try MonitoredSource(model: model, data: data)
        slices = try data.slices.map { expression throws(MonitorError) in try SliceRule(expression, features: data.features) }
        if let features = options.features {
            let declared = Set(data.features.map(\.name))
            if let unknown = features.first(where: { !declared.contains($0) }) {
                throw MonitorError("feature '\(unknown)' is not declared in the workflow's data.features")
            }
        }
        self.options = options
        store = MetricsStore(database: database)
        self.logger = logger
    }

    var data: MonitoredData { source.data }
    var model: String { source.model }
    var granularity: TimeInterval { TimeInterval(data.granularity.seconds) }

    /// Computes every due window that closed by `now`.
    public func run(now: Date, runID: Int?) async throws -> Summary {
        let database = store.database
        let until = Date(timeIntervalSince1970: (now.timeIntervalSince1970 / granularity).rounded(.down) * granularity)
        let since = until.addingTimeInterval(-options.lookback)
        let signatures = try await source.signatures(since: since, until: until, on: database)
        let computed = try await store.computedWindows(model: model, since: since)
        let due = signatures.filter { $0 != computed[$0.start] }.prefix(options.maximumWindows)
        var summary = Summary()
        var baseline: ProfileSet?
        for signature in due {
            if baseline == nil { baseline = try await fixedBaseline(now: now) }
            let metrics = try await compute(signature, baseline: baseline)
            try await store.record(metrics, model: model, runID: runID, now: now)
            summary.windows.append(signature)
            summary.latestDrift = metrics.drift.filter { $0.sliceKey == nil }
            summary.latestPerformance = metrics.performance.filter { $0.sliceKey == nil }
            logger.info("computed a monitoring window", metadata: [
                "model": "\(model)", "window": "\(signature.start)", "rows": "\(signature.rows)",
                "drifted": "\(metrics.drift.filter { $0.drifted && $0.sliceKey == nil }.map(\.featureName))",
            ])
        }
        return summary
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
        let baseline = try await fixedBaseline(now: to)
        let offset: TimeInterval? = switch data.baseline {
        case .previous: length
        case let .seasonal(period): TimeInterval(period.seconds)
        case .table, .fixed: nil
        }
        var results: [RolledUpWindow] = []
        var start = first
        while start + length <= to.timeIntervalSince1970 {
            let period = (Date(timeIntervalSince1970: start), Date(timeIntervalSince1970: start + length))
            let current = try await mergedProfiles(period.0, period.1)
            let reference: Reference?
            if let baseline {
                reference = Reference(profiles: baseline, window: nil, comparison: "baseline", name: baselineName)
            } else if let offset {
                let window = (period.0.addingTimeInterval(-offset), period.1.addingTimeInterval(-offset))
                let profiles = try await mergedProfiles(window.0, window.1)
                reference = profiles.isEmpty ? nil : Reference(
                    profiles: profiles, window: window, comparison: offset == length ? "previous" : "seasonal", name: "rolled-up \(baselineName)"
                )
            } else {
                reference = nil
            }
            if let reference, !current.isEmpty {
                let columns = current.profiles.map { (ProfiledRows.Column(name: $0.key.column, role: current.roles[$0.key.column] ?? "feature"), $0.value) }
                    .sorted { $0.0.name < $1.0.name }
                results.append(RolledUpWindow(
                    start: period.0, end: period.1, windows: current.windowCount,
                    drift: drift(columns, samples: [:], slice: .overall, reference: reference)
                ))
            }
            start += length
        }
        return results
    }

    /// The stored whole-window profiles inside [start, end), merged column by column.
    private func mergedProfiles(_ start: Date, _ end: Date) async throws -> ProfileSet {
        var set = ProfileSet()
        var windows = Set<Date>()
        for (windowStart, stored) in try await store.profiles(model: model, within: start, end) {
            let key = ProfileSet.Key(slice: .overall, column: stored.columnName)
            let profile = try ColumnProfile.decoded(stored.profile)
            set.profiles[key] = set.profiles[key].map { $0.merged(with: profile) } ?? profile
            set.roles[stored.columnName] = stored.role
            windows.insert(windowStart)
        }
        set.windowCount = windows.count
        return set
    }

    // MARK: - One window

    func compute(_ signature: WindowSignature, baseline: ProfileSet?) async throws -> WindowMetrics {
        let database = store.database
        let rows = try await source.rows(from: signature.start, to: signature.end, sampleRate: options.sampleRate, on: database)
        var metrics = WindowMetrics(signature: signature, workflow: workflow, sampleRate: options.sampleRate)
        let reference: Reference? = if let baseline { Reference(profiles: baseline, window: nil, comparison: "baseline", name: baselineName) } else {
            try await windowReference(for: signature)
        }
        let quarantinedByColumn = try await quarantined(signature)
        for (slice, indices) in subsets(rows) {
            let table = await ProfiledRows.profiling(rows, indices: indices, data: data)
            for (column, profile) in table.profiles {
                metrics.profiles.append(StoredProfile(
                    slice: slice, columnName: column.name, role: column.role, kind: profile.kind.rawValue, profile: try profile.encoded()
                ))
            }
            if let reference {
                metrics.drift += drift(table.profiles, samples: table.samples, slice: slice, reference: reference)
            }
            metrics.integrity += integrity(table, rows: rows, slice: slice, reference: reference, quarantined: quarantinedByColumn)
            metrics.performance += PerformanceSummary(table: table, problem: data.problemType).metrics(slice: slice) { metric in
                reference?.profiles.performance(metric, slice: slice)
            }
            metrics.operational += operational(table, slice: slice)
        }
        let business = try await source.businessMetrics(from: signature.start, to: signature.end, on: database)
        if let problem = business.error { logger.warning("\(problem)", metadata: ["model": "\(model)"]) }
        for metric in data.metrics {
            if let value = business.values[metric.name] ?? nil {
                metrics.business.append(WindowMetric(slice: .overall, metric: metric.name, value: value, rowCount: business.rows))
            }
        }
        return metrics
    }

    /// The whole window, then each slice value (the most frequent ``SliceRule/maximumValues`` per rule).
    func subsets(_ rows: WindowRows) -> [(Slice, [Int]?)] {
        var result: [(Slice, [Int]?)] = [(.overall, nil)]
        for rule in slices {
            guard let column = rows.features[rule.column] else { continue }
            var groups: [String: [Int]] = [:]
            for (index, value) in rule.values(column).enumerated() {
                if let value { groups[value, default: []].append(index) }
            }
            let kept = groups.sorted { $0.value.count != $1.value.count ? $0.value.count > $1.value.count : $0.key < $1.key }
                .prefix(SliceRule.maximumValues)
            for (value, indices) in kept.sorted(by: { $0.key < $1.key }) {
                result.append((Slice(key: rule.expression, value: value), indices))
            }
        }
        return result
    }

    // MARK: - References

    struct Reference {
        let profiles: ProfileSet
        let window: (start: Date, end: Date)?
        let comparison: String
        let name: String
    }

    var baselineName: String {
        switch data.baseline {
        case let .table(table): "table \(table)"
        case let .fixed(start, end): "fixed \(start)/\(end)"
        case .previous: "previous window"
        case let .seasonal(period): "same window \(period) earlier"
        }
    }

    /// A fixed baseline's profiles: computed once, stored in `baseline_profiles`, then reused.
    func fixedBaseline(now: Date) async throws -> ProfileSet? {
        let database = store.database
        let rows: WindowRows
        switch data.baseline {
        case .previous, .seasonal: return nil
        case let .table(table):
            if let cached = try await store.baseline(model: model, name: baselineName) {
                return try ProfileSet(stored: cached.profiles, performance: cached.performance)
            }
            rows = try await source.reading(table: table).rows(from: .distantPast, to: .distantFuture, allTime: true, on: database)
        case let .fixed(start, end):
            if let cached = try await store.baseline(model: model, name: baselineName) {
                return try ProfileSet(stored: cached.profiles, performance: cached.performance)
            }
            guard let from = Timestamp.parse(start), let to = Timestamp.parse(end) else {
                throw MonitorError("baseline start and end must be ISO 8601 times, such as 2026-11-01T00:00:00Z")
            }
            rows = try await source.rows(from: Date(timeIntervalSince1970: from), to: Date(timeIntervalSince1970: to), on: database)
        }
        guard rows.rowCount > 0 else {
            throw MonitorError("the baseline (\(baselineName)) holds no rows for model '\(model)'")
        }
        let set = await profileSet(rows)
        var stored: [StoredProfile] = []
        for (key, profile) in set.profiles {
            stored.append(StoredProfile(slice: key.slice, columnName: key.column, role: "", kind: profile.kind.rawValue, profile: try profile.encoded()))
        }
        try await store.saveBaseline(model: model, name: baselineName, rows: rows.rowCount, profiles: stored, performance: set.performance, now: now)
        return set
    }

    /// The previous or seasonal window's stored profiles, or profiles made now when it was never computed.
    func windowReference(for signature: WindowSignature) async throws -> Reference? {
        let offset: TimeInterval, comparison: String
        switch data.baseline {
        case .previous: (offset, comparison) = (granularity, "previous")
        case let .seasonal(period): (offset, comparison) = (TimeInterval(period.seconds), "seasonal")
        case .table, .fixed: return nil
        }
        let start = signature.start.addingTimeInterval(-offset), end = signature.end.addingTimeInterval(-offset)
        let stored = try await store.profiles(model: model, start: start, end: end)
        if !stored.isEmpty {
            let set = try ProfileSet(stored: stored, performance: try await store.performance(model: model, start: start, end: end))
            return Reference(profiles: set, window: (start, end), comparison: comparison, name: baselineName)
        }
        let rows = try await source.rows(from: start, to: end, sampleRate: options.sampleRate, on: store.database)
        guard rows.rowCount > 0 else { return nil }
        return Reference(profiles: await profileSet(rows), window: (start, end), comparison: comparison, name: baselineName)
    }

    /// Profiles (and performance) of rows read for a reference, for every slice.
    func profileSet(_ rows: WindowRows) async -> ProfileSet {
        var set = ProfileSet()
        for (slice, indices) in subsets(rows) {
            let table = await ProfiledRows.profiling(rows, indices: indices, data: data)
            for (column, profile) in table.profiles {
                set.profiles[ProfileSet.Key(slice: slice, column: column.name)] = profile
            }
            set.performance += PerformanceSummary(table: table, problem: data.problemType).metrics(slice: slice) { _ in nil }
        }
        return set
    }

    private func quarantined(_ signature: WindowSignature) async throws -> [String: Int] {
        guard signature.quarantined > 0 else { return [:] }
        return try await store.quarantinedCounts(model: model, from: signature.start, to: signature.end)
    }

    // MARK: - Metrics

    /// The method for a column: the configured one when it applies, else normed Wasserstein for
    /// numbers with more than five distinct reference values and Jensen–Shannon for the rest.
    ///
    /// Effect sizes, not p-values, because the monitor tests every feature of every window:
    /// at p < 0.05 a quiet model would raise an alarm in most windows.
    func method(for current: ColumnProfile, reference: ColumnProfile) -> DriftMethod {
        let numeric = reference.numeric != nil && current.numeric != nil
            && reference.distinctCount > DriftPolicy().maximumDistinctForCategorical
        if let chosen = options.method, numeric ? chosen.supportsNumeric : chosen.supportsCategorical { return chosen }
        return numeric ? .normedWasserstein : .jensenShannon
    }

    /// Drift of each profiled column against the reference's profile of the same slice and column.
    /// `samples` (a window's sorted values) let binned methods recount on the reference's edges;
    /// without them (rolled-up profiles) a binned method applies only where the edges agree.
    func drift(_ profiles: [(ProfiledRows.Column, ColumnProfile)], samples: [String: SortedSample], slice: Slice, reference: Reference) -> [DriftMetric] {
        var results: [DriftMetric] = []
        let tested = Set(options.features ?? data.features.map(\.name))
        for (column, current) in profiles where column.role != "feature" || tested.contains(column.name) {
            guard let base = reference.profiles[slice, column.name] else { continue }
            guard current.rowCount - current.missingCount >= options.minimumRows, base.rowCount - base.missingCount >= options.minimumRows else { continue }
            let method = method(for: current, reference: base)
            let threshold = options.threshold ?? method.defaultThreshold
            let result: DriftResult
            do {
                if method.supportsNumeric, let referenceNumbers = base.numeric, let currentNumbers = current.numeric,
                   base.distinctCount > DriftPolicy().maximumDistinctForCategorical || !method.supportsCategorical {
                    var compared = currentNumbers
                    if method.isBinned, let sample = samples[column.name] {
                        compared = currentNumbers.rebinned(on: referenceNumbers.edges ?? [], from: sample)
                    }
                    result = try ProfileDrift.compare(referenceNumbers, compared, method: method, threshold: threshold)
                } else if let referenceCategories = base.categorical,
                          let currentCategories = current.categorical ?? samples[column.name].map(ProfiledRows.categoricalView) {
                    result = try ProfileDrift.compare(referenceCategories, currentCategories, method: method, threshold: threshold)
                } else {
                    continue
                }
            } catch {
                logger.debug("no drift test for a column", metadata: ["column": "\(column.name)", "reason": "\(error)"])
                continue
            }
            var drifted = result.drifted, pValue = result.pValue, parameters = result.parameters
            if drifted, options.method == nil, let level = options.significance,
               let test = significanceTest(current: current, reference: base, numeric: method.supportsNumeric) {
                pValue = test.pValue
                parameters["significance"] = level
                parameters["significance_test"] = test.method == .ks ? 1 : 2
                drifted = (test.pValue ?? 0) < level
            }
            let referenceRows = base.rowCount, currentRows = current.rowCount
            results.append(DriftMetric(
                slice: slice, featureName: column.name, columnRole: column.role, method: method.rawValue,
                driftScore: result.score, driftThreshold: result.threshold, pValue: pValue, drifted: drifted,
                comparison: reference.comparison, reference: reference.name,
                referenceStart: reference.window?.start, referenceEnd: reference.window?.end,
                referenceCount: referenceRows, currentCount: currentRows,
                meanDelta: current.mean.flatMap { now in base.mean.map { now - $0 } },
                nullRateDelta: rate(current.missingCount, currentRows) - rate(base.missingCount, referenceRows),
                distinctCountDelta: current.distinctCount - base.distinctCount,
                parameters: parameters, binEdges: result.binEdges
            ))
        }
        return results
    }

    /// KS (numbers) or chi-square (categories) between the profiles, for the significance check.
    private func significanceTest(current: ColumnProfile, reference: ColumnProfile, numeric: Bool) -> DriftResult? {
        if numeric, let referenceNumbers = reference.numeric, let currentNumbers = current.numeric {
            return try? ProfileDrift.compare(referenceNumbers, currentNumbers, method: .ks)
        }
        guard let referenceCategories = reference.categorical, let currentCategories = current.categorical else { return nil }
        return try? ProfileDrift.compare(referenceCategories, currentCategories, method: .chiSquare)
    }

    private func rate(_ part: Int, _ whole: Int) -> Double { whole > 0 ? Double(part) / Double(whole) : 0 }

    func integrity(_ table: ProfiledRows, rows: WindowRows, slice: Slice, reference: Reference?, quarantined: [String: Int]) -> [IntegrityMetric] {
        var results: [IntegrityMetric] = []
        let overall = slice == .overall
        for schema in data.features {
            guard let values = table.features[schema.name] else { continue }
            var missing = 0, outOfRange = 0, outOfDomain = 0, unseen = 0
            switch values {
            case let .numeric(numbers):
                for number in numbers {
                    if number.isNaN { missing += 1; continue }
                    if let minimum = schema.minimum, number < minimum { outOfRange += 1 }
                    else if let maximum = schema.maximum, number > maximum { outOfRange += 1 }
                    else if schema.type == .integer && number != number.rounded() { outOfRange += 1 }
                }
            case let .categorical(texts):
                let allowed = schema.allowed.map(Set.init)
                let known = reference?.profiles[slice, schema.name]?.categorical.map { Set($0.counts.counts.keys) }
                for text in texts {
                    guard let text else { missing += 1; continue }
                    if let allowed, !allowed.contains(text) { outOfDomain += 1 }
                    if let known, !known.contains(text) { unseen += 1 }
                }
            }
            results.append(IntegrityMetric(
                slice: slice, featureName: schema.name, rowCount: table.rowCount, missingCount: missing,
                typeMismatches: overall ? rows.typeMismatches[schema.name] ?? 0 : 0, outOfRange: outOfRange, outOfDomain: outOfDomain,
                unseenCategories: unseen, quarantinedRows: overall ? quarantined[schema.name] ?? 0 : 0
            ))
        }
        if overall {
            results.append(IntegrityMetric(
                slice: slice, featureName: "*", rowCount: rows.rowCount, missingCount: 0, typeMismatches: rows.typeMismatches.values.reduce(0, +),
                outOfRange: 0, outOfDomain: 0, unseenCategories: 0, quarantinedRows: quarantined.values.reduce(0, +)
            ))
        }
        return results
    }

    func operational(_ table: ProfiledRows, slice: Slice) -> [WindowMetric] {
        let latencies = table.latencies.filter { !$0.isNaN }
        guard table.rowCount > 0,
              let metrics = try? OperationalMetrics(latencies: latencies, errors: table.errors, requests: table.rowCount, windowSeconds: granularity)
        else { return [] }
        var results = [
            WindowMetric(slice: slice, metric: "error_rate", value: metrics.errorRate, rowCount: table.rowCount),
            WindowMetric(slice: slice, metric: "throughput", value: metrics.throughput, rowCount: table.rowCount),
        ]
        for (name, value) in [("latency_p50", metrics.latencyP50), ("latency_p95", metrics.latencyP95), ("latency_p99", metrics.latencyP99)] {
            if let value { results.append(WindowMetric(slice: slice, metric: name, value: value, rowCount: table.rowCount)) }
        }
        return results
    }
}

extension DriftMethod {
    /// Methods that compare histograms on the reference's bins.
    var isBinned: Bool { [.psi, .kl, .jensenShannon, .hellinger].contains(self) }
}
