import Foundation
import VigilWorkflow

/// Who is deciding on an approval: a name, and the roles they hold.
public struct Approver: Sendable, Hashable {
    public let name: String
    /// Role names; an `admin` holds every role.
    public let roles: Set<String>

    public init(name: String, roles: Set<String>) {
        self.name = name
        self.roles = roles
    }

    func holds(any required: [String]) -> Bool {
        roles.contains("admin") || required.contains(where: roles.contains)
    }
}

/// What a step waiting for approval asks for, kept in its memo while it waits: who may decide,
/// how many must approve, until when, and the approvals so far.
struct ApprovalRequest: Sendable, Equatable {
    struct Vote: Sendable, Equatable {
        let by: String
        let reason: String
        let at: Date
    }

    var roles: [String]
    var quorum = 1
    var allowSelfApproval = false
    var timeoutAt: Date?
    var onTimeout: ApprovalGate.TimeoutAction = .reject
    var approvals: [Vote] = []

    /// What one person's approval or rejection does.
    enum Verdict: Equatable {
        /// Not accepted, and why: the decision is refused (and audited as a refusal).
        case refused(String)
        /// An approval counted, with more still needed.
        case counted(approvals: Int, of: Int)
        case approved
        case rejected
    }

    /// Judges `approver`'s decision on a run started by `starter`. Pure: the caller records it.
    func judge(_ approver: Approver, approve: Bool, starter: String) -> Verdict {
        guard approver.holds(any: roles) else {
            return .refused("\(approver.name) holds none of the roles this approval needs (\(roles.joined(separator: ", ")))")
        }
        if approver.name == starter, !allowSelfApproval {
            return .refused("\(approver.name) started this run and may not decide on its approval (the gate does not allow self-approval)")
        }
        guard approve else { return .rejected }
        if approvals.contains(where: { $0.by == approver.name }) {
            return .refused("\(approver.name) has already approved; \(quorum) distinct approvers are needed")
        }
        return approvals.count + 1 >= quorum ? .approved : .counted(approvals: approvals.count + 1, of: quorum)
    }

    /// The request a memo holds; memos written before requests existed (and `approval` steps,
    /// and promotions) hold only `roles`.
    init(memo: [String: JSONValue]) {
        let request = memo["request"] ?? .null
        func strings(_ value: JSONValue?) -> [String]? {
            guard case let .array(items)? = value else { return nil }
            return items.compactMap(\.stringValue)
        }
        func date(_ value: JSONValue?) -> Date? { value?.stringValue.flatMap { ISO8601DateFormatter.precise.date(from: $0) } }
        roles = strings(request["roles"]) ?? strings(memo["roles"]) ?? ["approver"]
        quorum = max(1, request["quorum"]?.intValue ?? 1)
        allowSelfApproval = request["allow_self_approval"] == .bool(true)
        timeoutAt = date(request["timeout_at"])
        onTimeout = request["on_timeout"]?.stringValue.flatMap(ApprovalGate.TimeoutAction.init(rawValue:)) ?? .reject
        if case let .array(votes)? = request["approvals"] {
            approvals = votes.compactMap { vote in
                guard let by = vote["by"]?.stringValue, let at = date(vote["at"]) else { return nil }
                return Vote(by: by, reason: vote["reason"]?.stringValue ?? "", at: at)
            }
        }
    }

    /// A request for `gate`, asked at `now`.
    init(gate: ApprovalGate, now: Date) {
        roles = gate.roles
        quorum = gate.quorum
        allowSelfApproval = gate.allowSelfApproval
        timeoutAt = gate.timeout.map { now.addingTimeInterval($0.seconds) }
        onTimeout = gate.onTimeout
    }

    /// The memo value for this request.
    var memoValue: JSONValue {
        let formatter = ISO8601DateFormatter.precise
        return .object([
            "roles": .array(roles.map(JSONValue.string)), "quorum": .number(Double(quorum)), "allow_self_approval": .bool(allowSelfApproval),
            "timeout_at": timeoutAt.map { .string(formatter.string(from: $0)) } ?? .null, "on_timeout": .string(onTimeout.rawValue),
            "approvals": .array(approvals.map { .object(["by": .string($0.by), "reason": .string($0.reason), "at": .string(formatter.string(from: $0.at))]) }),
        ])
    }
}

extension ApprovalGate {
    /// The memo of a step waiting at this gate from `now`: who may decide, how many, until when.
    public func waitingMemo(askedAt now: Date) -> [String: JSONValue] {
        ["roles": .array(roles.map(JSONValue.string)), "gate": .bool(true), "request": ApprovalRequest(gate: self, now: now).memoValue]
    }
}

extension ApprovalRequest {
    /// When the approval a step's memo asks for times out, if it does.
    static func timeout(inMemo memo: [String: JSONValue]) -> Date? {
        ApprovalRequest(memo: memo).timeoutAt
    }
}
