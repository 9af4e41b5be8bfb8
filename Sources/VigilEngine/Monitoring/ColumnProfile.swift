import Foundation
import VigilStatistics
import VigilStore
import VigilWorkflow

/// What the monitor keeps of one column in one window (and slice): a mergeable profile, and for
/// numbers with few distinct values a categorical view too, since those are compared as categories.
struct ColumnProfile: Sendable, Codable {
    var numeric: NumericProfile?
    var categorical: CategoricalProfile?
    /// Distinct non-missing values (exact, from the window's rows).
    var distinctCount: Int

    /// Numbers with at most this many distinct values also get a categorical profile.
    static let categoricalCardinality = 20
    static let sketchK = 800
    static let binCount = 10

    var kind: ColumnKind { numeric == nil ? .categorical : .numeric }
    var rowCount: Int {
        if let numeric { return numeric.count + numeric.missingCount }
        return categorical.map { $0.count + $0.missingCount } ?? 0
    }

    var missingCount: Int { numeric?.missingCount ?? categorical?.missingCount ?? 0 }
    var mean: Double? { numeric.flatMap { $0.count > 0 ? $0.mean : nil } }

    /// A numeric column's profile; `sample` is kept by the caller for rebinning against references.
    init(numbers sample: SortedSample) {
        numeric = .profiling(sample, binCount: Self.binCount, sketchK: Self.sketchK)
        distinctCount = sample.count > 0 ? sample.distinctCount : 0
        if distinctCount <= Self.categoricalCardinality {
            var categories = CategoricalProfile()
            var index = 0
            let values = sample.values
            while index < values.count {
                var next = index + 1
                while next < values.count && values[next] == values[index] { next += 1 }
                categories.add(NumberText.format(values[index]), count: next - index)
                index = next
            }
            categories.add(nil, count: sample.missingCount)
            categorical = categories
        }
    }

    init(categories values: CategoryColumn) {
        var profile = CategoricalProfile()
        let counts = CategoryCounts(values)
        for (category, count) in counts.counts { profile.add(category, count: count) }
        profile.add(nil, count: counts.missingCount)
        categorical = profile
        distinctCount = counts.counts.count
    }

    /// The profile of both windows together (a longer window rolled up from shorter ones).
    /// Distinct counts are exact when categories are kept, else the larger of the two (a lower bound).
    func merged(with other: ColumnProfile) -> ColumnProfile {
        var result = self
        switch (numeric, other.numeric) {
        case let (mine?, theirs?): result.numeric = mine.combined(with: theirs)
        default: result.numeric = numeric ?? other.numeric
        }
        switch (categorical, other.categorical) {
        case let (mine?, theirs?): result.categorical = mine.merged(with: theirs)
        default: result.categorical = nil
        }
        result.distinctCount = result.categorical?.distinctCount ?? max(distinctCount, other.distinctCount)
        return result
    }


    func encoded() throws -> String {
        String(decoding: try JSONEncoder().encode(self), as: UTF8.self)
    }

    static func decoded(_ text: String) throws -> ColumnProfile {
        try JSONDecoder().decode(ColumnProfile.self, from: Data(text.utf8))
    }
}

/// The profiles of a window or a baseline, by slice and column.
struct ProfileSet: Sendable {
    struct Key: Hashable, Sendable {
        let slice: Slice
        let column: String
    }

    var profiles: [Key: ColumnProfile] = [:]
    /// Performance metrics of the same data, for baseline values.
    var performance: [WindowMetric] = []
    /// Column roles (feature, prediction, score, label), when the profiles were read back from storage.
    var roles: [String: String] = [:]
    /// How many stored windows were merged into these profiles (roll-ups).
    var windowCount = 0
    /// The performance estimator fitted on the same rows (a fixed baseline's), or the model's
    /// latest one for a moving reference.
    var estimator: ReferenceEstimator?
    /// Rows drawn for the multivariate tests, when the monitor runs them: from the whole window,
    /// and from each slice.
    var sample: TableSample?
    var sliceSamples: [Slice: TableSample] = [:]
    /// Each embedding feature's present rows, drawn for its drift test: from the whole window,
    /// and from each slice.
    var embeddings: [String: EmbeddingSample] = [:]
    var sliceEmbeddings: [Slice: [String: EmbeddingSample]] = [:]

    subscript(slice: Slice, column: String) -> ColumnProfile? {
        profiles[Key(slice: slice, column: column)]
    }

    init() {}

    init(stored: [StoredProfile], performance: [WindowMetric]) throws {
        for profile in stored {
            profiles[Key(slice: profile.slice, column: profile.columnName)] = try ColumnProfile.decoded(profile.profile)
        }
        self.performance = performance
    }

    var isEmpty: Bool { profiles.isEmpty }

    func performance(_ metric: String, slice: Slice) -> Double? {
        performance.first { $0.metric == metric && $0.sliceKey == slice.key && $0.sliceValue == slice.value && !$0.estimated }?.value
    }
}
