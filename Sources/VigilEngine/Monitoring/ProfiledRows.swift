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
    var predictions: CategoryColumn
    var scores: [Double]
    /// Class probabilities per row, for a multiclass model; empty otherwise.
    var probabilities: [[String: Double]?]
    var labels: CategoryColumn
    var latencies: [Double]
    var errors: Int
    var profiles: [(Column, ColumnProfile)] = []
    /// Each column's drift finding, when profiling was given a way to judge it.
    var findings: [Column: DriftFinding] = [:]

    /// Judges a column from its profile and, for numbers, its sorted values (which binned drift
    /// methods recount on the reference's edges); `nil` when it is not tested.
    typealias Judge = @Sendable (Column, ColumnProfile, SortedSample?) -> DriftFinding?

    /// Takes the rows at `indices` (all rows when `nil`) and profiles every column, several at
    /// once, judging each with `judge` while its sorted values exist: they are let go as soon as
    /// the column is done, so a large window never holds every column's sorted copy at once.
    static func profiling(_ rows: WindowRows, indices: [Int]?, data: MonitoredData, judge: Judge? = nil) async -> ProfiledRows {
        var table = ProfiledRows(rows: rows, indices: indices)
        var columns: [(Column, ColumnValues)] = []
        for schema in data.features {
            guard let values = table.features[schema.name] else { continue }
            columns.append((Column(name: schema.name, role: "feature"), values))
        }
        let numericOutputs = data.problemType == .regression
        if table.predictions.hasValues {
            let predictions = table.predictions
            columns.append((Column(name: data.prediction, role: "prediction"), numericOutputs ? .numeric(predictions.map { $0.flatMap(Double.init) ?? .nan }) : .categorical(predictions)))
        }
        if table.scores.contains(where: { !$0.isNaN }) {
            columns.append((Column(name: data.score ?? "score", role: "score"), .numeric(table.scores)))
        }
        if table.labels.hasValues {
            let labels = table.labels
            columns.append((Column(name: data.label ?? "label", role: "label"), numericOutputs ? .numeric(labels.map { $0.flatMap(Double.init) ?? .nan }) : .categorical(labels)))
        }
        let profiled = await withTaskGroup(of: (Int, ColumnProfile, DriftFinding?).self) { group in
            for (index, (column, values)) in columns.enumerated() {
                group.addTask {
                    let (profile, sample) = Self.profile(column, values)
                    return (index, profile, judge?(column, profile, sample))
                }
            }
            var results: [(Int, ColumnProfile, DriftFinding?)] = []
            for await result in group { results.append(result) }
            return results.sorted { $0.0 < $1.0 }
        }
        for (index, profile, finding) in profiled {
            let column = columns[index].0
            table.profiles.append((column, profile))
            if let finding { table.findings[column] = finding }
        }
        return table
    }

    private init(rows: WindowRows, indices: [Int]?) {
        func pick<T>(_ values: [T]) -> [T] {
            guard let indices else { return values }
            return indices.map { values[$0] }
        }
        func pick(_ values: CategoryColumn) -> CategoryColumn {
            indices.map { values.picking($0) } ?? values
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
        probabilities = rows.probabilities.isEmpty ? [] : pick(rows.probabilities)
        labels = pick(rows.labels)
        latencies = pick(rows.latencies)
        errors = pick(rows.errors).lazy.filter { $0 }.count
    }

    private static func profile(_ column: Column, _ values: ColumnValues) -> (ColumnProfile, SortedSample?) {
        switch values {
        case let .numeric(numbers):
            guard let sample = try? SortedSample(numbers, name: column.name) else {
                // Every value missing: a categorical profile that counts them.
                return (ColumnProfile(categories: CategoryColumn(repeatElement(nil, count: numbers.count))), nil)
            }
            return (ColumnProfile(numbers: sample), sample)
        case let .categorical(texts):
            return (ColumnProfile(categories: texts), nil)
        }
    }

    /// A numeric column's values as categories, for comparing with a low-cardinality reference.
    static func categoricalView(_ sample: SortedSample) -> CategoricalProfile {
        var profile = CategoricalProfile()
        for value in sample.values { profile.add(NumberText.format(value)) }
        profile.add(nil, count: sample.missingCount)
        return profile
    }
}
