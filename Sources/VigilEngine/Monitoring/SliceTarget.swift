import Foundation
import VigilStatistics
import VigilStore
import VigilWorkflow

/// The slices an `evaluate` step judges instead of the whole window: one (`slice: region=eu`) or
/// every value of a slicing expression (`for_each_slice: region`), each from `data.slices`.
///
/// A slice with fewer than `minimumRows` rows in its latest window is not judged (it says
/// nothing either way). With `for_each_slice`, the rules are tested once per judged slice, so
/// their levels are corrected for it (Bonferroni: see ``corrected(_:slices:)`` and
/// ``RuleSet/correctedForSlices(_:)``).
struct SliceTarget: Sendable, Equatable {
    /// How the rules' levels are corrected for testing several slices.
    enum Correction: String, Sendable, CaseIterable {
        case bonferroni, none
    }

    static let defaultMinimumRows = 100

    let selector: SliceSelector
    let minimumRows: Int
    let correction: Correction

    /// Reads the step's slice parameters; `nil` when it judges the whole window.
    init?(slice: String?, forEachSlice: String?, minimumRows: Int?, correction: String?, declared: [String]) throws(MonitorError) {
        do {
            guard let selector = try SliceSelector(slice: slice, forEachSlice: forEachSlice, declared: declared) else { return nil }
            self.selector = selector
        } catch {
            throw MonitorError(error.description)
        }
        if let minimumRows, minimumRows < 1 { throw MonitorError("min_slice_rows must be at least 1 (got \(minimumRows))") }
        self.minimumRows = minimumRows ?? Self.defaultMinimumRows
        guard let chosen = correction.map({ Correction(rawValue: $0) }) ?? .bonferroni else {
            throw MonitorError("unknown slice_correction '\(correction ?? "")'; use bonferroni or none")
        }
        self.correction = chosen
    }

    /// The factor levels are divided by when `tested` slices are judged.
    func factor(tested: Int) -> Double {
        correction == .bonferroni ? Double(max(1, tested)) : 1
    }

    /// A slice's window as the rules see it when `factor` slices share the test: a drifted
    /// column stays drifted only if its p-value, multiplied by `factor`, is still below the
    /// level it was judged at (a hypothesis test's threshold, or the significance that confirmed
    /// an effect size). An effect size judged without a test has no p-value and stays as it is.
    static func corrected(_ window: WindowReport, factor: Double) -> WindowReport {
        guard factor > 1 else { return window }
        var window = window
        for index in window.drift.indices where window.drift[index].drifted {
            let metric = window.drift[index]
            if let level = metric.parameters["significance"], let p = metric.pValue {
                window.drift[index].drifted = p * factor < level
            } else if let p = metric.parameters["adjusted_p_value"] ?? metric.pValue, DriftMethod(rawValue: metric.method)?.isHypothesisTest == true {
                window.drift[index].drifted = p * factor < metric.driftThreshold
            }
        }
        // The domain classifier's p-value, like a feature's; a reconstruction error has a threshold.
        for index in window.multivariate.indices where window.multivariate[index].drifted {
            let metric = window.multivariate[index]
            if let level = metric.significance, let p = metric.pValue { window.multivariate[index].drifted = p * factor < level }
        }
        return window
    }
}
