/// Why a statistic could not be computed. Never a crash, never a NaN passed off as a result.
public struct StatisticsError: Error, Equatable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable {
        private enum Base: Hashable, Sendable { case emptySample, allMissing, invalidParameter, mismatchedLengths }
        private let base: Base
        private init(_ base: Base) { self.base = base }

        /// The sample has no values at all.
        public static let emptySample = Code(.emptySample)
        /// Every value of the sample is missing (NaN or null).
        public static let allMissing = Code(.allMissing)
        /// A parameter is outside its allowed range.
        public static let invalidParameter = Code(.invalidParameter)
        /// Paired inputs (labels and predictions) differ in length.
        public static let mismatchedLengths = Code(.mismatchedLengths)
    }

    public let code: Code
    public let message: String

    public init(_ code: Code, _ message: String) {
        self.code = code
        self.message = message
    }

    public var description: String { message }
}

extension StatisticsError {
    /// Checks that two paired inputs (labels and predictions) have the same, non-zero length.
    static func checkPaired(_ first: Int, _ second: Int) throws(StatisticsError) {
        guard first == second else {
            throw StatisticsError(.mismatchedLengths, "paired inputs differ in length (\(first) and \(second))")
        }
        guard first > 0 else { throw StatisticsError(.emptySample, "no rows to evaluate") }
    }
}

extension StatisticsError {
    /// The error for a sample with no usable values: all missing, or empty.
    static func unusable(_ name: String, missing: Int) -> StatisticsError {
        missing > 0
            ? StatisticsError(.allMissing, "\(name) has only missing values (\(missing))")
            : StatisticsError(.emptySample, "\(name) is empty")
    }

    /// Throws when either side of a comparison has no usable values.
    static func checkUsable(reference: (count: Int, missing: Int), current: (count: Int, missing: Int)) throws(StatisticsError) {
        if reference.count == 0 { throw unusable("reference", missing: reference.missing) }
        if current.count == 0 { throw unusable("current", missing: current.missing) }
    }
}
