import Foundation

/// A 5-field cron schedule (minute hour day-of-month month day-of-week), or one of `@hourly`,
/// `@daily` (`@midnight`), `@weekly`, `@monthly`, `@yearly` (`@annually`).
///
/// Fields take `*`, numbers, ranges `a-b`, steps `*/n` and `a-b/n`, lists `a,b`, and month and
/// weekday names (`JAN`, `MON`); day-of-week 0 and 7 are Sunday. As in Vixie cron, when both
/// day-of-month and day-of-week are restricted, a day matching either fires.
public struct CronExpression: Sendable, Hashable, Codable, CustomStringConvertible {
    public let source: String
    let minutes: Set<Int>
    let hours: Set<Int>
    let daysOfMonth: Set<Int>
    let months: Set<Int>
    let daysOfWeek: Set<Int>
    let dayOfMonthRestricted: Bool
    let dayOfWeekRestricted: Bool

    /// Why a cron expression was refused.
    public struct ParseError: Error, Sendable {
        public let message: String
    }

    private static let macros = [
        "@yearly": "0 0 1 1 *", "@annually": "0 0 1 1 *", "@monthly": "0 0 1 * *",
        "@weekly": "0 0 * * 0", "@daily": "0 0 * * *", "@midnight": "0 0 * * *", "@hourly": "0 * * * *",
    ]
    private static let monthNames = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"]
    private static let dayNames = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"]

    public init(_ source: String) throws(ParseError) {
        let trimmed = source.trimmingCharacters(in: .whitespaces)
        let expanded: String
        if trimmed.hasPrefix("@") {
            guard let macro = Self.macros[trimmed.lowercased()] else {
                throw ParseError(message: "unknown schedule '\(trimmed)'; use 5 cron fields or one of \(Self.macros.keys.sorted().joined(separator: ", "))")
            }
            expanded = macro
        } else {
            expanded = trimmed
        }
        let fields = expanded.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
        guard fields.count == 5 else {
            throw ParseError(message: "a cron schedule has 5 fields (minute hour day-of-month month day-of-week), found \(fields.count)")
        }
        self.source = trimmed
        minutes = try Self.parse(fields[0], name: "minute", range: 0...59)
        hours = try Self.parse(fields[1], name: "hour", range: 0...23)
        daysOfMonth = try Self.parse(fields[2], name: "day-of-month", range: 1...31)
        months = try Self.parse(fields[3], name: "month", range: 1...12, names: Self.monthNames, nameBase: 1)
        daysOfWeek = Set(try Self.parse(fields[4], name: "day-of-week", range: 0...7, names: Self.dayNames, nameBase: 0).map { $0 % 7 })
        dayOfMonthRestricted = fields[2] != "*" && fields[2] != "?"
        dayOfWeekRestricted = fields[4] != "*" && fields[4] != "?"
    }

    public var description: String { source }

    /// The first firing time strictly after `date`, in `timeZone`; `nil` if none within five years.
    public func next(after date: Date, in timeZone: TimeZone) -> Date? {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = timeZone
        // The next whole minute after `date`.
        let minute = calendar.date(from: calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date))!
        var candidate = minute.addingTimeInterval(60)
        let limit = date.addingTimeInterval(5 * 366 * 86_400)
        while candidate < limit {
            let parts = calendar.dateComponents([.month, .day, .hour, .minute, .weekday], from: candidate)
            guard months.contains(parts.month!) else {
                candidate = calendar.date(byAdding: .month, value: 1, to: calendar.date(from: calendar.dateComponents([.year, .month], from: candidate))!)!
                continue
            }
            guard matchesDay(dayOfMonth: parts.day!, weekday: parts.weekday! - 1) else {
                candidate = calendar.date(byAdding: .day, value: 1, to: calendar.startOfDay(for: candidate))!
                continue
            }
            guard hours.contains(parts.hour!) else {
                let hourStart = calendar.date(from: calendar.dateComponents([.year, .month, .day, .hour], from: candidate))!
                candidate = hourStart.addingTimeInterval(3_600)
                continue
            }
            guard minutes.contains(parts.minute!) else {
                candidate = candidate.addingTimeInterval(60)
                continue
            }
            return candidate
        }
        return nil
    }

    private func matchesDay(dayOfMonth: Int, weekday: Int) -> Bool {
        switch (dayOfMonthRestricted, dayOfWeekRestricted) {
        case (true, true): daysOfMonth.contains(dayOfMonth) || daysOfWeek.contains(weekday)
        case (true, false): daysOfMonth.contains(dayOfMonth)
        case (false, true): daysOfWeek.contains(weekday)
        case (false, false): true
        }
    }

    private static func parse(
        _ field: String, name: String, range: ClosedRange<Int>, names: [String] = [], nameBase: Int = 0
    ) throws(ParseError) -> Set<Int> {
        func value(_ text: Substring) throws(ParseError) -> Int {
            if let number = Int(text), range.contains(number) { return number }
            if let index = names.firstIndex(of: text.uppercased()) { return index + nameBase }
            throw ParseError(message: "invalid \(name) '\(text)' in cron field '\(field)' (allowed \(range.lowerBound)-\(range.upperBound))")
        }
        var result = Set<Int>()
        for part in field.split(separator: ",", omittingEmptySubsequences: false) {
            let pieces = part.split(separator: "/", omittingEmptySubsequences: false)
            guard pieces.count <= 2, !pieces[0].isEmpty else {
                throw ParseError(message: "invalid \(name) field '\(field)'")
            }
            var step = 1
            if pieces.count == 2 {
                guard let parsed = Int(pieces[1]), parsed > 0 else {
                    throw ParseError(message: "invalid step '\(pieces[1])' in \(name) field '\(field)'")
                }
                step = parsed
            }
            let bounds: ClosedRange<Int>
            if pieces[0] == "*" || pieces[0] == "?" {
                bounds = range
            } else if let dash = pieces[0].firstIndex(of: "-") {
                let low = try value(pieces[0][..<dash]), high = try value(pieces[0][pieces[0].index(after: dash)...])
                guard low <= high else { throw ParseError(message: "empty range '\(pieces[0])' in \(name) field") }
                bounds = low...high
            } else {
                let single = try value(pieces[0])
                bounds = single...(pieces.count == 2 ? range.upperBound : single)
            }
            result.formUnion(stride(from: bounds.lowerBound, through: bounds.upperBound, by: step))
        }
        return result
    }

    public init(from decoder: any Decoder) throws {
        let text = try decoder.singleValueContainer().decode(String.self)
        do {
            try self.init(text)
        } catch {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: error.message))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(source)
    }
}
