import VigilStatistics

extension DriftPolicy {
    /// Compares a window's profile of a column with its reference's, deciding kind, method,
    /// threshold and confirming test exactly as ``DatasetDrift`` does on raw values.
    ///
    /// `sample` (the window's sorted values, when the window was just read) lets a binned method
    /// recount the window on the reference's edges; without it (rolled-up profiles) a binned
    /// method applies only where the edges agree.
    func finding(
        current: ColumnProfile, reference: ColumnProfile, sample: SortedSample?
    ) throws(StatisticsError) -> (ColumnKind, DriftFinding) {
        try checkCounts(reference: reference.rowCount - reference.missingCount, current: current.rowCount - current.missingCount)
        let numeric = reference.numeric != nil && current.numeric != nil
        let epsilon = numericOptions.epsilon
        let referenceCount = reference.rowCount - reference.missingCount
        if kind(numeric: numeric, referenceDistinctCount: reference.distinctCount) == .numeric,
           let referenceNumbers = reference.numeric, let currentNumbers = current.numeric {
            let method = method(for: .numeric, referenceCount: referenceCount, distinctCount: reference.distinctCount)
            var compared = currentNumbers
            if method.isBinned, let sample {
                compared = currentNumbers.rebinned(on: referenceNumbers.edges ?? [], from: sample)
            }
            let result = try ProfileDrift.compare(referenceNumbers, compared, method: method, threshold: threshold, epsilon: epsilon)
            var confirmation: DriftResult?
            if result.drifted, let test = confirmingTest(for: method, kind: .numeric) {
                confirmation = try ProfileDrift.compare(referenceNumbers, currentNumbers, method: test, epsilon: epsilon)
            }
            return (.numeric, DriftFinding(result: result, confirmation: confirmation))
        }
        guard let referenceCategories = reference.categorical,
              let currentCategories = current.categorical ?? sample.map(ProfiledRows.categoricalView)
        else {
            throw StatisticsError(.invalidParameter, "the profiles keep no category counts to compare")
        }
        let distinct = Set(referenceCategories.comparableCounts.counts.keys).union(currentCategories.comparableCounts.counts.keys).count
        var method = method(for: .categorical, referenceCount: referenceCount, distinctCount: distinct)
        if method == .zTest && distinct > 2 { method = .chiSquare }
        let result = try ProfileDrift.compare(referenceCategories, currentCategories, method: method, threshold: threshold, epsilon: epsilon)
        var confirmation: DriftResult?
        if result.drifted, let test = confirmingTest(for: method, kind: .categorical) {
            confirmation = try ProfileDrift.compare(referenceCategories, currentCategories, method: test, epsilon: epsilon)
        }
        return (.categorical, DriftFinding(result: result, confirmation: confirmation))
    }
}

extension DriftMethod {
    /// Methods that compare histograms on the reference's bins.
    var isBinned: Bool { [.psi, .kl, .jensenShannon, .hellinger].contains(self) }
}
