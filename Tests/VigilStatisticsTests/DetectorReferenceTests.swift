import Foundation
import Testing
import VigilStatistics
import VigilTesting

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

@Suite("Online concept-drift detectors against river", .computeBound)
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

    /// The detections of `detector` on `stream` when its state is written out and read back every
    /// `every` values, as a worker restarting between monitoring passes would.
    static func resumed<Detector: ConceptDriftDetector & Codable>(_ detector: Detector, _ stream: [Double], every: Int) throws -> [Int] {
        var found: [Int] = []
        var current = detector
        for start in stride(from: 0, to: stream.count, by: every) {
            current = try DetectorSnapshot.decode(Detector.self, from: try DetectorSnapshot.encode(current))
            for (offset, value) in stream[start..<min(start + every, stream.count)].enumerated() where current.update(value) {
                found.append(start + offset)
            }
        }
        return found
    }

    @Test("a detector written out and read back between chunks of the stream detects at the same positions as one that never stopped", arguments: [1, 7, 100])
    func resumable(every: Int) throws {
        var detections = 0
        for (stream, fixture) in Self.runs {
            let found: [Int]
            switch fixture.name {
            case "page_hinkley": found = try Self.resumed(PageHinkley(), stream, every: every)
            case "adwin": found = try Self.resumed(AdaptiveWindowing(), stream, every: every)
            default: found = try Self.resumed(DriftDetectionMethod(), stream, every: every)
            }
            var fresh: [Int]
            switch fixture.name {
            case "page_hinkley": var detector = PageHinkley(); fresh = detector.detections(in: stream)
            case "adwin": var detector = AdaptiveWindowing(); fresh = detector.detections(in: stream)
            default: var detector = DriftDetectionMethod(); fresh = detector.detections(in: stream)
            }
            #expect(found == fresh, "\(fixture.name) every \(every)")
            detections += fresh.count
        }
        #expect(detections > 10, "the streams hold changes to detect: \(detections)")
    }
}
