import Foundation
import VigilStatistics
import VigilStore
import VigilWorkflow

/// A window's reference: the profiles it is compared with, and where they came from.
struct MonitorReference {
    var profiles: ProfileSet
    let window: (start: Date, end: Date)?
    /// `baseline`, `previous` or `seasonal`, as stored in `drift_metrics.comparison`.
    let comparison: String
    let name: String
}

/// Reads and keeps the profiles windows are compared with: a fixed baseline's (profiled once and
/// stored in `baseline_profiles`), the previous or seasonal window's stored profiles (or its rows,
/// when it was never computed), and longer periods merged from stored windows.
struct WindowReferences: Sendable {
    let source: MonitoredSource
    let store: MetricsStore
    let analysis: WindowAnalysis
    let sampleRate: Double

    var data: MonitoredData { source.data }
    var model: String { source.model }

    /// How the workflow's reference is named in stored metrics (a champion's training window is
    /// named by ``baselineSource(at:)``, with its version).
    var name: String {
        switch data.baseline {
        case let .table(table): "table \(table)"
        case let .fixed(start, end): "fixed \(start)/\(end)"
        case .previous: "previous window"
        case let .seasonal(period): "same window \(period) earlier"
        case .championTraining: "the champion's training window"
        case let .rolling(period): "the \(period) before"
        }
    }

    /// The offset of a moving reference (previous or seasonal) from the window, with its comparison
    /// name; `nil` for a baseline or a rolling period.
    func movingOffset(windowLength: TimeInterval) -> (offset: TimeInterval, comparison: String)? {
        switch data.baseline {
        case .previous: (windowLength, "previous")
        case let .seasonal(period): (TimeInterval(period.seconds), "seasonal")
        case .table, .fixed, .championTraining, .rolling: nil
        }
    }

    /// The rolling reference period before a window starting at `start`, if the workflow rolls.
    func rollingPeriod(before start: Date) -> (start: Date, end: Date)? {
        guard case let .rolling(period) = data.baseline else { return nil }
        return (start.addingTimeInterval(-TimeInterval(period.seconds)), start)
    }

    /// Where a baseline's rows are read.
    enum BaselineRows {
        case table(String)
        case period(start: Date, end: Date)
    }

    /// The baseline a window starting at `start` is compared with, named as it is stored: a
    /// table, a fixed period, or the training window of the version that was champion at `start`
    /// (so a promotion or rollback moves it, and windows recomputed later keep theirs); `nil` for a
    /// moving reference (previous, seasonal, rolling).
    func baselineSource(at start: Date) async throws -> (name: String, rows: BaselineRows)? {
        switch data.baseline {
        case .previous, .seasonal, .rolling: return nil
        case let .table(table): return (name, .table(table))
        case let .fixed(from, to):
            guard let from = Timestamp.parse(from), let to = Timestamp.parse(to) else {
                throw MonitorError("baseline start and end must be ISO 8601 times, such as 2026-11-01T00:00:00Z")
            }
            return (name, .period(start: Date(timeIntervalSince1970: from), end: Date(timeIntervalSince1970: to)))
        case .championTraining:
            guard let champion = try await ModelRegistry(database: store.database).champion(of: model, at: start) else {
                throw MonitorError("baseline champion_training: model '\(model)' has no champion to take a training window from; register one with --alias champion")
            }
            guard let from = champion.trainingStart, let to = champion.trainingEnd else {
                throw MonitorError("baseline champion_training: version \(champion.version) of '\(model)' records no training window; register it with training_start and training_end, or choose another baseline")
            }
            let format = ISO8601DateFormatter()
            return ("training window of version \(champion.version), \(format.string(from: from))/\(format.string(from: to))", .period(start: from, end: to))
        }
    }

    /// The baseline a window starting at `start` is compared with: kept in `known` by name for the
    /// pass, profiled once and stored in `baseline_profiles`, then reused. `nil` for a moving reference.
    func baseline(at start: Date, now: Date, known: inout [String: MonitorReference]) async throws -> MonitorReference? {
        guard let (name, source) = try await baselineSource(at: start) else { return nil }
        if let reference = known[name] { return reference }
        let reference = try await baseline(named: name, from: source, now: now)
        known[name] = reference
        return reference
    }

    private func baseline(named name: String, from source: BaselineRows, now: Date) async throws -> MonitorReference {
        if let cached = try await cachedBaseline(named: name, from: source) { return cached }
        let database = store.database
        let rows = switch source {
        case let .table(table): try await self.source.reading(table: table).rows(from: .distantPast, to: .distantFuture, allTime: true, on: database)
        case let .period(start, end): try await self.source.rows(from: start, to: end, on: database)
        }
        guard rows.rowCount > 0 else {
            throw MonitorError("the baseline (\(name)) holds no rows for model '\(model)'")
        }
        let set = await analysis.profileSet(rows)
        var stored: [StoredProfile] = []
        for (key, profile) in set.profiles {
            stored.append(StoredProfile(slice: key.slice, columnName: key.column, role: "", kind: profile.kind.rawValue, profile: try profile.encoded()))
        }
        let sliced = Set(set.sliceSamples.keys).union(set.sliceEmbeddings.keys).sorted { ($0.key ?? "", $0.value ?? "") < ($1.key ?? "", $1.value ?? "") }
        let drawn = ReferenceRows(
            table: set.sample,
            slices: sliced.map { ReferenceRows.SliceRows(key: $0.key ?? "", value: $0.value ?? "", table: set.sliceSamples[$0], embeddings: set.sliceEmbeddings[$0]) },
            embeddings: set.embeddings, embeddingRows: analysis.embedding.options.maximumRows, embeddingSeed: analysis.embedding.options.seed
        )
        let sample = set.sample == nil && set.embeddings.isEmpty ? nil : String(decoding: try JSONEncoder().encode(drawn), as: UTF8.self)
        try await store.saveBaseline(
            model: model, name: name, rows: rows.rowCount, profiles: stored, performance: set.performance, estimator: try set.estimator?.encoded(),
            sample: sample, now: now
        )
        return baseline(set, named: name, from: source)
    }

    /// The stored baseline, unless the monitor needs rows drawn for multivariate or embedding
    /// tests that it was stored without (or drawn with other settings): then it is profiled again.
    private func cachedBaseline(named name: String, from source: BaselineRows) async throws -> MonitorReference? {
        guard let cached = try await store.baseline(model: model, name: name) else { return nil }
        var set = try ProfileSet(stored: cached.profiles, performance: cached.performance)
        set.estimator = try cached.estimator.map(ReferenceEstimator.decoded)
        let drawn = cached.sample.flatMap { try? JSONDecoder().decode(ReferenceRows.self, from: Data($0.utf8)) }
        set.sample = drawn?.table
        for rows in drawn?.slices ?? [] {
            let slice = Slice(key: rows.key, value: rows.value)
            set.sliceSamples[slice] = rows.table
            set.sliceEmbeddings[slice] = rows.embeddings
        }
        set.embeddings = drawn?.embeddings ?? [:]
        if let options = analysis.multivariate {
            guard let sample = set.sample, sample.seed == options.seed, sample.names == analysis.sampledFeatureNames,
                  sample.rowCount == min(options.sampleRows, cached.rows) else { return nil }
            // A baseline stored before slices had their own rows is drawn again.
            guard analysis.slices.isEmpty || drawn?.slices != nil else { return nil }
        }
        if !data.embeddingFeatures.isEmpty {
            let options = analysis.embedding.options
            guard drawn?.embeddingRows == options.maximumRows, drawn?.embeddingSeed == options.seed else { return nil }
            guard analysis.slices.isEmpty || drawn?.slices != nil else { return nil }
        }
        return baseline(set, named: name, from: source)
    }

    /// The estimator a moving reference lends its windows: the model's latest (a fixed
    /// baseline's, or one fitted on an earlier labelled reference window).
    private func latestEstimator() async throws -> ReferenceEstimator? {
        try await store.latestEstimator(model: model).map(ReferenceEstimator.decoded)
    }

    /// How far back a version's labelled answers are read to fit its own estimator.
    static let versionHistory: TimeInterval = 90 * 86_400
    /// Most labelled answers a version's estimator is fitted on (the newest).
    static let versionRows = 50_000

    /// The estimator for windows another version serves than the reference's estimator was fitted
    /// on (a promoted challenger's scores are calibrated differently): the one kept for that
    /// version, or one fitted now on its newest labelled answers before the window, served or
    /// shadowed, and kept. `nil` while it has too few labelled answers: then the window has no
    /// estimate rather than one from another model's calibration.
    func estimator(forVersion version: String, before start: Date, now: Date) async throws -> ReferenceEstimator? {
        if let kept = try await store.estimator(model: model, version: version) { return try ReferenceEstimator.decoded(kept) }
        let rows = try await source.labelledRows(
            version: version, from: start.addingTimeInterval(-Self.versionHistory), to: start, limit: Self.versionRows, on: store.database
        )
        guard rows.rowCount >= ReferenceEstimator.minimumRows, var estimator = await analysis.estimator(fittedOn: rows) else { return nil }
        estimator.modelVersion = version
        let name = "labelled answers of version \(version)"
        try await store.saveBaseline(model: model, name: name, rows: rows.rowCount, profiles: [], performance: [], estimator: try estimator.encoded(), now: now)
        return estimator
    }

    /// Keeps an estimator fitted on a labelled reference window, for the windows after it: a
    /// workflow compared with the previous or a seasonal window has no fixed baseline to fit one on.
    private func keep(_ estimator: ReferenceEstimator, fittedOn window: (start: Date, end: Date), rows: Int, now: Date) async throws {
        let name = "labelled reference window \(ISO8601DateFormatter().string(from: window.start))"
        try await store.saveBaseline(model: model, name: name, rows: rows, profiles: [], performance: [], estimator: try estimator.encoded(), now: now)
    }

    /// A baseline's reference; a period's bounds are recorded with each metric compared with it.
    private func baseline(_ profiles: ProfileSet, named name: String, from source: BaselineRows) -> MonitorReference {
        let window: (start: Date, end: Date)? = if case let .period(start, end) = source { (start, end) } else { nil }
        return MonitorReference(profiles: profiles, window: window, comparison: "baseline", name: name)
    }

    /// The previous or seasonal window's stored profiles, or profiles made now when it was never computed.
    func reference(for window: WindowSignature) async throws -> MonitorReference? {
        if let period = rollingPeriod(before: window.start) {
            let rows = try await source.signatures(since: period.start, until: period.end, on: store.database).reduce(0) { $0 + $1.rows }
            let rate = min(sampleRate, Double(Self.rollingRows) / Double(max(rows, 1)))
            return try await profiled(period, comparison: "rolling", sampleRate: rate, keptAt: window.end)
        }
        guard let (offset, comparison) = movingOffset(windowLength: analysis.granularity) else { return nil }
        let start = window.start.addingTimeInterval(-offset), end = window.end.addingTimeInterval(-offset)
        let stored = try await store.profiles(model: model, start: start, end: end)
        if !stored.isEmpty {
            var set = try ProfileSet(stored: stored, performance: try await store.performance(model: model, start: start, end: end))
            set.estimator = try await latestEstimator()
            // No estimator yet: fit one on this reference window's rows, if they are labelled.
            if set.estimator == nil, set.performance.contains(where: { $0.labelledRows >= ReferenceEstimator.minimumRows }) {
                let rows = try await source.rows(from: start, to: end, sampleRate: sampleRate, on: store.database)
                if let estimator = await analysis.estimator(fittedOn: rows) {
                    try await keep(estimator, fittedOn: (start, end), rows: rows.rowCount, now: window.end)
                    set.estimator = estimator
                }
            }
            if analysis.multivariate != nil || !data.embeddingFeatures.isEmpty {
                let rows = try await source.rows(from: start, to: end, sampleRate: sampleRate, on: store.database)
                set.drawRows(of: rows, for: analysis)
            }
            return MonitorReference(profiles: set, window: (start, end), comparison: comparison, name: name)
        }
        return try await profiled((start, end), comparison: comparison, sampleRate: sampleRate, keptAt: window.end)
    }

    /// Most rows a rolling reference reads: a longer period is sampled down to about this many.
    static let rollingRows = 1_000_000

    /// A moving reference profiled from its rows now, lending its windows the model's latest
    /// estimator (or fitting one on its labelled rows, kept from `now` on).
    private func profiled(_ period: (start: Date, end: Date), comparison: String, sampleRate: Double, keptAt now: Date) async throws -> MonitorReference? {
        let rows = try await source.rows(from: period.start, to: period.end, sampleRate: sampleRate, on: store.database)
        guard rows.rowCount > 0 else { return nil }
        let latest = try await latestEstimator()
        var set = await analysis.profileSet(rows, fittingEstimator: latest == nil)
        if let latest {
            set.estimator = latest
        } else if let fitted = set.estimator {
            try await keep(fitted, fittedOn: period, rows: rows.rowCount, now: now)
        }
        return MonitorReference(profiles: set, window: period, comparison: comparison, name: name)
    }

    /// The stored whole-window profiles inside [start, end), merged column by column.
    func merged(_ start: Date, _ end: Date) async throws -> ProfileSet {
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

    /// Rows set aside for the window, by column.
    func quarantined(_ window: WindowSignature) async throws -> [String: Int] {
        guard window.quarantined > 0 else { return [:] }
        return try await store.quarantinedCounts(model: model, from: window.start, to: window.end)
    }
}
