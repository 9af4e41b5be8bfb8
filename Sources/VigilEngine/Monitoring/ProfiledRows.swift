import VigilStatistics
import VigilStore
import VigilWorkflow

/// The rows of one window or slice, column by column, with each column's profile.
struct ProfiledRows {
    /// A profiled column: a feature, or the prediction, score or label.
    struct Column: Hashable {
        let name: String
        /// feature, prediction, score or label.
        let role: String
    }

    let rowCount: Int
    var features: [String: ColumnValues] = [:]
    var predictions: [String?]
    var scores: [Double]
    var labels: [String?]
    var latencies: [Double]
    var errors: Int
    var profiles: [(Column, ColumnProfile)] = []
    /// Sorted numeric values by column name, for rebinning against a reference's edges.
    var samples: [String: SortedSample] = [:]

    /// Takes the rows at `indices` (all rows when `nil`) and profiles every column.
    init(rows: WindowRows, indices: [Int]?, data: MonitoredData) {
        func pick<T>(_ values: [T]) -> [T] {
            guard let indices else { return values }
            return indices.map { values[$0] }
        }
        rowCount = indices?.count ?? rows.rowCount
        for (name, values) in rows.features {
            switch values {
            case let .numeric(numbers): features[name] = .numeric(pick(numbers))
            case let .categorical(texts): features[name] = .categorical(pick(texts))
            }
        }
        predictions = pick(rows.predictions)
        scores = pick(rows.scores)
        labels = pick(rows.labels)
        latencies = pick(rows.latencies)
        errors = pick(rows.errors).lazy.filter { $0 }.count
        for schema in data.features {
            guard let values = features[schema.name] else { continue }
            add(Column(name: schema.name, role: "feature"), values)
        }
        let numericOutputs = data.problemType == .regression
        if predictions.contains(where: { $0 != nil }) {
            add(Column(name: data.prediction, role: "prediction"), numericOutputs ? .numeric(predictions.map { $0.flatMap(Double.init) ?? .nan }) : .categorical(predictions))
        }
        if scores.contains(where: { !$0.isNaN }) {
            add(Column(name: data.score ?? "score", role: "score"), .numeric(scores))
        }
        if labels.contains(where: { $0 != nil }) {
            add(Column(name: data.label ?? "label", role: "label"), numericOutputs ? .numeric(labels.map { $0.flatMap(Double.init) ?? .nan }) : .categorical(labels))
        }
    }

    private mutating func add(_ column: Column, _ values: ColumnValues) {
        switch values {
        case let .numeric(numbers):
            guard let sample = try? SortedSample(numbers, name: column.name) else {
                // Every value missing: a categorical profile that counts them.
                profiles.append((column, ColumnProfile(categories: Array(repeating: nil, count: numbers.count))))
                return
            }
            samples[column.name] = sample
            profiles.append((column, ColumnProfile(numbers: sample)))
        case let .categorical(texts):
            profiles.append((column, ColumnProfile(categories: texts)))
        }
    }

    /// A numeric column's values as categories, for comparing with a low-cardinality reference.
    func categoricalView(_ column: String) -> CategoricalProfile? {
        guard let sample = samples[column] else { return nil }
        var profile = CategoricalProfile()
        for value in sample.values { profile.add(ColumnProfile.categoryName(value)) }
        profile.add(nil, count: sample.missingCount)
        return profile
    }
}
