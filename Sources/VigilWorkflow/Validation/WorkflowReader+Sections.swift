import Foundation
import VigilStatistics

extension WorkflowReader {
    mutating func readSchedule(_ node: YAMLNode) -> Schedule? {
        var cronNode = node
        var timezone = "UTC"
        var catchUp = Schedule.CatchUp.skip
        if case .mapping = node {
            guard let fields = reader.mapping(node, in: "schedule", allowed: ["cron", "timezone", "catch_up"]) else { return nil }
            guard let cron = fields["cron"] else {
                reader.report(node.location, "schedule has no 'cron'")
                return nil
            }
            cronNode = cron.value
            if let field = fields["timezone"], let name = reader.string(field.value, "schedule timezone") {
                if TimeZone(identifier: name) == nil {
                    reader.report(field.value.location, "unknown time zone '\(name)'; use an IANA name such as UTC or Europe/Paris")
                } else {
                    timezone = name
                }
            }
            if let field = fields["catch_up"] {
                catchUp = reader.choice(field.value, "schedule catch_up", as: Schedule.CatchUp.self) ?? .skip
            }
        }
        guard let text = reader.string(cronNode, "schedule cron") else { return nil }
        do {
            return Schedule(cron: try CronExpression(text), timezone: timezone, catchUp: catchUp)
        } catch {
            reader.report(cronNode.location, "invalid cron schedule '\(text)': \(error.message)")
            return nil
        }
    }

    mutating func readTriggers(_ node: YAMLNode) -> [Trigger] {
        guard case let .sequence(items, _) = node else {
            reader.report(node.location, "triggers must be a list, found \(node.kindDescription)")
            return []
        }
        let kinds = Trigger.Kind.allCases.map(\.rawValue)
        return items.compactMap { item -> Trigger? in
            if case let .scalar(scalar) = item {
                guard let kind = Trigger.Kind(rawValue: scalar.text) else {
                    reader.report(item.location, "unknown trigger '\(scalar.text)'; use one of \(kinds.joined(separator: ", "))\(Suggestion.hint(for: scalar.text, in: kinds))")
                    return nil
                }
                return Trigger(kind: kind, name: nil, labels: [:])
            }
            guard let fields = reader.mapping(item, in: "a trigger", allowed: kinds + ["labels"]) else { return nil }
            let present = Trigger.Kind.allCases.filter { fields[$0.rawValue] != nil }
            guard present.count == 1, let kind = present.first else {
                reader.report(item.location, "a trigger names exactly one of \(kinds.joined(separator: ", "))")
                return nil
            }
            let nameNode = fields[kind.rawValue]!.value
            let name = nameNode.isNull ? nil : reader.string(nameNode, "the \(kind.rawValue) trigger's name")
            var labels: [String: String] = [:]
            if let field = fields["labels"], case let .mapping(entries, _) = field.value {
                for entry in entries { labels[entry.key] = reader.string(entry.value, "label '\(entry.key)'") }
            } else if let field = fields["labels"] {
                reader.report(field.value.location, "labels must be a mapping of label names to values")
            }
            return Trigger(kind: kind, name: name, labels: labels)
        }
    }

    mutating func readConcurrency(_ node: YAMLNode, model: String?) -> Concurrency? {
        guard let fields = reader.mapping(node, in: "concurrency", allowed: ["key", "policy"]) else { return nil }
        var key = model ?? ""
        if let field = fields["key"], case let .scalar(scalar) = field.value, !scalar.isNull {
            key = scalar.text
            concurrencyKey = scalar
        } else if let field = fields["key"] {
            reader.report(field.value.location, "concurrency key must be text, found \(field.value.kindDescription)")
        }
        if key.isEmpty { reader.report(node.location, "concurrency needs a 'key' (or a workflow 'model' to default to)") }
        let policy = fields["policy"].flatMap { reader.choice($0.value, "concurrency policy", as: Concurrency.Policy.self) } ?? .queue
        return Concurrency(key: key, policy: policy)
    }

    mutating func readDefaults(_ node: YAMLNode) -> StepDefaults {
        guard let fields = reader.mapping(node, in: "defaults", allowed: ["retry", "timeout"]) else { return StepDefaults() }
        return StepDefaults(
            retry: fields["retry"].flatMap { readRetry($0.value, context: "defaults") },
            timeout: fields["timeout"].flatMap { reader.duration($0.value, "defaults timeout") }
        )
    }

    mutating func readParameters(_ node: YAMLNode) -> [ParameterSpec] {
        guard case let .mapping(entries, _) = node else {
            reader.report(node.location, "params must be a mapping of parameter names, found \(node.kindDescription)")
            return []
        }
        return entries.compactMap { entry -> ParameterSpec? in
            let context = "parameter '\(entry.key)'"
            guard case .mapping = entry.value else {
                // `name: default` shorthand: the type follows the default.
                let value = NodeReader.json(entry.value)
                let type: ParameterType = switch value {
                case .bool: .boolean
                case let .number(number): number == number.rounded() ? .integer : .number
                case .array: .list
                case .object: .object
                default: .string
                }
                return ParameterSpec(name: entry.key, type: type, defaultValue: value == .null ? nil : value)
            }
            guard let fields = reader.mapping(entry.value, in: context, allowed: ["type", "default", "description", "allowed", "min", "max"]) else { return nil }
            let declaredType = fields["type"].map { reader.choice($0.value, "\(context): type", as: ParameterType.self) }
            let type = (declaredType ?? .string) ?? .any
            var parameter = ParameterSpec(
                name: entry.key, type: type, defaultValue: fields["default"].map { NodeReader.json($0.value) },
                description: fields["description"].flatMap { reader.string($0.value, "\(context): description") },
                allowed: fields["allowed"].map { field -> [JSONValue] in
                    guard case let .array(values) = NodeReader.json(field.value) else {
                        reader.report(field.value.location, "\(context): allowed must be a list")
                        return []
                    }
                    return values
                },
                minimum: fields["min"].flatMap { reader.number($0.value, "\(context): min") },
                maximum: fields["max"].flatMap { reader.number($0.value, "\(context): max") }
            )
            if let value = parameter.defaultValue, let field = fields["default"] {
                if let problem = ParameterCheck.problem(with: value, type: type, allowed: parameter.allowed, minimum: parameter.minimum, maximum: parameter.maximum) {
                    reader.report(field.value.location, "\(context): default \(problem)")
                    parameter.defaultValue = nil
                }
            }
            return parameter
        }
    }

    mutating func readData(_ node: YAMLNode) -> MonitoredData? {
        let keys = ["table", "timestamp", "prediction", "label", "score", "request_id", "problem_type", "features", "granularity", "baseline", "slices", "metrics", "label_grace", "calibration", "payload", "retention"]
        guard let fields = reader.mapping(node, in: "data", allowed: keys) else { return nil }
        func text(_ key: String, default value: String) -> String {
            fields[key].flatMap { reader.string($0.value, "data \(key)") } ?? value
        }
        var features: [ColumnSchema] = []
        if let field = fields["features"] {
            if case let .mapping(entries, _) = field.value {
                features = entries.compactMap { readFeature($0) }
            } else {
                reader.report(field.value.location, "data features must be a mapping of column names to types")
            }
        }
        var data = MonitoredData(
            table: fields["table"].flatMap { reader.string($0.value, "data table") },
            timestamp: text("timestamp", default: "ts"), prediction: text("prediction", default: "prediction"),
            label: fields["label"].flatMap { reader.string($0.value, "data label") },
            score: fields["score"].flatMap { reader.string($0.value, "data score") },
            requestID: text("request_id", default: "request_id"),
            problemType: fields["problem_type"].flatMap { reader.choice($0.value, "data problem_type", as: MonitoredData.ProblemType.self) } ?? .classification,
            features: features,
            granularity: fields["granularity"].flatMap { reader.duration($0.value, "data granularity") } ?? WorkflowDuration(seconds: 3_600),
            baseline: fields["baseline"].flatMap { readBaseline($0.value) } ?? .previous,
            slices: fields["slices"].map { reader.strings($0.value, "data slices").map(\.0) } ?? [],
            metrics: fields["metrics"].map { readBusinessMetrics($0.value) } ?? []
        )
        data.labelGrace = fields["label_grace"].flatMap { reader.duration($0.value, "data label_grace") }
        data.calibration = fields["calibration"].flatMap { reader.choice($0.value, "data calibration", as: ScoreCalibration.Method.self) }
        data.payload = fields["payload"].flatMap { readPayload($0.value, features: features.map(\.name)) }
        data.retention = fields["retention"].flatMap { reader.duration($0.value, "data retention") }
        if let retention = data.retention, retention.seconds < 86_400, let field = fields["retention"] {
            reader.report(field.value.location, "data retention must be at least 1d (the log is kept in daily partitions), found \(retention)")
        }
        return data
    }

    /// `payload: { inputs: [...], prediction: NAME, score: NAME, score_index: N }`.
    private mutating func readPayload(_ node: YAMLNode, features: [String]) -> PayloadMapping? {
        guard let fields = reader.mapping(node, in: "data payload", allowed: ["inputs", "prediction", "score", "score_index"]) else { return nil }
        var mapping = PayloadMapping(
            prediction: fields["prediction"].flatMap { reader.string($0.value, "data payload prediction") },
            score: fields["score"].flatMap { reader.string($0.value, "data payload score") },
            scoreIndex: fields["score_index"].flatMap { reader.integer($0.value, "data payload score_index", minimum: 0) }
        )
        if let field = fields["inputs"] {
            let inputs = reader.strings(field.value, "data payload inputs")
            for (name, location) in inputs where !features.isEmpty && !features.contains(name) {
                reader.report(location, "data payload inputs: '\(name)' is not a declared feature\(Suggestion.hint(for: name, in: features))")
            }
            mapping.inputs = inputs.map(\.0)
        }
        return mapping
    }

    /// `metrics: { name: "SQL aggregate", … }`: one expression each, no statement separators.
    private mutating func readBusinessMetrics(_ node: YAMLNode) -> [MonitoredData.BusinessMetric] {
        guard case let .mapping(entries, _) = node else {
            reader.report(node.location, "data metrics must be a mapping of metric names to SQL aggregates")
            return []
        }
        return entries.compactMap { entry in
            guard entry.key.range(of: "^[A-Za-z_][A-Za-z0-9_]*$", options: .regularExpression) != nil else {
                reader.report(entry.keyLocation, "metric name '\(entry.key)' must be letters, digits and _")
                return nil
            }
            guard let aggregate = reader.string(entry.value, "metric '\(entry.key)'") else { return nil }
            guard !aggregate.trimmingCharacters(in: .whitespaces).isEmpty, !aggregate.contains(";") else {
                reader.report(entry.value.location, "metric '\(entry.key)' must be one SQL aggregate expression, such as avg(score)")
                return nil
            }
            return MonitoredData.BusinessMetric(name: entry.key, aggregate: aggregate)
        }
    }

    private mutating func readFeature(_ entry: YAMLNode.Entry) -> ColumnSchema? {
        let context = "feature '\(entry.key)'"
        if case .scalar = entry.value {
            guard let type = reader.choice(entry.value, "\(context): type", as: ColumnSchema.ValueType.self) else { return nil }
            if type == .embedding {
                reader.report(entry.value.location, "\(context): an embedding needs its dimension, such as { type: embedding, dimension: 384 }")
            }
            return ColumnSchema(name: entry.key, type: type)
        }
        guard let fields = reader.mapping(entry.value, in: context, allowed: ["type", "min", "max", "allowed", "required", "dimension"]) else { return nil }
        guard let field = fields["type"] else {
            reader.report(entry.keyLocation, "\(context) has no 'type' (\(ColumnSchema.ValueType.allCases.map(\.rawValue).joined(separator: ", ")))")
            return nil
        }
        guard let type = reader.choice(field.value, "\(context): type", as: ColumnSchema.ValueType.self) else { return nil }
        let schema = ColumnSchema(
            name: entry.key, type: type,
            minimum: fields["min"].flatMap { reader.number($0.value, "\(context): min") },
            maximum: fields["max"].flatMap { reader.number($0.value, "\(context): max") },
            allowed: fields["allowed"].map { reader.strings($0.value, "\(context): allowed").map(\.0) },
            required: fields["required"].flatMap { reader.boolean($0.value, "\(context): required") } ?? false,
            dimension: fields["dimension"].flatMap { reader.integer($0.value, "\(context): dimension", minimum: 1) }
        )
        if type == .embedding {
            if schema.dimension == nil, fields["dimension"] == nil {
                reader.report(field.value.location, "\(context): an embedding needs its dimension, such as { type: embedding, dimension: 384 }")
            }
            if let dimension = schema.dimension, dimension > ColumnSchema.maximumDimension, let node = fields["dimension"] {
                reader.report(node.value.location, "\(context): dimension must be at most \(ColumnSchema.maximumDimension), found \(dimension)")
            }
        } else if let node = fields["dimension"] {
            reader.report(node.keyLocation, "\(context): only an embedding has a dimension")
        }
        if let minimum = schema.minimum, let maximum = schema.maximum, minimum > maximum {
            reader.report(fields["min"]!.value.location, "\(context): min (\(JSONValue.number(minimum))) is above max (\(JSONValue.number(maximum)))")
        }
        return schema
    }

    private mutating func readBaseline(_ node: YAMLNode) -> MonitoredData.Baseline? {
        let forms = "previous, champion_training, {fixed: {start: TIME, end: TIME}}, {rolling: 7d}, {seasonal: 7d}, {table: NAME}"
        if case let .scalar(scalar) = node {
            switch scalar.text {
            case "previous": return .previous
            case "champion_training": return .championTraining
            default:
                reader.report(node.location, "baseline '\(scalar.text)' is not one of: \(forms)")
                return nil
            }
        }
        guard let fields = reader.mapping(node, in: "data baseline", allowed: ["table", "start", "end", "seasonal", "rolling", "fixed", "window"]) else { return nil }
        guard fields.count == 1 || (fields.count == 2 && fields["start"] != nil && fields["end"] != nil) else {
            reader.report(node.location, "baseline names one reference: \(forms)")
            return nil
        }
        if let table = fields["table"].flatMap({ reader.string($0.value, "baseline table") }) { return .table(table) }
        if let period = fields["seasonal"].flatMap({ reader.duration($0.value, "baseline seasonal") }) { return .seasonal(period: period) }
        if let period = fields["rolling"].flatMap({ reader.duration($0.value, "baseline rolling") }) { return .rolling(period: period) }
        if let fixed = fields["fixed"] {
            guard let range = reader.mapping(fixed.value, in: "baseline fixed", allowed: ["start", "end"]) else { return nil }
            return fixedRange(range, at: fixed.value)
        }
        if fields["start"] != nil || fields["end"] != nil { return fixedRange(fields, at: node) }
        if let window = fields["window"], reader.string(window.value, "baseline window") == "previous" { return .previous }
        reader.report(node.location, "baseline is one of: \(forms)")
        return nil
    }

    /// A fixed baseline's `start` and `end`, both required.
    private mutating func fixedRange(_ fields: [String: YAMLNode.Entry], at node: YAMLNode) -> MonitoredData.Baseline? {
        guard let start = fields["start"], let end = fields["end"] else {
            reader.report(node.location, "a fixed baseline needs both start and end, such as {start: 2026-11-01T00:00:00Z, end: 2026-11-08T00:00:00Z}")
            return nil
        }
        guard let from = reader.string(start.value, "baseline start"), let to = reader.string(end.value, "baseline end") else { return nil }
        guard let first = Timestamp.parse(from), let last = Timestamp.parse(to) else {
            let bad = Timestamp.parse(from) == nil ? start.value : end.value
            reader.report(bad.location, "baseline start and end must be ISO 8601 times, such as 2026-11-01T00:00:00Z")
            return nil
        }
        guard first < last else {
            reader.report(end.value.location, "baseline end (\(to)) must come after its start (\(from))")
            return nil
        }
        return .fixed(start: from, end: to)
    }
}

/// Checks a value against a declared type, allowed set and range.
enum ParameterCheck {
    /// What is wrong with `value`, as the end of a sentence, or `nil`.
    static func problem(with value: JSONValue, type: ParameterType, allowed: [JSONValue]?, minimum: Double?, maximum: Double?) -> String? {
        guard type.accepts(value) else { return "must be \(article(type)), found \(value.typeName) \(shown(value))" }
        if let allowed, !allowed.isEmpty, !allowed.contains(value) {
            let names = allowed.map(\.description)
            return "must be one of \(names.joined(separator: ", ")), found \(shown(value))\(Suggestion.hint(for: value.description, in: names))"
        }
        if let number = value.numberValue {
            if let minimum, number < minimum { return "must be at least \(JSONValue.number(minimum)), found \(value)" }
            if let maximum, number > maximum { return "must be at most \(JSONValue.number(maximum)), found \(value)" }
        }
        return nil
    }

    static func article(_ type: ParameterType) -> String {
        switch type {
        case .integer: "an integer"
        case .any: "any value"
        case .list: "a list"
        case .object: "a mapping"
        case .duration: "a duration such as 30s, 5m or 2h"
        default: "a \(type.rawValue)"
        }
    }

    private static func shown(_ value: JSONValue) -> String {
        if case .string = value { return "'\(value)'" }
        return value.description
    }
}
