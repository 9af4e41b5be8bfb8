import Foundation

/// Numbers as data files write them, read and written quickly: millions pass through here.
public enum NumberText {
    /// `600` rather than `600.0` for whole numbers; the shortest round-trip form otherwise.
    public static func format(_ value: Double) -> String {
        if value == value.rounded(), abs(value) < 1e15 { return String(Int64(value)) }
        return String(value)
    }

    /// `value` as an `Int` when it is a whole number within ±2⁵³; `nil` otherwise (a fraction, NaN,
    /// infinity, or a magnitude where a `Double` skips whole numbers). The one checked way from a
    /// number that came from outside to an `Int`.
    public static func exactInt(_ value: Double) -> Int? {
        guard value.isFinite, abs(value) <= 9_007_199_254_740_992, value == value.rounded(.towardZero) else { return nil }
        return Int(value)
    }

    private static let powersOfTen: [Double] = (0...22).map { pow(10, Double($0)) }

    /// `-?digits[.digits]` with at most 15 significant digits, exactly as strtod reads it: the
    /// digits form an integer below 2⁵³ and the power of ten is exact, so the one division is
    /// correctly rounded. `nil` for anything else (exponents, signs, long mantissas: use strtod).
    public static func simpleDecimal(_ bytes: UnsafeRawBufferPointer) -> Double? {
        var index = 0
        let negative = index < bytes.count && bytes[index] == UInt8(ascii: "-")
        if negative { index += 1 }
        var mantissa: UInt64 = 0
        var digits = 0, fractionDigits = 0, seenPoint = false
        while index < bytes.count {
            let byte = bytes[index]
            if byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") {
                mantissa = mantissa &* 10 &+ UInt64(byte &- UInt8(ascii: "0"))
                digits += 1
                if seenPoint { fractionDigits += 1 }
            } else if byte == UInt8(ascii: "."), !seenPoint {
                seenPoint = true
            } else {
                return nil
            }
            index += 1
        }
        guard digits > 0, digits <= 15, !(seenPoint && fractionDigits == 0) else { return nil }
        let value = Double(mantissa) / powersOfTen[fractionDigits]
        return negative ? -value : value
    }
}
