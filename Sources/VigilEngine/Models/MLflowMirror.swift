import Foundation
import VigilStore

/// Makes an MLflow registered model's aliases follow Vigil's decisions: for each alias that
/// decides serving (`champion`, `challenger`, `canary`), the MLflow version behind the Vigil
/// version that holds it, and no such alias where Vigil has none. Only versions registered from
/// MLflow (`vigil models register --mlflow-uri`) are mirrored, onto the registered model they
/// came from. Idempotent: it compares before it writes, so it can run on every keeper pass, after
/// every change, and again after MLflow was down.
public struct MLflowMirror: Sendable {
    /// The aliases mirrored; MLflow's other aliases are the team's own and left alone.
    public static let mirroredAliases = ["champion", "challenger", "canary"]

    let registry: ModelRegistry
    let mlflow: MLflowRegistry

    public init(database: Database, mlflow: MLflowRegistry) {
        registry = ModelRegistry(database: database)
        self.mlflow = mlflow
    }

    /// Brings the aliases of every MLflow registered model `model`'s versions came from in line
    /// with Vigil's; the changes it made, as `name@alias → version` (`nil` for a removal).
    @discardableResult
    public func sync(model: String) async throws -> [String] {
        let versions = try await registry.versions(of: model)
        var origins: [Int: MLflowRegistry.Version] = [:]
        for version in versions {
            if let origin = MLflowRegistry.Version(parameters: version.parameters) { origins[version.version] = origin }
        }
        guard !origins.isEmpty else { return [] }
        let aliases = try await registry.aliases(of: model)
        var changes: [String] = []
        for name in Set(origins.values.map(\.name)).sorted() {
            var wanted: [String: Int] = [:]
            for alias in aliases where Self.mirroredAliases.contains(alias.alias) {
                if let origin = origins[alias.version], origin.name == name { wanted[alias.alias] = origin.version }
            }
            let current = try await mlflow.aliases(of: name)
            for alias in Self.mirroredAliases {
                switch (wanted[alias], current[alias]) {
                case let (version?, existing) where existing != version:
                    try await mlflow.setAlias(alias, of: name, to: version)
                    changes.append("\(name)@\(alias) → \(version)")
                case (nil, _?):
                    try await mlflow.deleteAlias(alias, of: name)
                    changes.append("\(name)@\(alias) removed")
                default:
                    break
                }
            }
        }
        return changes
    }

    /// ``sync(model:)`` for every model with a version registered from MLflow.
    @discardableResult
    public func syncAll() async throws -> [String] {
        var changes: [String] = []
        for routing in try await registry.models() {
            changes += try await sync(model: routing.model)
        }
        return changes
    }
}
