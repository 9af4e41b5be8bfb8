/// Whether a metric's drop from its reference value is more than its sampling noise: a one-sided
/// z-test of the drop against the window's standard error.
public enum MetricDrop {
    /// The chance of a drop of `drop` or more when the metric has not moved and the window's
    /// value has standard error `standardError`; 1 for no drop, 0 for a drop with no error.
    public static func pValue(drop: Double, standardError: Double) -> Double {
        guard drop > 0 else { return 1 }
        guard standardError > 0 else { return 0 }
        return SpecialFunctions.normalSurvival(drop / standardError)
    }
}
