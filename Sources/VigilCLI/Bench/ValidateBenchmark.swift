import ArgumentParser
import Foundation
import VigilWorkflow

/// `vigil bench validate`: validation time of generated chains of 1,000 to 10,000 steps, each
/// step needing the one before and reading its outputs, to show the checks grow linearly.
struct ValidateBenchmark: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Validate generated chains of 1,000, 4,000 and 10,000 steps; seconds for each and per step."
    )

    @Option(help: "Repetitions; the median is reported.")
    var repetitions = 3

    /// A workflow of `steps` steps in a chain: each sleeps and needs the previous one; every tenth
    /// also runs only when the previous one succeeded (an expression that reads it).
    static func chain(steps: Int) -> String {
        var text = "name: chain\nsteps:\n"
        for index in 0..<steps {
            var step = "uses: sleep, with: { for: 1s }"
            if index > 0 { step += ", needs: s\(index - 1)" }
            if index > 0, index % 10 == 0 { step += ", if: \"${{ steps.s\(index - 1).state == 'succeeded' }}\"" }
            text += "  s\(index): { \(step) }\n"
        }
        return text
    }

    func run() throws {
        var figures: [String: Any] = ["benchmark": "validate"]
        for steps in [1_000, 4_000, 10_000] {
            let bytes = Array(Self.chain(steps: steps).utf8)
            let seconds = try Stopwatch.median(repetitions: repetitions) {
                _ = try WorkflowLoader.parse(bytes, file: "chain.yaml")
            }
            figures["steps_\(steps)_s"] = seconds
            figures["steps_\(steps)_us_per_step"] = seconds / Double(steps) * 1e6
        }
        try printBenchmarkLine(figures)
    }
}
