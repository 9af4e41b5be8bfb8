import Foundation

/// One feature value of one row, as a model sees it.
public enum FeatureValue: Sendable, Hashable {
    case number(Double)
    case text(String)
    case missing
}

/// How rows of named features become a numeric vector: numbers standardised with the training
/// mean and deviation (missing → the mean), categories one-hot over the training categories
/// (unseen or missing → all zeros). Fitted on training rows, stored with the model.
public struct FeatureEncoding: Sendable, Codable, Equatable {
    public struct Numeric: Sendable, Codable, Equatable {
        public let name: String
        public let mean: Double
        public let deviation: Double
    }

    public struct Categorical: Sendable, Codable, Equatable {
        public let name: String
        public let categories: [String]
    }

    public let numeric: [Numeric]
    public let categorical: [Categorical]

    /// The width of an encoded row.
    public var width: Int { numeric.count + categorical.reduce(0) { $0 + $1.categories.count } }

    /// Fits an encoding: a feature with any numeric value is numeric, otherwise categorical (its
    /// `maximumCategories` most frequent values, ties by name).
    public init(fitting rows: [[String: FeatureValue]], maximumCategories: Int = 50) {
        var names = Set<String>()
        for row in rows { names.formUnion(row.keys) }
        var numeric: [Numeric] = []
        var categorical: [Categorical] = []
        for name in names.sorted() {
            var sum = 0.0, sumSquares = 0.0, count = 0.0
            var counts: [String: Int] = [:]
            for row in rows {
                switch row[name] ?? .missing {
                case let .number(value) where value.isFinite:
                    sum += value
                    sumSquares += value * value
                    count += 1
                case let .text(text): counts[text, default: 0] += 1
                default: break
                }
            }
            if count > 0 {
                let mean = sum / count
                let variance = max(0, sumSquares / count - mean * mean)
                numeric.append(Numeric(name: name, mean: mean, deviation: variance > 0 ? variance.squareRoot() : 1))
            } else if !counts.isEmpty {
                let top = counts.sorted { $0.value != $1.value ? $0.value > $1.value : $0.key < $1.key }.prefix(maximumCategories).map(\.key)
                categorical.append(Categorical(name: name, categories: top.sorted()))
            }
        }
        self.numeric = numeric
        self.categorical = categorical
    }

    /// One row as a vector of ``width`` values.
    public func encode(_ row: [String: FeatureValue]) -> [Double] {
        var vector: [Double] = []
        vector.reserveCapacity(width)
        for feature in numeric {
            switch row[feature.name] ?? .missing {
            case let .number(value) where value.isFinite: vector.append((value - feature.mean) / feature.deviation)
            case let .text(text): vector.append(Double(text).map { ($0 - feature.mean) / feature.deviation } ?? 0)
            default: vector.append(0)
            }
        }
        for feature in categorical {
            let value: String? = switch row[feature.name] ?? .missing {
            case let .text(text): text
            case let .number(number): number == number.rounded() && abs(number) < 1e15 ? String(Int64(number)) : String(number)
            case .missing: nil
            }
            for category in feature.categories { vector.append(category == value ? 1 : 0) }
        }
        return vector
    }
}
