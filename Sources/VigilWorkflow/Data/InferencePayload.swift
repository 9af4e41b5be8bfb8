/// How a model server's request and response bodies map to inference-log rows: the workflow's
/// `data: { payload: … }`, for KServe's payload logger and any server speaking KServe's V1
/// protocol or the Open Inference Protocol (V2).
///
/// ```yaml
/// data:
///   features: { tenure_months: number, plan: category, monthly_charges: number }
///   payload:
///     inputs: [tenure_months, plan, monthly_charges]  # a row's values in order (default: the features as declared)
///     prediction: predict        # the V2 output holding the prediction (default: the first output)
///     score: predict_proba       # the V2 output holding the score (optional)
///     score_index: 1             # its column when it has one per class (default: the last)
/// ```
public struct PayloadMapping: Sendable, Hashable, Codable {
    /// The feature names of a row's values, in order, for rows sent as arrays (V1 `instances` of
    /// arrays, V2 tensors of shape `[N, F]`); `nil` takes the declared features in order.
    public var inputs: [String]?
    /// The V2 output (or V1 prediction object key) holding the prediction; `nil`: the first output
    /// (V1: the prediction itself, or `prediction` in an object).
    public var prediction: String?
    /// The V2 output (or V1 prediction object key) holding the score, if any.
    public var score: String?
    /// The score's column in an output with one per class; `nil`: the last (the positive class).
    public var scoreIndex: Int?

    public init(inputs: [String]? = nil, prediction: String? = nil, score: String? = nil, scoreIndex: Int? = nil) {
        self.inputs = inputs
        self.prediction = prediction
        self.score = score
        self.scoreIndex = scoreIndex
    }
}

/// A request or response body that cannot be mapped; `field` names where (`inputs[0].data`).
public struct PayloadMappingError: Error, CustomStringConvertible, Sendable, Equatable {
    public let field: String
    public let message: String
    public var description: String { "\(field): \(message)" }

    public init(_ field: String, _ message: String) {
        self.field = field
        self.message = message
    }
}

/// Turns a model server's request and response bodies into inference-log records.
public enum InferencePayload {
    /// The feature rows of a request body: KServe V1 (`{"instances": [...]}`, each instance an
    /// array in `inputs` order or an object by name) or the Open Inference Protocol
    /// (`{"inputs": [{"name", "shape", "datatype", "data"}]}`: one tensor of shape `[N, F]` in
    /// `inputs` order, or one tensor per feature of shape `[N]` or `[N, 1]`, named by feature).
    public static func featureRows(of body: JSONValue, mapping: PayloadMapping, features: [String]) throws(PayloadMappingError) -> [[String: JSONValue]] {
        let names = mapping.inputs ?? features
        if case let .array(instances)? = body["instances"] {
            return try instances.enumerated().map { (index, instance) throws(PayloadMappingError) in
                try row(instance, names: names, field: "instances[\(index)]")
            }
        }
        guard case let .array(tensors)? = body["inputs"], !tensors.isEmpty else {
            throw PayloadMappingError("body", "expected KServe V1 `instances` or Open Inference Protocol `inputs` (a list of tensors)")
        }
        let decoded = try tensors.enumerated().map { (index, tensor) throws(PayloadMappingError) in try Tensor(tensor, field: "inputs[\(index)]") }
        if decoded.count == 1, decoded[0].shape.count == 2 {
            let tensor = decoded[0]
            let width = tensor.shape[1]
            guard width == names.count else {
                throw PayloadMappingError("inputs[0].shape", "has \(width) columns but the mapping names \(names.count) inputs (\(names.joined(separator: ", ")))")
            }
            return stride(from: 0, to: tensor.values.count, by: max(width, 1)).map { start in
                Dictionary(uniqueKeysWithValues: zip(names, tensor.values[start..<start + width]))
            }
        }
        let rows = decoded[0].rows
        var result = Array(repeating: [String: JSONValue](), count: rows)
        for (index, tensor) in decoded.enumerated() {
            guard tensor.rows == rows, tensor.values.count == rows else {
                throw PayloadMappingError("inputs[\(index)].shape", "one tensor per feature must have shape [\(rows)] or [\(rows), 1], as the first does")
            }
            for (row, value) in tensor.values.enumerated() { result[row][tensor.name] = value }
        }
        return result
    }

    /// The predictions (and scores) of a response body: KServe V1 (`{"predictions": [...]}`, each
    /// a value, a list of class probabilities, or an object) or the Open Inference Protocol
    /// (`{"outputs": [...]}`).
    public static func predictions(of body: JSONValue, mapping: PayloadMapping) throws(PayloadMappingError) -> [(prediction: JSONValue, score: JSONValue?)] {
        if case let .array(predictions)? = body["predictions"] {
            return try predictions.enumerated().map { (index, prediction) throws(PayloadMappingError) in
                switch prediction {
                case let .array(probabilities):
                    guard probabilities.allSatisfy({ $0.numberValue != nil }) else {
                        throw PayloadMappingError("predictions[\(index)]", "a list of class probabilities must hold numbers only")
                    }
                    guard let best = probabilities.indices.max(by: { (probabilities[$0].numberValue ?? -.infinity) < (probabilities[$1].numberValue ?? -.infinity) }) else {
                        throw PayloadMappingError("predictions[\(index)]", "is an empty list")
                    }
                    return (.number(Double(best)), try column(probabilities, mapping.scoreIndex, field: "predictions[\(index)]"))
                case let .object(fields):
                    let key = mapping.prediction ?? "prediction"
                    guard let value = fields[key] else { throw PayloadMappingError("predictions[\(index)]", "has no '\(key)'") }
                    return (value, mapping.score.flatMap { fields[$0] })
                case .null:
                    throw PayloadMappingError("predictions[\(index)]", "is null")
                default:
                    return (prediction, nil)
                }
            }
        }
        guard case let .array(outputs)? = body["outputs"], !outputs.isEmpty else {
            throw PayloadMappingError("body", "expected KServe V1 `predictions` or Open Inference Protocol `outputs`")
        }
        let tensors = try outputs.enumerated().map { (index, output) throws(PayloadMappingError) in try Tensor(output, field: "outputs[\(index)]") }
        func named(_ name: String?) throws(PayloadMappingError) -> Tensor {
            guard let name else { return tensors[0] }
            guard let tensor = tensors.first(where: { $0.name == name }) else {
                throw PayloadMappingError("outputs", "has no output named '\(name)' (outputs: \(tensors.map(\.name).joined(separator: ", ")))")
            }
            return tensor
        }
        let prediction = try named(mapping.prediction)
        guard prediction.values.count == prediction.rows else {
            throw PayloadMappingError("outputs.\(prediction.name).shape", "a prediction output must have one value a row, shape [N] or [N, 1]")
        }
        if let row = prediction.values.firstIndex(of: .null) {
            throw PayloadMappingError("outputs.\(prediction.name).data[\(row)]", "is null")
        }
        let score = try mapping.score.map { (name) throws(PayloadMappingError) in try named(name) }
        if let score, score.rows != prediction.rows {
            throw PayloadMappingError("outputs.\(score.name).shape", "has \(score.rows) rows, the prediction \(prediction.rows)")
        }
        return try (0..<prediction.rows).map { (row) throws(PayloadMappingError) in
            guard let score else { return (prediction.values[row], nil) }
            let width = score.values.count / max(score.rows, 1)
            return (prediction.values[row], try column(Array(score.values[row * width..<(row + 1) * width]), mapping.scoreIndex, field: "outputs.\(score.name)"))
        }
    }

    /// One record per row, as `vigil ingest` reads JSON lines: `request_id` (`id`, or `id-N` in a
    /// batch of several), `ts`, the features, `prediction` and `score`.
    public static func records(
        id: String, time: String, request: JSONValue, response: JSONValue, mapping: PayloadMapping, features: [String]
    ) throws(PayloadMappingError) -> [[String: JSONValue]] {
        let rows = try featureRows(of: request, mapping: mapping, features: features)
        let outcomes = try predictions(of: response, mapping: mapping)
        guard rows.count == outcomes.count else {
            throw PayloadMappingError("response", "has \(outcomes.count) predictions for a request of \(rows.count) rows")
        }
        return zip(rows, outcomes).enumerated().map { index, pair in
            var record = pair.0
            record["request_id"] = .string(rows.count == 1 ? id : "\(id)-\(index)")
            record["ts"] = .string(time)
            record["prediction"] = pair.1.prediction
            if let score = pair.1.score { record["score"] = score }
            return record
        }
    }

    private static func row(_ instance: JSONValue, names: [String], field: String) throws(PayloadMappingError) -> [String: JSONValue] {
        switch instance {
        case let .object(values): return values
        case let .array(values):
            guard values.count == names.count else {
                throw PayloadMappingError(field, "has \(values.count) values but the mapping names \(names.count) inputs (\(names.joined(separator: ", ")))")
            }
            return Dictionary(uniqueKeysWithValues: zip(names, values))
        default:
            guard names.count == 1 else { throw PayloadMappingError(field, "must be a list of values or an object of features") }
            return [names[0]: instance]
        }
    }

    private static func column(_ values: [JSONValue], _ index: Int?, field: String) throws(PayloadMappingError) -> JSONValue {
        let position = index ?? values.count - 1
        guard values.indices.contains(position) else { throw PayloadMappingError(field, "has no column \(position) (it has \(values.count))") }
        return values[position]
    }

    /// An Open Inference Protocol tensor: its name, shape and values, flattened row-major.
    private struct Tensor {
        let name: String
        let shape: [Int]
        let values: [JSONValue]
        var rows: Int { shape.first ?? 1 }

        init(_ value: JSONValue, field: String) throws(PayloadMappingError) {
            guard let name = value["name"]?.stringValue else { throw PayloadMappingError("\(field).name", "is required") }
            guard case let .array(dimensions)? = value["shape"], !dimensions.isEmpty,
                  let shape = Optional(dimensions.compactMap { $0.numberValue.flatMap { $0 >= 0 && $0 <= 1e9 && $0 == $0.rounded() ? Int($0) : nil } }),
                  shape.count == dimensions.count else {
                throw PayloadMappingError("\(field).shape", "must be a list of whole numbers")
            }
            guard let data = value["data"] else { throw PayloadMappingError("\(field).data", "is required") }
            var flat: [JSONValue] = []
            func flatten(_ value: JSONValue) {
                if case let .array(items) = value { items.forEach(flatten) } else { flat.append(value) }
            }
            flatten(data)
            let expected = shape.reduce(1) { $0.multipliedReportingOverflow(by: $1).overflow ? Int.max : $0 * $1 }
            guard flat.count == expected else {
                throw PayloadMappingError("\(field).data", "holds \(flat.count) values, but shape \(shape) needs \(expected)")
            }
            self.name = name
            self.shape = shape
            self.values = flat
        }
    }
}
