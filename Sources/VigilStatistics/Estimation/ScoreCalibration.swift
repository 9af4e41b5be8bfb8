import Foundation

/// How a binary classifier's scores become calibrated probabilities: isotonic regression (the
/// default, as NannyML's CBPE) or Platt scaling.
public enum ScoreCalibration: Sendable, Equatable, Codable {
    case isotonic(IsotonicCalibration)
    case platt(PlattCalibration)

    /// The method, as a workflow names it.
    public enum Method: String, Sendable, Hashable, Codable, CaseIterable {
        case isotonic, platt
    }

    /// Fits `method` on labelled scores.
    ///
    /// - Throws: ``StatisticsError`` as the method's own fitting does.
    public init(_ method: Method, scores: [Double], labels: [Int]) throws(StatisticsError) {
        switch method {
        case .isotonic: self = .isotonic(try IsotonicCalibration(scores: scores, labels: labels))
        case .platt: self = .platt(try PlattCalibration(scores: scores, labels: labels))
        }
    }

    public var method: Method {
        switch self {
        case .isotonic: .isotonic
        case .platt: .platt
        }
    }

    /// The calibrated probability of `score`.
    public func probability(_ score: Double) -> Double {
        switch self {
        case let .isotonic(calibration): calibration.probability(score)
        case let .platt(calibration): calibration.probability(score)
        }
    }

    private enum CodingKeys: String, CodingKey { case platt }

    /// An isotonic calibration is stored as it always was (estimators saved before Platt
    /// scaling existed still read); a Platt one as `{"platt": {"a": …, "b": …}}`.
    public init(from decoder: any Decoder) throws {
        if let container = try? decoder.container(keyedBy: CodingKeys.self), let platt = try container.decodeIfPresent(PlattCalibration.self, forKey: .platt) {
            self = .platt(platt)
        } else {
            self = .isotonic(try IsotonicCalibration(from: decoder))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case let .isotonic(calibration):
            try calibration.encode(to: encoder)
        case let .platt(calibration):
            var container = encoder.container(keyedBy: CodingKeys.self)
            try container.encode(calibration, forKey: .platt)
        }
    }
}
