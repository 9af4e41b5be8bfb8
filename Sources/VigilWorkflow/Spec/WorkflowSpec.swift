/// A retrain workflow as declared in a YAML file under `workflows/`, decoded and validated.
///
/// ```yaml
/// name: churn-retrain
/// model: churn
/// schedule: { cron: "@hourly", timezone: UTC }
/// steps:
///   monitor: { uses: monitor }
///   evaluate: { uses: evaluate, needs: [monitor] }
/// ```
public struct WorkflowSpec: Sendable, Hashable, Codable {
    public var name: String
    public var description: String?
    /// The model this workflow looks after.
    public var model: String?
    /// Whether the model's metrics, alerts and versions are sensitive: over the API, only tokens
    /// granted the model (or `*`) see them. Optional, so specs stored before it existed decode.
    public var sensitive: Bool?
    public var schedule: Schedule?
    public var triggers: [Trigger]
    public var concurrency: Concurrency?
    public var defaults: StepDefaults
    public var parameters: [ParameterSpec]
    /// The monitored data: where inferences are, and what their columns mean.
    public var data: MonitoredData?
    /// Steps in file order.
    public var steps: [StepSpec]

    public func step(named name: String) -> StepSpec? {
        steps.first { $0.name == name }
    }
}

/// When a workflow runs on its own.
public struct Schedule: Sendable, Hashable, Codable {
    public var cron: CronExpression
    /// An IANA time zone name such as `UTC` or `Europe/Paris`.
    public var timezone: String
    /// What to do with ticks missed while no scheduler ran.
    public var catchUp: CatchUp

    public enum CatchUp: String, Sendable, Hashable, Codable, CaseIterable {
        /// Run only the latest missed tick.
        case skip
        /// Run every missed tick, oldest first.
        case all
    }
}

/// An event that starts a run.
public struct Trigger: Sendable, Hashable, Codable {
    public enum Kind: String, Sendable, Hashable, Codable, CaseIterable {
        /// An alert whose name and labels match.
        case alert
        /// A person, through `vigil run` or the API.
        case manual
        /// An HTTP call to the workflow's webhook.
        case webhook
        /// A named event, through `vigil trigger` or the API.
        case event
    }

    public var kind: Kind
    /// The alert, webhook or event name to match; `nil` matches any.
    public var name: String?
    /// Labels the alert or event must carry, each with this exact value.
    public var labels: [String: String]
}

/// What happens when a run starts while another with the same key is going.
public struct Concurrency: Sendable, Hashable, Codable {
    public enum Policy: String, Sendable, Hashable, Codable, CaseIterable {
        /// Wait for the running run to end, then start.
        case queue
        /// Do not start the new run.
        case skip
        /// Cancel the running run and start the new one.
        case cancel
    }

    /// The key runs are grouped by; may use `${{ params.… }}` and `${{ trigger.… }}`.
    public var key: String
    public var policy: Policy
}

/// Retry and timeout settings that apply to every step that does not set its own.
public struct StepDefaults: Sendable, Hashable, Codable {
    public var retry: RetryPolicy?
    public var timeout: WorkflowDuration?

    public init(retry: RetryPolicy? = nil, timeout: WorkflowDuration? = nil) {
        self.retry = retry
        self.timeout = timeout
    }
}

/// How a failed step is tried again: up to `maximumAttempts` attempts in all, waiting an
/// exponentially growing, jittered delay between `initialDelay` and `maximumDelay`.
public struct RetryPolicy: Sendable, Hashable, Codable {
    /// The fewest attempts a step may start before losing its worker fails it: a step that kills
    /// its worker every time fails after this many, instead of being re-claimed forever.
    ///
    /// It is a floor, not only a default: a lease can also lapse on a worker that is alive but
    /// starved (a long garbage pause, a saturated host), and one such lapse should not fail a
    /// step whose `retry` allows a single attempt.
    public static let defaultLeaseLosses = 3

    /// The attempts a step may start before losing its worker fails it: `policy`'s `max_attempts`
    /// (lease expiry counts like any other way an attempt ends), and never fewer than ``defaultLeaseLosses``.
    public static func attemptsBeforeWorkerLossFails(_ policy: RetryPolicy?) -> Int {
        max(policy?.maximumAttempts ?? 0, defaultLeaseLosses)
    }

    public var maximumAttempts: Int
    public var initialDelay: WorkflowDuration
    public var maximumDelay: WorkflowDuration
    public var multiplier: Double

    public init(maximumAttempts: Int = 1, initialDelay: WorkflowDuration = .init(seconds: 1),
                maximumDelay: WorkflowDuration = .init(seconds: 300), multiplier: Double = 2) {
        self.maximumAttempts = maximumAttempts
        self.initialDelay = initialDelay
        self.maximumDelay = maximumDelay
        self.multiplier = multiplier
    }
}

/// A workflow parameter: `vigil run W --param name=value` sets it.
public struct ParameterSpec: Sendable, Hashable, Codable {
    public var name: String
    public var type: ParameterType
    public var defaultValue: JSONValue?
    public var description: String?
    public var allowed: [JSONValue]?
    public var minimum: Double?
    public var maximum: Double?
}

/// One step of a workflow.
public struct StepSpec: Sendable, Hashable, Codable {
    public var name: String
    /// The step type (`monitor`, `retrain`, `command`, …).
    public var uses: String
    public var needs: [String]
    /// The `if:` condition's source; the step runs only when it is true.
    public var condition: String?
    /// The step type's parameters; strings may hold `${{ … }}` expressions.
    public var with: [String: JSONValue]
    public var retry: RetryPolicy?
    public var timeout: WorkflowDuration?
    public var onFailure: FailurePolicy
    public var approval: ApprovalGate?
    /// Where the step is declared, for messages.
    public var location: SourceLocation

    /// What a failed step does to its run.
    public enum FailurePolicy: String, Sendable, Hashable, Codable, CaseIterable {
        /// The run fails; dependents that do not ask for `failure()` or `always()` are skipped.
        case fail
        /// The step counts as failed but the run goes on as if it had succeeded.
        case `continue`
    }
}

/// A human gate before a step runs.
public struct ApprovalGate: Sendable, Hashable, Codable {
    /// What happens when nobody decides within the gate's `timeout`.
    public enum TimeoutAction: String, Sendable, Hashable, Codable, CaseIterable {
        /// The gate is rejected: the step fails, and the run with it unless it continues on failure.
        case reject
        /// The gate is approved, as if by the quorum.
        case approve
        /// The step fails with "approval timed out", distinct from a person's rejection.
        case fail
    }

    /// Roles whose holders may approve (or reject).
    public var roles: [String]
    /// How long to wait for a decision; `nil` waits for ever.
    public var timeout: WorkflowDuration?
    /// Distinct approvers needed (`quorum`, default 1); one rejection decides.
    public var quorum: Int
    /// Whether the principal who started the run may approve it (`allow_self_approval`, default false).
    public var allowSelfApproval: Bool
    /// What a timeout does (`on_timeout`, default reject).
    public var onTimeout: TimeoutAction

    /// The roles Vigil knows.
    public static let knownRoles = ["viewer", "auditor", "operator", "approver", "admin"]

    public init(roles: [String], timeout: WorkflowDuration? = nil, quorum: Int = 1, allowSelfApproval: Bool = false, onTimeout: TimeoutAction = .reject) {
        self.roles = roles
        self.timeout = timeout
        self.quorum = quorum
        self.allowSelfApproval = allowSelfApproval
        self.onTimeout = onTimeout
    }

    // Versions stored before quorum, self-approval and on_timeout existed decode with their defaults.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        self.init(
            roles: try container.decode([String].self, forKey: .roles),
            timeout: try container.decodeIfPresent(WorkflowDuration.self, forKey: .timeout),
            quorum: try container.decodeIfPresent(Int.self, forKey: .quorum) ?? 1,
            allowSelfApproval: try container.decodeIfPresent(Bool.self, forKey: .allowSelfApproval) ?? false,
            onTimeout: try container.decodeIfPresent(TimeoutAction.self, forKey: .onTimeout) ?? .reject
        )
    }
}
