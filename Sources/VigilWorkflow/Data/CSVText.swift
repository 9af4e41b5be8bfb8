import Foundation

/// Writing CSV (RFC 4180) for the files Vigil hands to programs: training data, replay windows.
public enum CSVText {
    /// One record: its cells joined by commas, `nil` as an empty field, no line end.
    public static func record(_ cells: [String?]) -> String {
        cells.map { $0.map(field) ?? "" }.joined(separator: ",")
    }

    /// A field with a comma, quote or line break (or edge spaces) is quoted, quotes doubled.
    public static func field(_ text: String) -> String {
        guard text.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" }) || text.first == " " || text.last == " " else { return text }
        return "\"" + text.replacingOccurrences(of: "\"", with: "\"\"") + "\""
    }

    /// A feature's value as CSV text: numbers as their shortest round-trip text, booleans as
    /// `true`/`false`, null as empty, nested values as their JSON.
    public static func cell(_ value: JSONValue) -> String? {
        switch value {
        case .null: nil
        case let .string(text): text
        case let .number(number): NumberText.format(number)
        case let .bool(flag): flag ? "true" : "false"
        default: String(decoding: (try? JSONEncoder.sorted.encode(value)) ?? Data(), as: UTF8.self)
        }
    }
}
