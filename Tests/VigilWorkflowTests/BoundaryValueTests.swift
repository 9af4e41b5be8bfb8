import Foundation
import Testing
@testable import VigilWorkflow

/// Numbers from outside become domain values through range checks, never a trap.
@Suite("Values at the boundary")
struct BoundaryValueTests {
    static func read(_ text: String) -> Timestamp.Reading {
        var text = text
        return text.withUTF8 { Timestamp.read(UnsafeBufferPointer(rebasing: $0[...])) }
    }

    @Test("timestamps: RFC 3339, Unix seconds and Unix milliseconds within 1970–9999 are read; beyond is out of range; garbage is invalid")
    func timestamps() {
        #expect(Self.read("2026-11-24T10:00:00Z") == .seconds(1_795_514_400))
        #expect(Self.read("2026-11-24 11:00:00.5+01:00") == .seconds(1_795_514_400.5))
        #expect(Self.read("1795514400") == .seconds(1_795_514_400))
        #expect(Self.read("1795514400500") == .seconds(1_795_514_400.5))
        #expect(Self.read("1970-01-01T00:00:00Z") == .seconds(0))
        #expect(Self.read("9999-12-31T23:59:59Z") == .seconds(253_402_300_799))
        #expect(Self.read("253402300799") == .seconds(253_402_300_799))
        #expect(Self.read("253402300799999") == .seconds(253_402_300_799.999))
        for outside in ["99999999999999999999", "-99999999999", "-1", "1e300", "-1e300", "NaN", "nan", "inf", "-Infinity", "253402300800000", "1969-12-31T23:59:59Z", "0000-01-01"] {
            #expect(Self.read(outside) == .outOfRange, "\(outside)")
        }
        for garbage in ["", "soon", "0x10", "2026-13-01", "2026-11-24T25:00", "12 34", "١٢٣"] {
            #expect(Self.read(garbage) == .invalid, "\(garbage)")
        }
        var bytes: [UInt8] = []
        Timestamp.format(253_402_300_799.999, into: &bytes)
        #expect(String(decoding: bytes, as: UTF8.self).hasPrefix("9999-12-31 23:59:59.99"))
    }

    @Test("durations longer than 36500 days, or too long to be a number, are not durations")
    func durations() {
        #expect(WorkflowDuration("36500d") == WorkflowDuration.maximum)
        #expect(WorkflowDuration("36501d") == nil)
        #expect(WorkflowDuration("99999999999d") == nil)
        #expect(WorkflowDuration("1" + String(repeating: "0", count: 400) + "s") == nil)
        #expect(WorkflowDuration("36500d1s") == nil)
        #expect(WorkflowDuration("1h30m")?.seconds == 5_400)
        #expect(WorkflowDuration.maximum.duration == .seconds(36_500 * 86_400))
    }

    @Test("a number from outside becomes an Int only when it is whole and within ±2⁵³")
    func wholeNumbers() {
        #expect(JSONValue.number(42).intValue == 42)
        #expect(JSONValue.number(-9_007_199_254_740_992).intValue == -9_007_199_254_740_992)
        for value in [1e300, -1e300, .nan, .infinity, 0.5, 9_007_199_254_740_994] {
            #expect(JSONValue.number(value).intValue == nil, "\(value)")
        }
        #expect(JSONValue.string("42").intValue == nil)
    }

    @Test("an expression indexing a list by a huge or fractional number gives null instead of trapping")
    func expressionIndex() throws {
        let context = ExpressionContext(params: ["list": .array([.number(1), .number(2)])], steps: [:], run: [:], trigger: [:])
        for index in ["1e300", "0.5", "99999999999999999999"] {
            let expression = try ExpressionParser.parse("params.list[\(index)]")
            #expect(try ExpressionEvaluator(context: context).evaluate(expression) == .null, "\(index)")
        }
        #expect(try ExpressionEvaluator(context: context).evaluate(try ExpressionParser.parse("params.list[1]")) == .number(2))
    }
}
