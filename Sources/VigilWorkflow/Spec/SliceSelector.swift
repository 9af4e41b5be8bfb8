/// The slices an `evaluate` step judges instead of the whole window: one value of a slicing
/// expression from `data.slices` (`slice: region=eu`), or every value of one (`for_each_slice: region`).
public struct SliceSelector: Sendable, Equatable {
    /// The slicing expression, as `data.slices` writes it (the metric tables' `slice_key`).
    public let key: String
    /// The one value judged, or `nil` for every value of `key`.
    public let value: String?

    /// Why a selector cannot be read, in one line.
    public struct Problem: Error, Sendable, CustomStringConvertible {
        public let description: String
    }

    /// Reads `slice` or `forEachSlice` (at most one) against `declared`, the workflow's
    /// `data.slices`; `nil` when neither is given. `slice` is `expression=value` (quotes around
    /// the value optional), or a declared comparison alone (`plan = 'team'`), meaning its `true` slice.
    public init?(slice: String?, forEachSlice: String?, declared: [String]) throws(Problem) {
        let declared = declared.map { $0.trimmingCharacters(in: .whitespaces) }
        let listed = declared.isEmpty ? "none are declared" : "declared: " + declared.joined(separator: ", ")
        switch (slice, forEachSlice) {
        case (nil, nil):
            return nil
        case (_?, _?):
            throw Problem(description: "give `slice` or `for_each_slice`, not both")
        case let (nil, key?):
            let key = key.trimmingCharacters(in: .whitespaces)
            guard declared.contains(key) else { throw Problem(description: "for_each_slice '\(key)' is not among the workflow's data.slices (\(listed))") }
            self.key = key
            value = nil
        case let (text?, nil):
            let text = text.trimmingCharacters(in: .whitespaces)
            if declared.contains(text) {
                key = text
                value = "true"
                return
            }
            guard let equals = text.firstIndex(of: "="), declared.contains(text[..<equals].trimmingCharacters(in: .whitespaces)) else {
                throw Problem(description: "slice '\(text)' is not `expression=value` with an expression from the workflow's data.slices (\(listed))")
            }
            key = text[..<equals].trimmingCharacters(in: .whitespaces)
            var value = text[text.index(after: equals)...].trimmingCharacters(in: .whitespaces)
            if value.count >= 2, value.hasPrefix("'") || value.hasPrefix("\""), value.last == value.first {
                value = String(value.dropFirst().dropLast())
            }
            guard !value.isEmpty else { throw Problem(description: "slice '\(text)' names no value; write it as expression=value, such as region=eu") }
            self.value = value
        }
    }

    /// How an alert and its reasons name one of its slices: `region=eu`.
    public func name(of value: String) -> String {
        "\(key)=\(value)"
    }
}
