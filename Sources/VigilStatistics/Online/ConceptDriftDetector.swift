import Foundation

/// An online detector of change in a stream of errors or scores, fed one value at a time.
///
/// Detectors follow river's definitions and defaults (`river.drift`), so a stream gives the same
/// detection indices here as there. After a detection the detector starts afresh on the next value.
public protocol ConceptDriftDetector: Sendable {
    /// Adds one value and returns whether a change was detected at it.
    mutating func update(_ value: Double) -> Bool
}

extension ConceptDriftDetector {
    /// The 0-based indices of `stream` at which a change was detected.
    public mutating func detections<Stream: Sequence>(in stream: Stream) -> [Int] where Stream.Element == Double {
        var found: [Int] = []
        for (index, value) in stream.enumerated() where update(value) {
            found.append(index)
        }
        return found
    }
}

/// A detector's whole state as JSON, to persist between passes: a detector decoded from its
/// snapshot continues the stream exactly where the encoded one stopped. Infinite and NaN values
/// (a detector's running minimum before its first value) are written as strings.
public enum DetectorSnapshot {
    public static func encode<Detector: ConceptDriftDetector & Encodable>(_ detector: Detector) throws -> Data {
        let encoder = JSONEncoder()
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        encoder.outputFormatting = [.sortedKeys]
        return try encoder.encode(detector)
    }

    public static func decode<Detector: ConceptDriftDetector & Decodable>(_ type: Detector.Type, from data: Data) throws -> Detector {
        let decoder = JSONDecoder()
        decoder.nonConformingFloatDecodingStrategy = .convertFromString(positiveInfinity: "Infinity", negativeInfinity: "-Infinity", nan: "NaN")
        return try decoder.decode(type, from: data)
    }
}

/// A running mean updated one value at a time, as `river.stats.Mean`.
struct IncrementalMean: Sendable, Codable {
    private(set) var count = 0.0
    private(set) var value = 0.0

    mutating func add(_ x: Double) {
        count += 1
        value += (1 / count) * (x - value)
    }
}
