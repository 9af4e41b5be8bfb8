import Foundation
import VigilStatistics
import VigilStore
import VigilWorkflow

/// An `evaluate` rule that runs an online change detector (ADWIN, DDM or Page–Hinkley, as the
/// statistics target defines them) over a stream, resuming where the last pass stopped:
///
/// ```yaml
/// soft:
///   detector: { method: ddm }                                  # the labelled errors, as labels arrive
/// hard:
///   detector: { method: adwin, stream: order_amount, delta: 0.002 }
/// ```
///
/// The `errors` stream is each labelled prediction's error (0 or 1 for a classifier, the absolute
/// error for a regression), in the order the labels arrived; a feature's stream is its numeric
/// values in the order the rows arrived. The state lives in `detector_states` per model, served
/// version and rule; each change found is a row of `detector_detections`. The rule holds in the
/// pass that finds a change: a detection already is a persistent change, so `persistence` does
/// not apply to it.
struct OnlineDetectorRule: Decodable, Sendable, Equatable {
    enum Method: String, Decodable, Sendable {
        case adwin, ddm
        case pageHinkley = "page_hinkley"
    }

    static let defaultHorizon = WorkflowDuration(seconds: 30 * 86_400)

    var method: Method
    var stream: String?
    var horizon: WorkflowDuration?
    var delta: Double?
    var clock: Int?
    var maxBuckets: Int?
    var minWindowLength: Int?
    var gracePeriod: Int?
    var warmStart: Int?
    var warningThreshold: Double?
    var driftThreshold: Double?
    var minInstances: Int?
    var threshold: Double?
    var alpha: Double?
    var direction: PageHinkley.Direction?

    enum CodingKeys: String, CodingKey {
        case method, stream, horizon, delta, clock, threshold, alpha, direction
        case maxBuckets = "max_buckets", minWindowLength = "min_window_length", gracePeriod = "grace_period"
        case warmStart = "warm_start", warningThreshold = "warning_threshold", driftThreshold = "drift_threshold"
        case minInstances = "min_instances"
    }

    var streamName: String { stream ?? "errors" }

    var detectorStream: DetectorStream { streamName == "errors" ? .errors : .feature(streamName) }

    /// The detector this rule describes, fresh.
    func makeDetector() -> OnlineDetector {
        switch method {
        case .adwin:
            var parameters = AdaptiveWindowing.Parameters()
            if let delta { parameters.delta = delta }
            if let clock { parameters.clock = clock }
            if let maxBuckets { parameters.maximumBuckets = maxBuckets }
            if let minWindowLength { parameters.minimumWindowLength = minWindowLength }
            if let gracePeriod { parameters.gracePeriod = gracePeriod }
            return .adwin(AdaptiveWindowing(parameters))
        case .ddm:
            var parameters = DriftDetectionMethod.Parameters()
            if let warmStart { parameters.warmStart = warmStart }
            if let warningThreshold { parameters.warningThreshold = warningThreshold }
            if let driftThreshold { parameters.driftThreshold = driftThreshold }
            return .ddm(DriftDetectionMethod(parameters))
        case .pageHinkley:
            var parameters = PageHinkley.Parameters()
            if let delta { parameters.delta = delta }
            if let minInstances { parameters.minimumInstances = minInstances }
            if let threshold { parameters.threshold = threshold }
            if let alpha { parameters.alpha = alpha }
            if let direction { parameters.direction = direction }
            return .pageHinkley(PageHinkley(parameters))
        }
    }

    /// Why the rule cannot run on `data`, if it cannot.
    func problem(for data: MonitoredData) -> String? {
        if streamName == "errors" {
            if data.table != nil, data.label == nil { return "the detector's errors stream needs the workflow's data to declare a label column" }
            if method == .ddm, data.problemType == .regression {
                return "ddm watches an error rate (0 or 1 per prediction); for a regression's absolute errors use adwin or page_hinkley"
            }
            return nil
        }
        guard let feature = data.features.first(where: { $0.name == streamName }) else {
            return "the detector's stream '\(streamName)' is neither `errors` nor a declared feature"
        }
        return feature.isNumeric ? nil : "the detector's stream '\(streamName)' is not a numeric feature"
    }

    /// The stream value of a record, or `nil` when it has none (a missing or non-numeric value).
    static func value(of record: StreamRecord, problem: MonitoredData.ProblemType) -> Double? {
        if let text = record.value { return Double(text).flatMap { $0.isFinite ? $0 : nil } }
        guard let prediction = record.prediction, let label = record.label else { return nil }
        switch problem {
        case .classification:
            return prediction == label ? 0 : 1
        case .regression:
            guard let predicted = Double(prediction), let actual = Double(label), predicted.isFinite, actual.isFinite else { return nil }
            return abs(predicted - actual)
        }
    }

    /// Feeds `records` to the saved detector (a fresh one when none was saved, or it was saved
    /// under other parameters) and returns the state to save and what it detected.
    func feed(_ saved: SavedDetector?, _ records: [StreamRecord], problem: MonitoredData.ProblemType, now: Date) throws -> (SavedDetector, [Detection]) {
        let fresh = makeDetector()
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let parameters = String(decoding: try encoder.encode(fresh.parametersDescription), as: UTF8.self)
        // The database hands JSON back in its own layout: compare the parameters, not the text.
        let unchanged = saved.map { (try? JSONDecoder().decode([String: String].self, from: Data($0.parameters.utf8))) == fresh.parametersDescription } ?? false
        var detector = try saved.flatMap { unchanged ? try OnlineDetector.restore(method, from: $0.state) : nil } ?? fresh
        var position = saved?.position ?? 0
        var detections: [Detection] = []
        for record in records {
            guard let value = Self.value(of: record, problem: problem) else { continue }
            if detector.update(value) {
                detections.append(Detection(position: position, requestID: record.requestID, ts: record.ts, arrivedAt: record.arrival, value: value, detectedAt: now))
            }
            position += 1
        }
        return (SavedDetector(parameters: parameters, state: try detector.snapshot(), position: position), detections)
    }
}

/// One of the statistics target's online detectors, with its state as JSON.
enum OnlineDetector: Sendable {
    case adwin(AdaptiveWindowing)
    case ddm(DriftDetectionMethod)
    case pageHinkley(PageHinkley)

    mutating func update(_ value: Double) -> Bool {
        switch self {
        case .adwin(var detector):
            defer { self = .adwin(detector) }
            return detector.update(value)
        case .ddm(var detector):
            defer { self = .ddm(detector) }
            return detector.update(value)
        case .pageHinkley(var detector):
            defer { self = .pageHinkley(detector) }
            return detector.update(value)
        }
    }

    func snapshot() throws -> String {
        let data = switch self {
        case .adwin(let detector): try DetectorSnapshot.encode(detector)
        case .ddm(let detector): try DetectorSnapshot.encode(detector)
        case .pageHinkley(let detector): try DetectorSnapshot.encode(detector)
        }
        return String(decoding: data, as: UTF8.self)
    }

    static func restore(_ method: OnlineDetectorRule.Method, from json: String) throws -> OnlineDetector {
        let data = Data(json.utf8)
        return switch method {
        case .adwin: .adwin(try DetectorSnapshot.decode(AdaptiveWindowing.self, from: data))
        case .ddm: .ddm(try DetectorSnapshot.decode(DriftDetectionMethod.self, from: data))
        case .pageHinkley: .pageHinkley(try DetectorSnapshot.decode(PageHinkley.self, from: data))
        }
    }

    /// The detector's parameters, whatever its kind, to compare saved states by.
    var parametersDescription: [String: String] {
        switch self {
        case .adwin(let detector):
            let p = detector.parameters
            return ["method": "adwin", "delta": "\(p.delta)", "clock": "\(p.clock)", "max_buckets": "\(p.maximumBuckets)",
                    "min_window_length": "\(p.minimumWindowLength)", "grace_period": "\(p.gracePeriod)"]
        case .ddm(let detector):
            let p = detector.parameters
            return ["method": "ddm", "warm_start": "\(p.warmStart)", "warning_threshold": "\(p.warningThreshold)", "drift_threshold": "\(p.driftThreshold)"]
        case .pageHinkley(let detector):
            let p = detector.parameters
            return ["method": "page_hinkley", "min_instances": "\(p.minimumInstances)", "delta": "\(p.delta)", "threshold": "\(p.threshold)",
                    "alpha": "\(p.alpha)", "direction": p.direction.rawValue]
        }
    }
}
