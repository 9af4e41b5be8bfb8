import Foundation

/// Reads and writes the timestamps of data files quickly: millions of rows pass through here.
///
/// Accepted, from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59.999999Z (``range``):
/// - RFC 3339 / ISO 8601: `2026-11-24T10:00:00Z`, `2026-11-24 10:00:00.125+01:00`,
///   `2026-11-24T10:00`, `2026-11-24`; no offset means UTC.
/// - A plain number: Unix seconds up to 253402300799 (the end of year 9999); a larger number up
///   to 253402300799999 is Unix milliseconds. Anything beyond, negative, NaN or infinite is out of range.
public enum Timestamp {
    /// The instants Vigil stores, in Unix seconds: years 1970 to 9999, to the millisecond (a
    /// `Double` this large resolves about 30 µs, so the last microsecond would round into year 10000).
    public static let range: ClosedRange<Double> = 0...253_402_300_799.999

    /// What a text said: an instant, a time outside ``range``, or no timestamp at all.
    public enum Reading: Sendable, Equatable {
        case seconds(Double)
        case outOfRange
        case invalid
    }

    /// How the accepted range is stated in error messages.
    public static let rangeDescription = "an RFC 3339 time or Unix seconds or milliseconds, from 1970-01-01T00:00:00Z to 9999-12-31T23:59:59Z"

    /// Seconds since 1970-01-01T00:00:00Z, or `nil` when `text` is not a timestamp within ``range``.
    public static func parse(_ text: String) -> Double? {
        var text = text
        return text.withUTF8 { parse(UnsafeBufferPointer(rebasing: $0[...])) }
    }

    /// As ``parse(_:)-swift.type.method``, on UTF-8 bytes.
    public static func parse(_ bytes: UnsafeBufferPointer<UInt8>) -> Double? {
        if case let .seconds(seconds) = read(bytes) { return seconds }
        return nil
    }

    /// Reads `bytes`, telling a time outside ``range`` apart from text that is no timestamp.
    public static func read(_ bytes: UnsafeBufferPointer<UInt8>) -> Reading {
        var reader = ByteScanner(bytes: bytes)
        guard let year = reader.digits(4), reader.skip(UInt8(ascii: "-")), let month = reader.digits(2),
              reader.skip(UInt8(ascii: "-")), let day = reader.digits(2)
        else {
            return readNumber(bytes)
        }
        guard (1...12).contains(month), day >= 1, day <= daysIn(month: month, year: year) else { return .invalid }
        var seconds = 0.0
        if !reader.atEnd {
            guard reader.skip(UInt8(ascii: "T")) || reader.skip(UInt8(ascii: " ")) || reader.skip(UInt8(ascii: "t")),
                  let hour = reader.digits(2), reader.skip(UInt8(ascii: ":")), let minute = reader.digits(2),
                  hour < 24, minute < 60
            else { return .invalid }
            seconds = Double(hour * 3_600 + minute * 60)
            if reader.skip(UInt8(ascii: ":")) {
                guard let second = reader.digits(2), second < 61 else { return .invalid }
                seconds += Double(second)
                if reader.skip(UInt8(ascii: ".")) || reader.skip(UInt8(ascii: ",")) {
                    var scale = 0.1, fraction = 0.0, any = false
                    while let digit = reader.digit() {
                        fraction += Double(digit) * scale
                        scale /= 10
                        any = true
                    }
                    guard any else { return .invalid }
                    seconds += fraction
                }
            }
            if reader.skip(UInt8(ascii: "Z")) || reader.skip(UInt8(ascii: "z")) {
            } else if let sign = reader.sign() {
                guard let hours = reader.digits(2) else { return .invalid }
                _ = reader.skip(UInt8(ascii: ":"))
                let minutes = reader.digits(2) ?? 0
                guard hours < 24, minutes < 60 else { return .invalid }
                seconds -= Double(sign * (hours * 3_600 + minutes * 60))
            }
            guard reader.atEnd else { return .invalid }
        }
        // Four digits bound the year, so this product is small; the range check is what remains.
        let instant = Double(daysFromCivil(year: year, month: month, day: day)) * 86_400 + seconds
        return range.contains(instant) ? .seconds(instant) : .outOfRange
    }

    /// A plain number: seconds within ``range``, else milliseconds within it, else out of range.
    private static func readNumber(_ bytes: UnsafeBufferPointer<UInt8>) -> Reading {
        let text = String(decoding: bytes, as: UTF8.self)
        let lowered = text.lowercased()
        if ["nan", "+nan", "-nan", "inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"].contains(lowered) { return .outOfRange }
        // Double(_:) also reads hexadecimal; a timestamp is decimal.
        guard !text.isEmpty, text.utf8.count <= 64,
              text.utf8.allSatisfy({ ($0 >= UInt8(ascii: "0") && $0 <= UInt8(ascii: "9")) || "+-.eE".utf8.contains($0) }),
              let value = Double(text)
        else { return .invalid }
        if range.contains(value) { return .seconds(value) }
        let seconds = value / 1_000
        if value > range.upperBound, range.contains(seconds) { return .seconds(seconds) }
        return .outOfRange
    }

    /// `2026-11-24 10:00:00.125000+00`, the form PostgreSQL reads fastest, in UTC with microseconds.
    ///
    /// - Precondition: `seconds` lies in ``range`` (``read(_:)`` gives no other), so the microseconds fit an `Int64`.
    public static func format(_ seconds: Double, into bytes: inout [UInt8]) {
        let (days, rest) = daysAndMicroseconds(seconds)
        let (year, month, day) = civilFromDays(days)
        func put(_ value: Int64, _ width: Int) {
            var divisor: Int64 = 1
            for _ in 1..<width { divisor *= 10 }
            var value = value
            while divisor > 0 {
                bytes.append(UInt8(ascii: "0") + UInt8(value / divisor))
                value %= divisor
                divisor /= 10
            }
        }
        put(year, 4); bytes.append(UInt8(ascii: "-")); put(month, 2); bytes.append(UInt8(ascii: "-")); put(day, 2)
        bytes.append(UInt8(ascii: " "))
        put(rest / 3_600_000_000, 2); bytes.append(UInt8(ascii: ":"))
        put(rest / 60_000_000 % 60, 2); bytes.append(UInt8(ascii: ":"))
        put(rest / 1_000_000 % 60, 2); bytes.append(UInt8(ascii: "."))
        put(rest % 1_000_000, 6)
        bytes.append(contentsOf: "+00".utf8)
    }

    /// The UTC day (since 1970-01-01) that ``format(_:into:)`` writes for `seconds`: its
    /// microseconds rounded first, as PostgreSQL stores them.
    public static func day(of seconds: Double) -> Int {
        Int(daysAndMicroseconds(seconds).days)
    }

    /// Whole days since 1970-01-01 and the microseconds into the last, of `seconds` rounded to the microsecond.
    private static func daysAndMicroseconds(_ seconds: Double) -> (days: Int64, rest: Int64) {
        let micros = Int64((min(max(seconds, range.lowerBound), range.upperBound) * 1_000_000).rounded())
        var days = micros / 86_400_000_000
        var rest = micros % 86_400_000_000
        if rest < 0 {
            rest += 86_400_000_000
            days -= 1
        }
        return (days, rest)
    }

    static func daysIn(month: Int, year: Int) -> Int {
        switch month {
        case 2: (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 ? 29 : 28
        case 4, 6, 9, 11: 30
        default: 31
        }
    }

    /// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
    public static func daysFromCivil(year: Int, month: Int, day: Int) -> Int {
        let y = month <= 2 ? year - 1 : year
        let era = (y >= 0 ? y : y - 399) / 400
        let yearOfEra = y - era * 400
        let dayOfYear = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + day - 1
        let dayOfEra = yearOfEra * 365 + yearOfEra / 4 - yearOfEra / 100 + dayOfYear
        return era * 146_097 + dayOfEra - 719_468
    }

    static func civilFromDays(_ days: Int64) -> (Int64, Int64, Int64) {
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1_460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        return (yearOfEra + era * 400 + (month <= 2 ? 1 : 0), month, day)
    }
}

/// A forward-only reader of ASCII digits and signs.
private struct ByteScanner {
    let bytes: UnsafeBufferPointer<UInt8>
    var position = 0

    var atEnd: Bool { position >= bytes.count }

    mutating func skip(_ byte: UInt8) -> Bool {
        guard position < bytes.count, bytes[position] == byte else { return false }
        position += 1
        return true
    }

    mutating func digit() -> Int? {
        guard position < bytes.count, bytes[position] >= UInt8(ascii: "0"), bytes[position] <= UInt8(ascii: "9") else { return nil }
        position += 1
        return Int(bytes[position - 1] - UInt8(ascii: "0"))
    }

    mutating func digits(_ count: Int) -> Int? {
        var value = 0
        for _ in 0..<count {
            guard let digit = digit() else { return nil }
            value = value * 10 + digit
        }
        return value
    }

    mutating func sign() -> Int? {
        if skip(UInt8(ascii: "+")) { return 1 }
        if skip(UInt8(ascii: "-")) { return -1 }
        return nil
    }
}
