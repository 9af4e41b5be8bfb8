import Testing
import VigilStatistics

/// Streams and river's detection indices (`Fixtures/make_detector_fixtures.py`).
struct DetectorFixtures: Decodable {
    struct Detector: Decodable {
        struct Parameters: Decodable {
            let min_instances: Int?, delta: Double?, threshold: Double?, alpha: Double?, mode: String?
            let clock: Int?, grace_period: Int?, warm_start: Int?, drift_threshold: Double?
        }
        let name: String
        let params: Parameters
        let detections: [Int]
    }
    struct Case: Decodable {
        let kind: String
        let stream: [Double]
        let detectors: [Detector]
    }
    let cases: [Case]

    static let shared: DetectorFixtures = loadFixture("detector_cases.json")
}

@Suite("Online concept-drift detectors against river")
struct DetectorReferenceTests {
    static let runs = DetectorFixtures.shared.cases.flatMap { c in c.detectors.map { (c.stream, $0) } }

    @Test("detections match river's on the same stream", arguments: runs.indices)
    func detections(run: Int) {
        let (stream, fixture) = Self.runs[run]
        let p = fixture.params
        let found: [Int]
        switch fixture.name {
        case "page_hinkley":
            var parameters = PageHinkley.Parameters()
            if let value = p.min_instances { parameters.minimumInstances = value }
            if let value = p.delta { parameters.delta = value }
            if let value = p.threshold { parameters.threshold = value }
            if let value = p.alpha { parameters.alpha = value }
            if let value = p.mode { parameters.direction = PageHinkley.Direction(rawValue: value)! }
            var detector = PageHinkley(parameters)
            found = detector.detections(in: stream)
        case "adwin":
            var parameters = AdaptiveWindowing.Parameters()
            if let value = p.delta { parameters.delta = value }
            if let value = p.clock { parameters.clock = value }
            if let value = p.grace_period { parameters.gracePeriod = value }
            var detector = AdaptiveWindowing(parameters)
            found = detector.detections(in: stream)
        default:
            var parameters = DriftDetectionMethod.Parameters()
            if let value = p.warm_start { parameters.warmStart = value }
            if let value = p.drift_threshold { parameters.driftThreshold = value }
            var detector = DriftDetectionMethod(parameters)
            found = detector.detections(in: stream)
        }
        #expect(found == fixture.detections, "\(fixture.name) \(p)")
    }
}
