import Foundation
import VigilStatistics
import VigilStore
import VigilWorkflow

/// A churn model's traffic, seeded and deterministic: the features a request carries and whether
/// that customer really churned, under a scenario.
///
/// Features: `order_amount`, `order_count`, `tenure_months`, `support_tickets`, `discount_rate`,
/// `plan` (basic, pro, team), `region` (eu, us, apac). The truth is a logistic function of them;
/// the scenarios change the data or that function from `onset` on:
///
/// | scenario | from `onset` |
/// | --- | --- |
/// | `none` | nothing changes |
/// | `seasonal` | discount rates rise (data drift in one feature), churn follows the same rule |
/// | `concept` | churn follows a different rule: support tickets and region, no longer tenure |
/// | `gradual` | the rule moves from the old to the new over `ramp` |
/// | `bad-challenger` | as `concept`, but whichever version serves as canary fails one request in ten |
/// | `covariate-delayed` | customers move towards the decision boundary (tenure 6–30 months, 2–11 orders): churn follows the same rule, but the model is less sure and less often right (accuracy about 0.92 → 0.79, ROC AUC 0.96 → 0.87); labels come two weeks late (see ``ClosedLoop/Configuration/delayedLabels()``) |
public struct ChurnTraffic: Sendable {
    public enum Scenario: String, Sendable, CaseIterable {
        case none, seasonal, concept, gradual
        case badChallenger = "bad-challenger"
        case covariateDelayed = "covariate-delayed"
    }

    public let scenario: Scenario
    public let onset: Date
    public let ramp: TimeInterval
    public let seed: UInt64

    public init(scenario: Scenario, onset: Date, ramp: TimeInterval = 24 * 3_600, seed: UInt64) {
        self.scenario = scenario
        self.onset = onset
        self.ramp = ramp
        self.seed = seed
    }

    /// One customer's request at `time`, drawn from `generator`.
    public func request(at time: Date, using generator: inout SeededGenerator) -> (features: [String: JSONValue], churned: Bool) {
        let after = time >= onset
        let plan = ["basic", "pro", "team"][Self.pick([0.5, 0.35, 0.15], generator.uniform())]
        let region = ["eu", "us", "apac"][Self.pick([0.4, 0.4, 0.2], generator.uniform())]
        let towardsBoundary = scenario == .covariateDelayed && after
        let tenure = towardsBoundary ? (6 + generator.uniform() * 24).rounded(.down) : (generator.uniform() * 72).rounded(.down)
        let tickets = (-log(max(generator.uniform(), 1e-12)) * 1.5).rounded(.down)
        let orders = towardsBoundary ? (2 + generator.uniform() * 10).rounded(.down) : (generator.uniform() * 20).rounded(.down)
        let amount = exp(generator.normal(mean: 3.5, deviation: 0.6))
        var discount = min(0.6, max(0, generator.normal(mean: 0.1, deviation: 0.05)))
        if scenario == .seasonal && after { discount = min(0.9, discount + 0.2) }
        let features: [String: JSONValue] = [
            "order_amount": .number((amount * 100).rounded() / 100), "order_count": .number(orders), "tenure_months": .number(tenure),
            "support_tickets": .number(tickets), "discount_rate": .number((discount * 1_000).rounded() / 1_000),
            "plan": .string(plan), "region": .string(region),
        ]
        // The old rule: short tenure, few orders and the basic plan churn.
        let old = 1.2 - 0.06 * tenure - 0.12 * orders + (plan == "basic" ? 0.8 : 0) + 2 * discount
        // The new rule: support tickets and the apac region churn; tenure no longer protects. Its
        // coefficients make it as hard to learn as the old one (F1 of a refit logistic regression
        // about 0.78 for both, measured with scikit-learn on 40,000 rows each).
        let new = -1.6 + 0.65 * tickets + (region == "apac" ? 1.2 : 0)
        let weight: Double = switch scenario {
        case .concept, .badChallenger: after ? 1 : 0
        case .gradual: after ? min(1, time.timeIntervalSince(onset) / ramp) : 0
        case .none, .seasonal, .covariateDelayed: 0
        }
        let logit = (1 - weight) * old + weight * new
        let probability = 1 / (1 + exp(-3 * logit))
        return (features, generator.uniform() < probability)
    }

    /// The drift episode this scenario is, as ground truth for reports; `nil` when nothing drifts.
    public func episode(model: String) -> DriftEpisode? {
        let kind: DriftEpisode.Kind? = switch scenario {
        case .none: nil
        case .seasonal, .covariateDelayed: .data
        case .concept, .badChallenger: .concept
        case .gradual: .gradual
        }
        return kind.map {
            DriftEpisode(model: model, kind: $0, startedAt: onset, source: "simulator:\(scenario.rawValue)", note: Self.notes[scenario])
        }
    }

    static let notes: [Scenario: String] = [
        .seasonal: "discount rates rise by 0.2; churn follows the same rule",
        .concept: "churn now follows support tickets and region instead of tenure, orders and plan",
        .gradual: "churn moves from the old rule to the new one over the ramp",
        .badChallenger: "churn now follows support tickets and region; the canary fails one request in ten",
        .covariateDelayed: "customers move towards the decision boundary (shorter tenure, fewer orders); churn follows the same rule; labels arrive two weeks late",
    ]

    static func pick(_ shares: [Double], _ u: Double) -> Int {
        var total = 0.0
        for (index, share) in shares.enumerated() {
            total += share
            if u < total { return index }
        }
        return shares.count - 1
    }

    /// The features the churn workflow declares, in the order of its `data.features`.
    public static let featureNames = ["order_amount", "order_count", "tenure_months", "support_tickets", "discount_rate", "plan", "region"]
}
