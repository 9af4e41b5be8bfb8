import Foundation
import Testing
@testable import VigilWorkflow

@Suite("Expressions")
struct ExpressionTests {
    let context = ExpressionContext(
        params: ["threshold": .number(0.2), "regions": .array([.string("EU"), .string("US")])],
        steps: ["evaluate": .init(state: "succeeded", outputs: ["severity": .string("hard"), "reasons": .array([.string("drift: amount")])])],
        run: ["attempt": .number(2)], trigger: ["labels": .object(["severity": .string("hard")])]
    )

    func value(_ source: String) throws -> JSONValue {
        try ExpressionEvaluator(context: context).evaluate(ExpressionParser.parse(source))
    }

    @Test("literals, paths, comparison, logic, membership and functions", arguments: [
        ("steps.evaluate.outputs.severity == 'hard'", JSONValue.bool(true)),
        ("steps.evaluate.outputs.severity != 'hard' || params.threshold < 0.5", .bool(true)),
        ("!(run.attempt >= 2) && true", .bool(false)),
        ("'EU' in params.regions", .bool(true)),
        ("'APAC' in params.regions", .bool(false)),
        ("contains(steps.evaluate.outputs.reasons, 'drift: amount')", .bool(true)),
        ("len(params.regions) == 2", .bool(true)),
        ("startsWith('churn-v2', 'CHURN')", .bool(true)),
        ("trigger.labels['severity']", .string("hard")),
        ("params.regions[1]", .string("US")),
        ("steps.missing.outputs.x == null", .bool(true)),
        ("'it''s'", .string("it's")),
        ("[1, 2.5, 'x']", .array([.number(1), .number(2.5), .string("x")])),
        ("toJSON(params.regions)", .string("[\"EU\",\"US\"]")),
    ])
    func evaluation(source: String, expected: JSONValue) throws {
        #expect(try value(source) == expected)
    }

    @Test("conditions get an implicit success(), unless they use a status function")
    func statusFunctions() throws {
        var failed = context
        failed.upstreamFailed = true
        let evaluator = ExpressionEvaluator(context: failed)
        #expect(try evaluator.condition(ExpressionParser.parse("true")) == false)
        #expect(try evaluator.condition(ExpressionParser.parse("failure()")) == true)
        #expect(try evaluator.condition(ExpressionParser.parse("always() && run.attempt == 2")) == true)
        #expect(try ExpressionEvaluator(context: context).condition(ExpressionParser.parse("success()")) == true)
    }

    @Test("templates keep a lone expression's type and interpolate text")
    func templates() throws {
        #expect(try Template("${{ params.threshold }}").evaluate(in: context) == .number(0.2))
        #expect(try Template("attempt ${{ run.attempt }} of ${{ len(params.regions) }}").evaluate(in: context) == .string("attempt 2 of 2"))
        #expect(try Template("plain").evaluate(in: context) == .string("plain"))
    }

    @Test("errors point at the offending character", arguments: [
        ("a = 1", 2, "unexpected character '='; use '==' to compare"),
        ("len(1, 2)", 0, "len() takes 1 argument, found 2"),
        ("(true", 5, "expected ')' to close '(', found the end"),
        ("'open", 0, "a string is never closed"),
        ("true false", 5, "unexpected 'false' after the end of the expression"),
    ])
    func errors(source: String, offset: Int, message: String) {
        #expect(throws: ExpressionError(offset: offset, message: message)) { try ExpressionParser.parse(source) }
    }

    @Test("expressions cannot reach the environment, files, the network or a shell")
    func sandbox() throws {
        for source in ["env.HOME", "secrets.token", "github.event"] {
            #expect(throws: ExpressionError.self) { try value(source) }
        }
        for source in ["exec('ls')", "readFile('/etc/passwd')", "http('https://example.com')", "system('id')"] {
            #expect(throws: ExpressionError.self) { try ExpressionParser.parse(source) }
        }
        // The function table is closed: only pure functions exist (drop and estimated_drop read
        // an evaluate rule's window metrics, and nothing outside one).
        #expect(Set(ExpressionFunction.allCases.map(\.rawValue))
                == ["contains", "startsWith", "endsWith", "len", "toJSON", "always", "success", "failure", "cancelled", "drop", "estimated_drop"])
        #expect(try value("drop('f1')") == .null)
        let text = "name: w\nsteps:\n  m:\n    uses: monitor\n    if: env.HOME == '/root'\n"
        #expect { try WorkflowLoader.parse(Array(text.utf8), file: "w.yaml") } throws: { error in
            (error as? WorkflowError)?.diagnostics.first?.message.contains("unknown name 'env'") == true
        }
    }
}

@Suite("Cron schedules and durations")
struct ScheduleTests {
    func date(_ text: String) -> Date { ISO8601DateFormatter().date(from: text)! }

    @Test("next firing times", arguments: [
        ("@hourly", "2026-11-24T10:15:00Z", "2026-11-24T11:00:00Z"),
        ("*/15 * * * *", "2026-11-24T10:15:00Z", "2026-11-24T10:30:00Z"),
        ("* * * * *", "2026-11-24T10:15:42Z", "2026-11-24T10:16:00Z"),
        ("@hourly", "2026-11-24T10:59:59Z", "2026-11-24T11:00:00Z"),
        ("0 9 * * MON-FRI", "2026-11-27T10:00:00Z", "2026-11-30T09:00:00Z"),
        ("30 2 1 * *", "2026-11-24T00:00:00Z", "2026-12-01T02:30:00Z"),
        ("0 0 29 2 *", "2026-03-01T00:00:00Z", "2028-02-29T00:00:00Z"),
        ("0 12 13 * 5", "2026-11-24T00:00:00Z", "2026-11-27T12:00:00Z"),
        ("@weekly", "2026-11-24T00:00:00Z", "2026-11-29T00:00:00Z"),
    ])
    func nextTimes(cron: String, after: String, expected: String) throws {
        #expect(try CronExpression(cron).next(after: date(after), in: TimeZone(identifier: "UTC")!) == date(expected))
    }

    @Test("schedules follow their time zone")
    func timeZone() throws {
        let paris = TimeZone(identifier: "Europe/Paris")!
        #expect(try CronExpression("@daily").next(after: date("2026-11-24T12:00:00Z"), in: paris) == date("2026-11-24T23:00:00Z"))
    }

    @Test("durations", arguments: [("30s", 30.0), ("5m", 300), ("2h", 7_200), ("1d", 86_400), ("1h30m", 5_400), ("500ms", 0.5)])
    func durations(text: String, seconds: Double) {
        #expect(WorkflowDuration(text)?.seconds == seconds)
    }
}
