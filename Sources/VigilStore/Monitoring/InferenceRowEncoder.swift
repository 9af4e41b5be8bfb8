import Foundation
import VigilStatistics
import VigilWorkflow

/// Checks inference records and encodes the good ones as COPY rows, chunk by chunk.
struct InferenceRowEncoder {
    /// A chunk of encoded rows and the days their timestamps fall on.
    struct Chunk {
        var rows: [UInt8]
        /// Each row's key and where it starts in `rows`, in file order.
        var keys: [RowKey]
        /// The rows' claims for `inference_requests` as COPY rows (``claimColumns``), in key order.
        var claims: [UInt8]
        var days: Set<Int>
        var isLast: Bool
        var bytesRead: Int
        /// Records read and rows quarantined so far, the file's whole read up to this chunk.
        var rowsRead = 0
        var quarantined = 0
    }

    /// What makes a row unique, and where its encoding starts.
    struct RowKey {
        let start: Int
        let requestID: String
        let role: String
        let seconds: Double
        /// The request's key in `inference_requests` (with the role).
        let key: RequestKey
        /// Where the row's role and request id fields lie in the chunk's rows, already encoded.
        let claimFields: Range<Int>
        /// Where the timestamp's UTC day lies in the chunk's rows: its field's first ten bytes, `YYYY-MM-DD`.
        let dayField: Range<Int>
    }

    /// The columns of ``Chunk/claims``.
    static let claimColumns = ["key", "model", "role", "request_id", "day"]

    /// A request within one chunk: its key, role and day, as `inference_requests` claims it.
    private struct ChunkRequest: Hashable {
        let key: RequestKey
        let role: String
        let day: Int
    }

    /// A row that broke the schema.
    struct Rejected {
        let line: Int
        let timestamp: Double?
        let column: String?
        let reason: String
        let raw: String
    }

    /// A feature column of the file and what its declared schema checks, held without references
    /// (no strings or arrays) so that the per-row loop over the features copies nothing that
    /// needs retaining.
    private struct FeatureSlot {
        let column: Int
        /// The declared type; `nil` for a column the workflow does not declare.
        let type: ColumnSchema.ValueType?
        let minimum: Double?
        let maximum: Double?
        let required: Bool
        /// Where `"name":` (JSON- and COPY-escaped) lies in ``InferenceRowEncoder/featureKeys``.
        let key: Range<Int>
    }

    private enum Role {
        case model, requestID, timestamp, modelVersion, role, prediction, score, probabilities, latency, error, label
        case feature(ColumnSchema?)
    }

    static let trueBytes = Array("true".utf8), falseBytes = Array("false".utf8)

    let options: InferenceIngest.Options
    let batchID: Int
    private(set) var rowsRead = 0
    private(set) var quarantined: [Rejected] = []
    private(set) var labels = LabelBatch()
    /// Feature columns in file order.
    private(set) var featureColumns: [String] = []
    private var roles: [Role] = []
    private var names: [String] = []
    /// The declared schema of each column that is a declared feature, by column index.
    private var columnSchemas: [ColumnSchema?] = []
    /// A category feature's allowed values as UTF-8, by column index.
    private var allowedBytes: [[[UInt8]]?] = []
    /// `"name":` of each feature column, one after another (``FeatureSlot/key``).
    private var featureKeys: [UInt8] = []
    private var known = (requestID: -1, timestamp: -1, modelVersion: -1, role: -1, prediction: -1, score: -1, probabilities: -1, latency: -1, error: -1, label: -1, model: -1)
    private var missingDeclared: [ColumnSchema] = []
    /// The declared embeddings, in declaration order (the order of `inference_log.embeddings`),
    /// and each one's column in the file, when it has one.
    private let embeddings: [ColumnSchema]
    private var embeddingColumns: [String: Int] = [:]
    /// The feature columns that go into `features` (every one but the embeddings), in file order.
    private var featureSlots: [FeatureSlot] = []
    private var copy: CopyText
    private var rowKeys: [RowKey] = []
    /// The requests of this chunk's rows: one sent twice in one chunk is stored once, from its first row.
    private var chunkRequests: Set<ChunkRequest> = []
    private let requestKeys: RequestKeys
    private let fixedPrefix: [UInt8]

    init(options: InferenceIngest.Options, batchID: Int, columns: [String]) {
        self.options = options
        self.batchID = batchID
        copy = CopyText(capacity: options.chunkRows * 256)
        var prefix = CopyText(capacity: 64)
        prefix.text(options.model)
        prefix.separator()
        fixedPrefix = prefix.bytes
        requestKeys = RequestKeys(model: options.model)
        embeddings = options.features.filter { $0.type == .embedding }
        resolve(columns)
    }

    private mutating func resolve(_ columns: [String]) {
        let schemas = Dictionary(options.features.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        for index in roles.count..<columns.count {
            let name = columns[index]
            let role: Role
            switch name {
            case "model": role = .model; known.model = index
            case "request_id": role = .requestID; known.requestID = index
            case "ts", "timestamp": role = .timestamp; known.timestamp = index
            case "model_version": role = .modelVersion; known.modelVersion = index
            case "role": role = .role; known.role = index
            case "prediction": role = .prediction; known.prediction = index
            case "score": role = .score; known.score = index
            case "probabilities": role = .probabilities; known.probabilities = index
            case "latency_ms": role = .latency; known.latency = index
            case "error": role = .error; known.error = index
            case "label": role = .label; known.label = index
            default:
                role = .feature(schemas[name])
                featureColumns.append(name)
            }
            roles.append(role)
            names.append(name)
            let schema: ColumnSchema? = if case let .feature(declared) = role { declared } else { nil }
            columnSchemas.append(schema)
            allowedBytes.append(schema?.allowed.map { $0.map { Array($0.utf8) } })
            if schema?.type == .embedding {
                embeddingColumns[name] = index
            } else if case .feature = role {
                var key = CopyText(capacity: name.utf8.count + 4)
                key.jsonString(name)
                key.byte(UInt8(ascii: ":"))
                featureSlots.append(FeatureSlot(
                    column: index, type: schema?.type, minimum: schema?.minimum, maximum: schema?.maximum, required: schema?.required ?? false,
                    key: featureKeys.count..<featureKeys.count + key.bytes.count
                ))
                featureKeys.append(contentsOf: key.bytes)
            }
        }
        let present = Set(columns)
        missingDeclared = options.features.filter { !present.contains($0.name) }
    }

    /// Reads and encodes up to `options.chunkRows` records.
    mutating func encodeChunk(_ reader: DataRecordReader) throws(DataFileError) -> Chunk {
        copy.removeAll()
        rowKeys.removeAll(keepingCapacity: true)
        chunkRequests.removeAll(keepingCapacity: true)
        var days = Set<Int>()
        var lastDay = Int.min
        var count = 0
        while count < options.chunkRows {
            guard let record = try reader.next() else {
                return Chunk(rows: copy.bytes, keys: rowKeys, claims: claimRows(), days: days, isLast: true, bytesRead: reader.byteCount,
                             rowsRead: rowsRead, quarantined: quarantined.count)
            }
            if reader.columnNames.count != roles.count { resolve(reader.columnNames) }
            rowsRead += 1
            count += 1
            if let day = try encode(record, file: reader.file), day != lastDay {
                days.insert(day)
                lastDay = day
            }
        }
        return Chunk(rows: copy.bytes, keys: rowKeys, claims: claimRows(), days: days, isLast: false, bytesRead: reader.bytesConsumed,
                     rowsRead: rowsRead, quarantined: quarantined.count)
    }

    /// The chunk's claims as COPY rows for `inference_requests`, in key order: each leaf page of
    /// the primary key is then visited once per chunk, where random request ids (UUIDs, say) would
    /// otherwise land on a different page each.
    private func claimRows() -> [UInt8] {
        var claims = CopyText(capacity: rowKeys.count * 120)
        for (key, index) in rowKeys.enumerated().map({ ($1.key, $0) }).sorted(by: { $0.0 < $1.0 }) {
            claims.uuid(key)
            claims.separator()
            claims.verbatim(fixedPrefix)
            claims.verbatim(copy.bytes[rowKeys[index].claimFields])
            claims.separator()
            claims.verbatim(copy.bytes[rowKeys[index].dayField])
            claims.endRow()
        }
        return claims.bytes
    }

    /// Encodes one record, or quarantines it; returns the day of a loaded row.
    ///
    /// - Throws: ``DataFileError`` for a timestamp outside the years 1970–9999: such a value is a
    ///   broken export rather than one bad row, so the file loads nothing.
    private mutating func encode(_ record: DataRecord, file: String) throws(DataFileError) -> Int? {
        var timestamp: Double?
        func reject(_ column: String?, _ reason: String) -> Int? {
            quarantined.append(Rejected(line: record.line, timestamp: timestamp, column: column, reason: reason, raw: record.raw))
            return nil
        }
        func abandon(_ rowStart: Int, _ column: String) -> Int? {
            copy.truncate(to: rowStart)
            return reject(column, "\(column) is not valid UTF-8")
        }
        guard known.timestamp >= 0 else { return reject("ts", "the file has no ts column") }
        let seconds: Double
        switch record.withBytes(known.timestamp, Timestamp.read) ?? .invalid {
        case let .seconds(value): seconds = value
        case .invalid: return reject("ts", "ts is missing or not a timestamp")
        case .outOfRange:
            let value = (record.text(known.timestamp) ?? "").prefix(40)
            throw DataFileError(file: file, line: record.line, "\(names[known.timestamp]) '\(value)' is out of range: it must be \(Timestamp.rangeDescription)")
        }
        timestamp = seconds
        guard known.requestID >= 0, !record.isMissing(known.requestID) else {
            return reject("request_id", "request_id is missing")
        }
        if known.model >= 0, let model = record.text(known.model), model != options.model {
            return reject("model", "the row is for model '\(model)', not '\(options.model)'")
        }
        var role = options.role
        if known.role >= 0, !record.isMissing(known.role) {
            role = record.text(known.role) ?? ""
            guard InferenceIngest.roles.contains(role) else {
                return reject("role", "role '\(role)' is not one of champion, challenger, shadow, canary")
            }
        }
        var score: Double?
        if known.score >= 0, !record.isMissing(known.score) {
            guard let value = record.number(known.score) else { return reject("score", "score is not a number") }
            score = value
        }
        var latency: Double?
        if known.latency >= 0, !record.isMissing(known.latency) {
            guard let value = record.number(known.latency), value >= 0 else { return reject("latency_ms", "latency_ms is not a non-negative number") }
            latency = value
        }
        var failed = false
        if known.error >= 0, !record.isMissing(known.error) {
            guard let value = record.text(known.error).flatMap(ColumnSchema.booleanValue) else { return reject("error", "error is not true or false") }
            failed = value
        }
        var probabilities: String?
        if known.probabilities >= 0, !record.isMissing(known.probabilities), let text = record.text(known.probabilities) {
            guard (try? JSONSerialization.jsonObject(with: Data(text.utf8))) is [String: Any] else {
                return reject("probabilities", "probabilities is not a JSON object")
            }
            probabilities = text
        }
        for schema in missingDeclared where schema.required {
            return reject(schema.name, "required feature '\(schema.name)' is missing")
        }
        let rowStart = copy.bytes.count
        copy.verbatim(fixedPrefix)
        if known.modelVersion >= 0, !record.isMissing(known.modelVersion) {
            guard appendText(record, known.modelVersion) else { return abandon(rowStart, "model_version") }
        } else {
            copy.text(options.modelVersion)
        }
        copy.separator()
        let claimStart = copy.bytes.count
        copy.text(role)
        copy.separator()
        guard appendText(record, known.requestID) else { return abandon(rowStart, "request_id") }
        let claimEnd = copy.bytes.count
        copy.separator()
        let dayField = copy.bytes.count..<copy.bytes.count + 10
        copy.timestamp(seconds)
        copy.separator()
        copy.byte(UInt8(ascii: "{"))
        var first = true
        for slot in featureSlots {
            if let problem = appendFeature(record, slot, first: first) {
                copy.truncate(to: rowStart)
                return reject(problem.column, problem.reason)
            }
            if copy.bytes.last != UInt8(ascii: "{") { first = false }
        }
        copy.byte(UInt8(ascii: "}"))
        copy.separator()
        if known.prediction >= 0, !record.isMissing(known.prediction) {
            guard appendText(record, known.prediction) else { return abandon(rowStart, "prediction") }
        } else {
            copy.null()
        }
        copy.separator()
        if let score { if let raw = record.rawNumber(known.score) { copy.verbatim(raw) } else { copy.number(score) } } else { copy.null() }
        copy.separator()
        if let probabilities { copy.text(probabilities) } else { copy.null() }
        copy.separator()
        if let latency { if let raw = record.rawNumber(known.latency) { copy.verbatim(raw) } else { copy.number(latency) } } else { copy.null() }
        copy.separator()
        copy.byte(failed ? UInt8(ascii: "t") : UInt8(ascii: "f"))
        copy.separator()
        copy.integer(Int64(batchID))
        copy.separator()
        if let problem = appendEmbeddings(record) {
            copy.truncate(to: rowStart)
            return reject(problem.column, problem.reason)
        }
        copy.endRow()
        // appendText checked it is UTF-8.
        let requestID = record.text(known.requestID) ?? ""
        if known.label >= 0, !record.isMissing(known.label), let label = record.text(known.label) {
            labels.append(requestID: requestID, label: label)
        }
        let key = requestKeys.key(requestID: requestID)
        let day = Timestamp.day(of: seconds)
        guard chunkRequests.insert(ChunkRequest(key: key, role: role, day: day)).inserted else {
            // Sent twice in this chunk: the first row stands, as it would had it been stored before.
            copy.truncate(to: rowStart)
            return nil
        }
        rowKeys.append(RowKey(start: rowStart, requestID: requestID, role: role, seconds: seconds, key: key, claimFields: claimStart..<claimEnd, dayField: dayField))
        return day
    }

    /// Appends the `embeddings` array: the declared embeddings' values one after another (NaN
    /// for an absent one), or NULL when the row has none; returns the problem when one breaks
    /// its schema (not an array of finite numbers, or another length than declared).
    private mutating func appendEmbeddings(_ record: DataRecord) -> (column: String, reason: String)? {
        var rows: [[Double]?] = []
        for schema in embeddings {
            let name = schema.name
            guard let index = embeddingColumns[name], !record.isMissing(index) else {
                if schema.required { return (name, "required feature '\(name)' is missing") }
                rows.append(nil)
                continue
            }
            guard let values = record.numbers(index) else {
                return (name, "feature '\(name)': '\((record.text(index) ?? "").prefix(40))' is not an array of numbers")
            }
            let dimension = schema.dimension ?? values.count
            guard values.count == dimension else {
                return (name, "feature '\(name)': \(values.count) values, but the workflow declares dimension \(dimension)")
            }
            if let position = values.firstIndex(where: { value in value.map { !$0.isFinite || !Float($0).isFinite } ?? true }) {
                return (name, "feature '\(name)': value \(position + 1) is not a finite number")
            }
            rows.append(values.map { $0! })
        }
        guard rows.contains(where: { $0 != nil }) else {
            copy.null()
            return nil
        }
        copy.byte(UInt8(ascii: "{"))
        for (position, schema) in embeddings.enumerated() {
            if position > 0 { copy.byte(UInt8(ascii: ",")) }
            let values = rows[position] ?? Array(repeating: .nan, count: schema.dimension ?? 0)
            for (offset, value) in values.enumerated() {
                if offset > 0 { copy.byte(UInt8(ascii: ",")) }
                if value.isNaN { copy.verbatim(Self.nanBytes) } else { copy.number(value) }
            }
        }
        copy.byte(UInt8(ascii: "}"))
        return nil
    }

    static let nanBytes = Array("NaN".utf8)

    /// Appends a text field, escaped; `false` when it is not valid UTF-8.
    private mutating func appendText(_ record: DataRecord, _ column: Int) -> Bool {
        if let raw = record.asciiBytes(column) {
            copy.text(raw)
            return true
        }
        guard let text = record.text(column) else { return false }
        copy.text(text)
        return true
    }

    /// Appends `"name":value` for a present feature; returns the problem when it breaks its schema.
    private mutating func appendFeature(_ record: DataRecord, _ slot: FeatureSlot, first: Bool) -> (column: String, reason: String)? {
        let index = slot.column
        if record.isMissing(index) {
            if slot.required { return (names[index], "required feature '\(names[index])' is missing") }
            return nil
        }
        func key() {
            if !first { copy.byte(UInt8(ascii: ",")) }
            copy.verbatim(featureKeys[slot.key])
        }
        func problem(_ reason: String) -> (column: String, reason: String) {
            (names[index], "feature '\(names[index])': \(reason)")
        }
        func quoted(_ value: String) -> String { "'\(value.prefix(40))'" }
        func allowedText() -> String { (columnSchemas[index]?.allowed ?? []).joined(separator: ", ") }
        guard let type = slot.type else {
            if let number = record.number(index) {
                key()
                if let raw = record.rawNumber(index) { copy.verbatim(raw) } else { copy.number(number) }
            } else {
                guard let text = record.text(index) else { return problem("the value is not valid UTF-8") }
                key()
                copy.jsonString(text)
            }
            return nil
        }
        switch type {
        case .number, .integer:
            guard let number = record.number(index) else { return problem("\(quoted(record.text(index) ?? "")) is not a number") }
            if type == .integer && number != number.rounded() { return problem("\(NumberText.format(number)) is not a whole number") }
            if let minimum = slot.minimum, number < minimum { return problem("\(NumberText.format(number)) is below the minimum \(NumberText.format(minimum))") }
            if let maximum = slot.maximum, number > maximum { return problem("\(NumberText.format(number)) is above the maximum \(NumberText.format(maximum))") }
            key()
            if let raw = record.rawNumber(index) { copy.verbatim(raw) } else { copy.number(number) }
        case .boolean:
            guard let value = record.text(index).flatMap(ColumnSchema.booleanValue) else {
                return problem("\(quoted(record.text(index) ?? "")) is not true or false")
            }
            key()
            copy.verbatim(value ? Self.trueBytes : Self.falseBytes)
        case .embedding:
            return nil // in the embeddings column, by appendEmbeddings
        case .category, .string:
            if let raw = record.asciiBytes(index) {
                if let allowed = allowedBytes[index], !allowed.contains(where: { $0.elementsEqual(raw) }) {
                    return problem("\(quoted(String(decoding: raw, as: UTF8.self))) is not one of \(allowedText())")
                }
                key()
                copy.jsonString(raw)
                return nil
            }
            guard let text = record.text(index) else { return problem("the value is not valid UTF-8") }
            if let allowed = columnSchemas[index]?.allowed, !allowed.contains(text) {
                return problem("\(quoted(text)) is not one of \(allowedText())")
            }
            key()
            copy.jsonString(text)
        }
        return nil
    }
}
