import Foundation
import Logging
import VigilStatistics
import VigilStore
import VigilWorkflow

/// What the monitor computes from a window's rows and its reference, with no I/O: column
/// profiles per slice, drift decided by the ``DriftPolicy``, integrity, performance (realised,
/// and estimated from scores by the reference's ``ReferenceEstimator``) and operational metrics.
struct WindowAnalysis: Sendable {
    let data: MonitoredData
    let slices: [SliceRule]
    let policy: DriftPolicy
    /// Features tested for drift.
    let testedFeatures: Set<String>
    /// Whether and how the tested features are compared all together.
    let multivariate: MultivariateOptions?
    /// How embedding features are compared whole.
    let embedding: EmbeddingSettings
    let logger: Logger

    /// The tested features, in declaration order.
    var testedFeatureNames: [String] { data.features.map(\.name).filter(testedFeatures.contains) }

    /// The features of the rows drawn for the multivariate tests: the tested ones, or every
    /// scalar feature when the champion's importances are measured (the model reads them all).
    var sampledFeatureNames: [String] {
        multivariate?.championImportance == nil ? testedFeatureNames : data.scalarFeatures.map(\.name)
    }

    var granularity: TimeInterval { TimeInterval(data.granularity.seconds) }

    /// The metrics of one window's rows against its reference (none for a first window), and the
    /// rows drawn from it for the multivariate tests (when they ran), which the champion's
    /// permutation importances reuse rather than drawing again.
    func metrics(
        of rows: WindowRows, window: WindowSignature, workflow: String, sampleRate: Double,
        reference: MonitorReference?, quarantined: [String: Int]
    ) async throws -> (metrics: WindowMetrics, drawn: TableSample?) {
        var metrics = WindowMetrics(signature: window, workflow: workflow, sampleRate: sampleRate)
        var drawn: TableSample?
        let embeddings = embedding.samples(rows, features: data.embeddingFeatures)
        for (slice, indices) in subsets(rows) {
            var judge: ProfiledRows.Judge?
            if let reference {
                let analysis = self
                judge = { @Sendable column, profile, sample in
                    analysis.finding(column, profile, sample: sample, slice: slice, reference: reference)
                }
            }
            let table = await ProfiledRows.profiling(rows, indices: indices, data: data, judge: judge)
            for (column, profile) in table.profiles {
                metrics.profiles.append(StoredProfile(
                    slice: slice, columnName: column.name, role: column.role, kind: profile.kind.rawValue, profile: try profile.encoded()
                ))
            }
            if let reference {
                // A slice's embeddings are drawn only when the reference has that slice's to compare with.
                let sliceEmbeddings = if let indices {
                    reference.profiles.sliceEmbeddings[slice] == nil ? [:] : embedding.samples(rows, features: data.embeddingFeatures, indices: indices)
                } else {
                    embeddings
                }
                let sliceDrift = drift(table.profiles, findings: table.findings, slice: slice, reference: reference, embeddings: sliceEmbeddings)
                metrics.drift += sliceDrift
                if let indices {
                    // Ranked with the slice's own classifier when its multivariate test ran, else by drift alone.
                    if let options = multivariate, let base = reference.profiles.sliceSamples[slice],
                       let (found, drivers) = sliceFindings(rows, indices: indices, slice: slice, options: options, reference: base, drift: sliceDrift, window: window) {
                        metrics.multivariate += found
                        metrics.sliceDrivers[slice] = drivers
                    } else {
                        metrics.sliceDrivers[slice] = MultivariateOptions.drivers(classifierShares: nil, drift: sliceDrift, slice: slice)
                    }
                }
            }
            metrics.integrity += integrity(table, rows: rows, slice: slice, reference: reference, quarantined: quarantined)
            let summary = PerformanceSummary(table: table, problem: data.problemType)
            metrics.performance += summary.metrics(slice: slice) { metric in reference?.profiles.performance(metric, slice: slice) }
            if slice == .overall { metrics.reliability = summary.reliability }
            if let estimator = reference?.profiles.estimator {
                metrics.performance += estimator.metrics(of: table, slice: slice) { metric in reference?.profiles.performance(metric, slice: slice) }
            }
            metrics.operational += operational(table, slice: slice)
        }
        await servedBy(rows, reference: reference, into: &metrics)
        let drift = metrics.drift.filter { $0.sliceKey == nil }
        metrics.drivers = MultivariateOptions.drivers(classifierShares: nil, drift: drift)
        if let options = multivariate, let base = reference?.profiles.sample {
            let current = options.sample(rows, features: sampledFeatureNames)
            drawn = current
            do {
                let (found, drivers) = try options.findings(current: current, reference: base, tested: testedFeatureNames, drift: drift)
                metrics.multivariate += found
                metrics.drivers = drivers
            } catch {
                logger.info("no multivariate test for a window", metadata: ["window": "\(window.start)", "reason": "\(error)"])
            }
        }
        return (metrics, drawn)
    }

    /// A slice's multivariate findings and the drivers of its drift (its `drift` rows, with the
    /// slice's classifier's gain): its rows (at `indices`) drawn and compared with the same slice
    /// of the reference. `nil`, and a note in the log, when the slice is too small to test.
    private func sliceFindings(
        _ rows: WindowRows, indices: [Int], slice: Slice, options: MultivariateOptions, reference: TableSample, drift: [DriftMetric],
        window: WindowSignature
    ) -> ([MultivariateMetric], [DriftDriver])? {
        let current = options.sample(rows, features: sampledFeatureNames, indices: indices)
        do {
            return try options.findings(current: current, reference: reference, tested: testedFeatureNames, drift: drift, slice: slice)
        } catch {
            logger.info("no multivariate test for a slice", metadata: [
                "window": "\(window.start)", "slice": "\(slice.key ?? "")=\(slice.value ?? "")", "reason": "\(error)",
            ])
            return nil
        }
    }

    /// Tags the window's performance and operational rows with the version that served it and,
    /// when champion and canary shared it, adds each one's own rows (performance against the
    /// reference's whole-traffic values; an estimate for the champion only, whose scores the
    /// reference calibrated).
    func servedBy(_ rows: WindowRows, reference: MonitorReference?, into metrics: inout WindowMetrics) async {
        let counts = Self.variantCounts(rows)
        if counts.count == 1, let only = counts.keys.first {
            let version = Self.variant(only).version
            for index in metrics.performance.indices { metrics.performance[index].modelVersion = version }
            for index in metrics.operational.indices { metrics.operational[index].modelVersion = version }
            return
        }
        guard counts.count > 1 else { return }
        // Each variant's row indices, gathered only when more than one answered.
        var groups = counts.mapValues { count in
            var indices: [Int] = []
            indices.reserveCapacity(count)
            return indices
        }
        for (index, variant) in rows.variants.enumerated() {
            if let variant { groups[variant]?.append(index) }
        }
        for (key, indices) in groups.sorted(by: { $0.key < $1.key }) {
            let (variant, version) = Self.variant(key)
            let table = await ProfiledRows.profiling(rows, indices: indices, data: data)
            let baseline: (String) -> Double? = { metric in reference?.profiles.performance(metric, slice: .overall) }
            var own = PerformanceSummary(table: table, problem: data.problemType).metrics(slice: .overall, baseline: baseline)
            if variant == "champion", let estimator = reference?.profiles.estimator {
                own += estimator.metrics(of: table, slice: .overall, baseline: baseline)
            }
            func tagged(_ metric: WindowMetric) -> WindowMetric {
                var metric = metric
                metric.variant = variant
                metric.modelVersion = version
                return metric
            }
            metrics.performance += own.map(tagged)
            metrics.operational += operational(table, slice: .overall).map(tagged)
        }
    }

    /// The whole window, then each slice value (the most frequent ``SliceRule/maximumValues`` per rule).
    func subsets(_ rows: WindowRows) -> [(Slice, [Int]?)] {
        var result: [(Slice, [Int]?)] = [(.overall, nil)]
        for rule in slices {
            guard let column = rows.features[rule.column] else { continue }
            let values = rule.values(column)
            let groups = zip(values.categories, values.rowsByCode.dropFirst()).filter { !$0.1.isEmpty }.map { (key: $0.0, value: $0.1) }
            let kept = groups.sorted { $0.value.count != $1.value.count ? $0.value.count > $1.value.count : $0.key < $1.key }
                .prefix(SliceRule.maximumValues)
            for (value, indices) in kept.sorted(by: { $0.key < $1.key }) {
                result.append((Slice(key: rule.expression, value: value), indices))
            }
        }
        return result
    }

    /// A row's `role:version`, as the log reads it, split.
    static func variant(_ key: String) -> (role: String, version: String) {
        let parts = key.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        return (parts[0], parts.count > 1 ? parts[1] : "")
    }

    /// The version that answered most of the rows as champion, or, among rows none of which it
    /// served as champion (a version's shadow or canary answers), most of them at all; `nil` for a
    /// user's table, whose rows name no version.
    static func championVersion(of rows: WindowRows) -> String? {
        var served: [String: Int] = [:], asChampion: [String: Int] = [:]
        for (key, count) in variantCounts(rows) {
            let (role, version) = variant(key)
            guard !version.isEmpty else { continue }
            served[version, default: 0] += count
            if role == "champion" { asChampion[version, default: 0] += count }
        }
        return (asChampion.isEmpty ? served : asChampion).max { $0.value != $1.value ? $0.value < $1.value : $0.key > $1.key }?.key
    }

    /// How many rows each `role:version` answered.
    static func variantCounts(_ rows: WindowRows) -> [String: Int] { CategoryCounts(rows.variants).counts }

    /// The performance estimator fitted on rows' labelled answers, with the version that gave them.
    func estimator(fittedOn rows: WindowRows) async -> ReferenceEstimator? {
        estimator(fittedOn: await ProfiledRows.profiling(rows, indices: nil, data: data), rows: rows)
    }

    private func estimator(fittedOn table: ProfiledRows, rows: WindowRows) -> ReferenceEstimator? {
        var estimator = ReferenceEstimator(fittedOn: table, data: data)
        estimator?.modelVersion = Self.championVersion(of: rows)
        return estimator
    }

    /// Profiles (and performance) of rows read for a reference, for every slice, with an
    /// estimator fitted on them unless `fittingEstimator` is false (one is kept already).
    func profileSet(_ rows: WindowRows, fittingEstimator: Bool = true) async -> ProfileSet {
        var set = ProfileSet()
        for (slice, indices) in subsets(rows) {
            let table = await ProfiledRows.profiling(rows, indices: indices, data: data)
            for (column, profile) in table.profiles {
                set.profiles[ProfileSet.Key(slice: slice, column: column.name)] = profile
            }
            set.performance += PerformanceSummary(table: table, problem: data.problemType).metrics(slice: slice) { _ in nil }
            if slice == .overall, fittingEstimator { set.estimator = estimator(fittedOn: table, rows: rows) }
        }
        set.drawRows(of: rows, for: self)
        return set
    }

    // MARK: - Drift

    /// A tested column's drift finding against the reference's profile of the same slice and
    /// column; `nil` when the column is not tested, the reference lacks it, or the two cannot be
    /// compared. `sample` (the window's sorted values) lets a binned method recount on the
    /// reference's edges.
    func finding(_ column: ProfiledRows.Column, _ current: ColumnProfile, sample: SortedSample?, slice: Slice, reference: MonitorReference) -> DriftFinding? {
        guard column.role != "feature" || testedFeatures.contains(column.name), let base = reference.profiles[slice, column.name] else { return nil }
        do {
            return try policy.finding(current: current, reference: base, sample: sample).1
        } catch {
            logger.debug("no drift test for a column", metadata: ["column": "\(column.name)", "reason": "\(error)"])
            return nil
        }
    }

    /// Drift of each profiled column with a finding (see ``finding(_:_:sample:slice:reference:)``)
    /// and of each embedding in `embeddings` (the window's drawn rows) against the reference's,
    /// decided by the policy across the columns of the slice (so p-values are corrected together,
    /// as `vigil drift` corrects across a file's columns).
    func drift(
        _ profiles: [(ProfiledRows.Column, ColumnProfile)], findings: [ProfiledRows.Column: DriftFinding], slice: Slice, reference: MonitorReference,
        embeddings: [String: EmbeddingSample] = [:]
    ) -> [DriftMetric] {
        var compared: [(column: ProfiledRows.Column, current: ColumnProfile, base: ColumnProfile, finding: DriftFinding)] = []
        for (column, current) in profiles {
            guard let finding = findings[column], let base = reference.profiles[slice, column.name] else { continue }
            compared.append((column, current, base, finding))
        }
        var embedded: [(name: String, finding: DriftFinding)] = []
        let references = slice == .overall ? reference.profiles.embeddings : reference.profiles.sliceEmbeddings[slice] ?? [:]
        for feature in data.embeddingFeatures where testedFeatures.contains(feature.name) {
            guard let current = embeddings[feature.name], let base = references[feature.name] else { continue }
            do {
                try policy.checkCounts(reference: base.count, current: current.count)
                embedded.append((feature.name, DriftFinding(result: try EmbeddingDrift.compare(reference: base, current: current, options: embedding.options))))
            } catch {
                logger.debug("no drift test for an embedding", metadata: ["feature": "\(feature.name)", "reason": "\(error)"])
            }
        }
        let verdicts = policy.verdicts(compared.map(\.finding) + embedded.map(\.finding))
        let columns = zip(compared, verdicts).map { entry, verdict in
            let (column, current, base, finding) = entry
            let result = finding.result
            var pValue = result.pValue, parameters = result.parameters
            if let adjusted = verdict.adjustedPValue, policy.correction != .none { parameters["adjusted_p_value"] = adjusted }
            if let confirmation = finding.confirmation, let level = policy.significance {
                pValue = confirmation.pValue
                parameters["significance"] = level
                parameters["significance_test"] = confirmation.method == .ks ? 1 : 2
            }
            let referenceRows = base.rowCount, currentRows = current.rowCount
            return DriftMetric(
                slice: slice, featureName: column.name, columnRole: column.role, method: result.method.rawValue,
                driftScore: result.score, driftThreshold: result.threshold, pValue: pValue, drifted: verdict.drifted,
                comparison: reference.comparison, reference: reference.name,
                referenceStart: reference.window?.start, referenceEnd: reference.window?.end,
                referenceCount: referenceRows, currentCount: currentRows,
                meanDelta: current.mean.flatMap { now in base.mean.map { now - $0 } },
                nullRateDelta: rate(current.missingCount, currentRows) - rate(base.missingCount, referenceRows),
                distinctCountDelta: current.distinctCount - base.distinctCount,
                parameters: parameters, binEdges: result.binEdges
            )
        }
        return columns + zip(embedded, verdicts.dropFirst(compared.count)).map { entry, verdict in
            let result = entry.finding.result
            var parameters = result.parameters
            if let adjusted = verdict.adjustedPValue, policy.correction != .none { parameters["adjusted_p_value"] = adjusted }
            return DriftMetric(
                slice: slice, featureName: entry.name, columnRole: "feature", method: result.method.rawValue,
                driftScore: result.score, driftThreshold: result.threshold, pValue: result.pValue, drifted: verdict.drifted,
                comparison: reference.comparison, reference: reference.name,
                referenceStart: reference.window?.start, referenceEnd: reference.window?.end,
                referenceCount: result.referenceCount, currentCount: result.currentCount,
                meanDelta: nil, nullRateDelta: 0, distinctCountDelta: nil, parameters: parameters, binEdges: nil
            )
        }
    }

    private func rate(_ part: Int, _ whole: Int) -> Double { whole > 0 ? Double(part) / Double(whole) : 0 }

    // MARK: - Integrity and operations

    func integrity(_ table: ProfiledRows, rows: WindowRows, slice: Slice, reference: MonitorReference?, quarantined: [String: Int]) -> [IntegrityMetric] {
        var results: [IntegrityMetric] = []
        let overall = slice == .overall
        for schema in overall ? data.embeddingFeatures : [] {
            guard let values = rows.embeddings[schema.name], let dimension = schema.dimension, dimension > 0 else { continue }
            let missing = stride(from: 0, to: values.count, by: dimension).filter { values[$0].isNaN }.count
            results.append(IntegrityMetric(
                slice: slice, featureName: schema.name, rowCount: table.rowCount, missingCount: missing, typeMismatches: 0, outOfRange: 0,
                outOfDomain: 0, unseenCategories: 0, quarantinedRows: quarantined[schema.name] ?? 0
            ))
        }
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

extension ProfileSet {
    /// Draws from a reference's `rows` what `analysis` compares rows whole with: for the
    /// multivariate tests and of each embedding, from the whole window and from each slice value
    /// ``WindowAnalysis/subsets(_:)`` keeps.
    mutating func drawRows(of rows: WindowRows, for analysis: WindowAnalysis) {
        let features = analysis.data.embeddingFeatures
        sample = analysis.multivariate?.sample(rows, features: analysis.sampledFeatureNames)
        embeddings = analysis.embedding.samples(rows, features: features)
        sliceSamples = [:]
        sliceEmbeddings = [:]
        guard !analysis.slices.isEmpty, analysis.multivariate != nil || !features.isEmpty else { return }
        for case let (slice, indices?) in analysis.subsets(rows) {
            sliceSamples[slice] = analysis.multivariate?.sample(rows, features: analysis.sampledFeatureNames, indices: indices)
            let drawn = analysis.embedding.samples(rows, features: features, indices: indices)
            if !drawn.isEmpty { sliceEmbeddings[slice] = drawn }
        }
    }
}
