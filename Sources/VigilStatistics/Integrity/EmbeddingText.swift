/// An embedding written as text: a JSON array of numbers, `[0.12, -0.5, 3e-2]`.
public enum EmbeddingText {
    /// The array's elements, each `nil` when it is not a number (such as `"x"` or `null`); `nil`
    /// when the text is not a bracketed, comma-separated list.
    public static func numbers(_ text: String) -> [Double?]? {
        var text = Substring(text).drop { $0 == " " }
        while text.last == " " { text = text.dropLast() }
        guard text.first == "[", text.last == "]" else { return nil }
        let inner = text.dropFirst().dropLast()
        if inner.allSatisfy({ $0 == " " }) { return [] }
        return inner.split(separator: ",", omittingEmptySubsequences: false).map { element in
            Double(element.trimmingCharacters(in: .whitespaces))
        }
    }
}
