import ArgumentParser
import Foundation
import VigilStatistics

/// `vigil bench embedding-calibration`: how often each embedding drift test flags at `alpha` over
/// many pairs of seeded samples: under no drift (the rate should stay near `alpha`), under a
/// mean shift in a tenth of the dimensions, and under a change of scale with equal means.
struct EmbeddingCalibrationBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "embedding-calibration",
        abstract: "Flag rates of the embedding drift tests over seeded sample pairs: no drift, a mean shift, a covariance change."
    )

    enum Scenario: String, ExpressibleByArgument, CaseIterable {
        /// Both sides standard normal.
        case null
        /// The current side's first tenth of the dimensions shifted by `shift` standard deviations.
        case meanShift = "mean-shift"
        /// The current side's first tenth of the dimensions scaled by `scale`, means equal.
        case covariance
    }

    @Option(help: "Sample pairs per scenario.")
    var pairs = 200

    @Option(help: "Rows on each side.")
    var rows = 1_000

    @Option(help: "Dimensions of each embedding.")
    var dimension = 384

    @Option(help: "Permutations of mmd and mean_distance.")
    var permutations = 500

    @Option(help: "Level at which a p-value flags.")
    var alpha = 0.05

    @Option(help: "Shift of the mean-shift scenario, in standard deviations.")
    var shift = 0.1

    @Option(help: "Standard deviation of the covariance scenario's changed dimensions.")
    var scale = 1.25

    @Option(parsing: .upToNextOption, help: "Scenarios: null, mean-shift, covariance (default all).")
    var scenarios: [Scenario] = Scenario.allCases

    @Option(parsing: .upToNextOption, help: "Methods (default: mmd domain_classifier mean_distance pca_ks).")
    var methods: [String] = EmbeddingDrift.methods.map(\.rawValue)

    func validate() throws {
        guard pairs >= 1, rows >= 10, dimension >= 1, permutations >= 1, alpha > 0, alpha < 1 else {
            throw ValidationError("pairs ≥ 1, rows ≥ 10, dimension ≥ 1, permutations ≥ 1 and 0 < alpha < 1")
        }
        if let unknown = methods.first(where: { DriftMethod(rawValue: $0)?.supportsEmbedding != true }) {
            throw ValidationError("unknown embedding method '\(unknown)'; use \(EmbeddingDrift.methods.map(\.rawValue).joined(separator: ", "))")
        }
    }

    func run() throws {
        var figures: [String: Any] = [
            "benchmark": "embedding-calibration", "pairs": pairs, "rows": rows, "dimension": dimension, "alpha": alpha,
            "permutations": permutations, "shift": shift, "scale": scale,
        ]
        for scenario in scenarios {
            var flagged: [String: Int] = [:], seconds: [String: Double] = [:]
            for pair in 0..<pairs {
                let seed = UInt64(pair) &* 7_919 &+ UInt64(scenario.rawValue.count)
                let (reference, current) = try samples(scenario, seed: seed)
                for name in methods {
                    var options = EmbeddingDrift.Options()
                    options.method = DriftMethod(rawValue: name) ?? .mmd
                    options.maximumRows = rows
                    options.permutations = permutations
                    options.seed = seed
                    options.threshold = alpha
                    let (elapsed, result) = try Stopwatch.time { try EmbeddingDrift.compare(reference: reference, current: current, options: options) }
                    if result.drifted { flagged[name, default: 0] += 1 }
                    seconds[name, default: 0] += elapsed
                }
            }
            for name in methods {
                figures["\(scenario.rawValue)_\(name)_rate"] = Double(flagged[name] ?? 0) / Double(pairs)
                figures["\(name)_seconds_per_pair"] = (seconds[name] ?? 0) / Double(pairs)
            }
        }
        try printBenchmarkLine(figures)
    }

    /// A reference and a current sample for `scenario`, drawn by `seed`.
    private func samples(_ scenario: Scenario, seed: UInt64) throws -> (EmbeddingSample, EmbeddingSample) {
        // The tests draw their permutations, splits and subsamples from `seed`: the data come from
        // another stream, or the rows a test holds out would depend on the values it is given.
        var random = SeededGenerator(seed: seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407)
        let changed = max(1, dimension / 10)
        let reference = try EmbeddingSample(rows: (0..<rows).map { _ in (0..<dimension).map { _ in random.normal() } })
        let current = try EmbeddingSample(rows: (0..<rows).map { _ in
            (0..<dimension).map { index in
                switch scenario {
                case .null: random.normal()
                case .meanShift: random.normal(mean: index < changed ? shift : 0)
                case .covariance: random.normal(deviation: index < changed ? scale : 1)
                }
            }
        })
        return (reference, current)
    }
}
