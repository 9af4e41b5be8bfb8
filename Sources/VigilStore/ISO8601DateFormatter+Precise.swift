import Foundation

extension ISO8601DateFormatter {
    /// ISO 8601 with fractional seconds, so stored times round-trip exactly enough for timers.
    public static var precise: ISO8601DateFormatter {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
        return formatter
    }
}
