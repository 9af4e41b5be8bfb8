import Foundation
import Testing
import VigilStore
import VigilWorkflow

/// `docs/architecture.md` draws the step lifecycle; this keeps the drawing true.
@Suite("The documented step lifecycle")
struct LifecycleDocumentTests {
    struct Row: Hashable {
        let from: String, to: String, when: String, decidedBy: String
    }

    static func rows() throws -> [Row] {
        let document = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("docs/architecture.md")
        let text = try String(contentsOf: document, encoding: .utf8)
        let section = try #require(text.components(separatedBy: "## The step lifecycle").dropFirst().first?.components(separatedBy: "\n## ").first)
        return section.split(separator: "\n").compactMap { line -> Row? in
            let cells = line.split(separator: "|", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
            guard cells.count == 6, cells[1].hasPrefix("`") else { return nil }
            func bare(_ cell: String) -> String { cell.trimmingCharacters(in: CharacterSet(charactersIn: "`")) }
            return Row(from: bare(cells[1]), to: bare(cells[2]), when: cells[3], decidedBy: cells[4])
        }
    }

    @Test("the table lists exactly the legal changes of StepState.transitions")
    func pairs() throws {
        let documented = Set(try Self.rows().map { "\($0.from) → \($0.to)" })
        let legal = Set(StepState.transitions.flatMap { from, targets in targets.map { "\(from.rawValue) → \($0.rawValue)" } })
        #expect(documented == legal, "missing: \(legal.subtracting(documented).sorted()); not legal: \(documented.subtracting(legal).sorted())")
    }

    @Test("each way an attempt ends appears on the row of the state StepLifecycle gives it")
    func attemptEnds() throws {
        let rows = try Self.rows()
        let now = Date(timeIntervalSince1970: 1_764_000_000)
        let policy = RetryPolicy(maximumAttempts: 3)
        let cases: [(name: String, end: AttemptEnd, attempt: Int)] = [
            ("succeeded", .succeeded(outputs: [:]), 1),
            ("failed", .failed(error: "x", retryable: true), 1),
            ("failed", .failed(error: "x", retryable: true), 3),
            ("failed", .failed(error: "x", retryable: false), 1),
            ("sleeping", .sleeping(until: now, memo: [:]), 1),
            ("awaitingApproval", .awaitingApproval(memo: [:]), 1),
            ("leaseExpired", .leaseExpired(worker: nil, lease: nil), 1),
            ("leaseExpired", .leaseExpired(worker: nil, lease: nil), 3),
            ("handedBack", .handedBack(by: "w"), 1),
            ("notStarted", .notStarted(reason: "x", retryAt: now), 1),
        ]
        for (name, end, attempt) in cases {
            let state = StepLifecycle.outcome(of: end, for: RunningStep(attempt: attempt, retry: policy), now: now, jitter: 0).state
            let row = rows.first { $0.from == "running" && $0.to == state.rawValue }
            #expect(row?.when.contains("`\(name)`") == true && row?.decidedBy == "`StepLifecycle`", "\(name) at attempt \(attempt) gives \(state.rawValue)")
        }
        let settled = { (approved: Bool, failure: String?) in WaitEnd.approvalSettled(approved: approved, by: "a", reason: "r", failure: failure, history: "h") }
        let waits: [(name: String, end: WaitEnd, state: StepState, memo: [String: JSONValue])] = [
            ("timeCame", .timeCame, .retrying, [:]), ("timeCame", .timeCame, .sleeping, [:]),
            ("approvalSettled", settled(true, nil), .awaitingApproval, ["gate": .bool(true)]),
            ("approvalSettled", settled(false, nil), .awaitingApproval, ["gate": .bool(true)]),
            ("approvalSettled", settled(false, nil), .awaitingApproval, [:]),
            ("approvalSettled", settled(true, "timed out"), .awaitingApproval, [:]),
        ]
        for (name, end, waiting, memo) in waits {
            let state = try #require(StepLifecycle.outcome(of: end, waiting: waiting, memo: memo, now: now)?.state)
            let row = rows.first { $0.from == waiting.rawValue && $0.to == state.rawValue }
            #expect(row?.when.contains("`\(name)`") == true && row?.decidedBy == "`StepLifecycle`", "\(name) from \(waiting.rawValue) gives \(state.rawValue)")
        }
        for state in StepState.allCases {
            for (name, intervention) in [("cancelled", Intervention.cancelled(reason: "r")), ("reopened", .reopened(reason: "r"))] {
                guard let outcome = StepLifecycle.outcome(of: intervention, in: state) else { continue }
                let row = rows.first { $0.from == state.rawValue && $0.to == outcome.state.rawValue }
                #expect(row?.when.contains("`\(name)`") == true && row?.decidedBy == "`StepLifecycle`", "\(name) from \(state.rawValue) gives \(outcome.state.rawValue)")
            }
        }
        let conditions: [(FinishedNeeds, String?, Bool)] = [
            (FinishedNeeds(succeeded: true, isRoot: true), nil, true), (FinishedNeeds(succeeded: false), nil, true),
            (FinishedNeeds(succeeded: true, cancelled: true), nil, true), (FinishedNeeds(succeeded: true), "x == 1", false),
            (FinishedNeeds(succeeded: false), "failure()", true), (FinishedNeeds(succeeded: true), "(", true),
        ]
        for (needs, condition, holds) in conditions {
            let state = StepLifecycle.outcome(ofNeedsFinished: needs, condition: condition) { (_) throws(ExpressionError) -> Bool in holds }.state
            let row = rows.first { $0.from == "pending" && $0.to == state.rawValue }
            #expect(row?.when.contains("`needsFinished`") == true && row?.decidedBy == "`StepLifecycle`", "\(needs) if: \(condition ?? "-") gives \(state.rawValue)")
        }
        // Every change the table gives to StepLifecycle is one it makes; the claim is the one made elsewhere.
        let elsewhere = rows.filter { $0.decidedBy != "`StepLifecycle`" }.map { "\($0.from) → \($0.to)" }
        #expect(elsewhere == ["ready → running"])
    }
}
