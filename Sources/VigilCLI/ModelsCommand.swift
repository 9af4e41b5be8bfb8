import ArgumentParser
import Foundation
import VigilEngine
import VigilStore
import VigilWorkflow

/// `vigil models`: the registry, what serves traffic, and why it changed.
struct ModelsCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "models",
        abstract: "The model registry: versions, aliases, routing, the changelog; register, move aliases, roll back.",
        subcommands: [List.self, Show.self, Versions.self, Changelog.self, Routing.self, Register.self, Alias.self, Rollback.self, Archive.self]
    )

    struct List: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List models with what they route.")
        @OptionGroup var global: GlobalOptions

        func run() async throws {
            let models = try await global.withDatabase(logger: global.makeLogger()) { try await ModelRegistry(database: $0).models() }
            var table = TextTable(["model", "champion", "canary", "canary_weight", "shadow"])
            for model in models {
                table.append([model.model, model.championVersion.map(String.init) ?? "", model.canaryVersion.map(String.init) ?? "",
                              model.canaryVersion == nil ? "" : String(format: "%.0f%%", model.canaryWeight * 100), model.shadowVersion.map(String.init) ?? ""])
            }
            print(table.rendered, terminator: "")
        }
    }

    struct Show: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show a model: aliases, routing, and its latest changes.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The model.") var model: String

        func run() async throws {
            try await global.withDatabase(logger: global.makeLogger()) { database in
                let registry = ModelRegistry(database: database)
                let routing = try await registry.routing(of: model)
                print("model \(model): champion \(routing.championVersion.map(String.init) ?? "none")"
                      + (routing.canaryVersion.map { ", canary \($0) at \(String(format: "%.0f", routing.canaryWeight * 100))%" } ?? "")
                      + (routing.shadowVersion.map { ", challenger \($0) in shadow" } ?? ""))
                var aliases = TextTable(["alias", "version", "weight", "updated_at", "by"])
                for alias in try await registry.aliases(of: model) {
                    aliases.append([alias.alias, String(alias.version), alias.weight.map { String($0) } ?? "", ISO8601DateFormatter().string(from: alias.updatedAt), alias.updatedBy])
                }
                print("\naliases:")
                print(aliases.rendered, terminator: "")
                print("\nlatest changes:")
                print(Changelog.table(Array(try await registry.changelog(of: model).suffix(10))).rendered, terminator: "")
            }
        }
    }

    struct Versions: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List a model's versions with their lineage and offline metrics.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The model.") var model: String
        @Option(help: "table or json.") var format: ReportFormat = .table

        func run() async throws {
            let versions = try await global.withDatabase(logger: global.makeLogger()) { try await ModelRegistry(database: $0).versions(of: model) }
            let formatter = ISO8601DateFormatter()
            if format == .json {
                let rows: [JSONValue] = versions.map { version in
                    .object([
                        "version": .number(Double(version.version)), "artifact_uri": .string(version.artifactURI), "checksum": version.checksum.map(JSONValue.string) ?? .null,
                        "framework": .string(version.framework), "parent_version": version.parentVersion.map { .number(Double($0)) } ?? .null,
                        "run_id": version.runID.map { .number(Double($0)) } ?? .null, "metrics": .object(version.metrics), "parameters": .object(version.parameters),
                        "training_start": version.trainingStart.map { .string(formatter.string(from: $0)) } ?? .null,
                        "training_end": version.trainingEnd.map { .string(formatter.string(from: $0)) } ?? .null,
                        "created_at": .string(formatter.string(from: version.createdAt)), "created_by": .string(version.createdBy),
                    ])
                }
                print(try JSONOutput.encode(rows))
                return
            }
            var table = TextTable(["version", "framework", "parent", "run", "trained_on", "metrics", "created_at", "artifact"])
            for version in versions {
                let window = version.trainingStart.map { start in "\(formatter.string(from: start))…\(version.trainingEnd.map(formatter.string(from:)) ?? "")" } ?? ""
                let metrics = version.metrics.keys.sorted().map { "\($0)=\(version.metrics[$0]!)" }.joined(separator: " ")
                table.append([String(version.version), version.framework, version.parentVersion.map(String.init) ?? "", version.runID.map(String.init) ?? "",
                              window, metrics, formatter.string(from: version.createdAt), version.artifactURI])
            }
            print(table.rendered, terminator: "")
        }
    }

    struct Changelog: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Every change to what serves the model, oldest first, with who, why and the run that caused it.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The model.") var model: String

        func run() async throws {
            let entries = try await global.withDatabase(logger: global.makeLogger()) { database in
                _ = try await ModelRegistry(database: database).routing(of: model)
                return try await ModelRegistry(database: database).changelog(of: model)
            }
            print(Self.table(entries).rendered, terminator: "")
        }

        static func table(_ entries: [ChangelogEntry]) -> TextTable {
            var table = TextTable(["at", "action", "version", "alias", "from", "run", "actor", "reason"])
            for entry in entries {
                table.append([ISO8601DateFormatter().string(from: entry.at), entry.action, entry.version.map(String.init) ?? "", entry.alias ?? "",
                              entry.fromVersion.map(String.init) ?? "", entry.runID.map(String.init) ?? "", entry.actor, entry.reason ?? ""])
            }
            return table
        }
    }

    struct Routing: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "What the serving layer should route for the model (also the view `model_routing`).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The model.") var model: String
        @Option(help: "table or json.") var format: ReportFormat = .table

        func run() async throws {
            let routing = try await global.withDatabase(logger: global.makeLogger()) { try await ModelRegistry(database: $0).routing(of: model) }
            if format == .json {
                print(try JSONOutput.encode(routing))
                return
            }
            print("champion \(routing.championVersion.map(String.init) ?? "none"), canary \(routing.canaryVersion.map(String.init) ?? "none") at \(String(format: "%.0f", routing.canaryWeight * 100))%, shadow \(routing.shadowVersion.map(String.init) ?? "none")")
        }
    }

    struct Register: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register a version trained elsewhere.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The model.") var model: String
        @Option(help: "Where the artifact is (a URI or a path).") var artifact: String?
        @Option(help: "An MLflow model version instead of an artifact: models:/NAME/VERSION or models:/NAME@ALIAS (needs MLFLOW_TRACKING_URI).")
        var mlflowUri: String?
        @Option(help: "The framework that made it.") var framework = "external"
        @Option(help: "The artifact's SHA-256 (computed for a local file when omitted).") var checksum: String?
        @Option(help: "The version it was derived from.") var parent: Int?
        @Option(help: "Offline metrics as a JSON object.") var metrics: String?
        @Option(help: "Point this alias at the new version (for example champion).") var alias: String?
        @Option(help: "Why (recorded).") var reason: String?

        func validate() throws {
            guard (artifact == nil) != (mlflowUri == nil) else { throw ValidationError("give --artifact or --mlflow-uri (one of them)") }
        }

        func run() async throws {
            var uri = artifact ?? "", sum = checksum, framework = framework, parameters: [String: JSONValue] = [:]
            if let mlflowUri {
                guard let mlflow = try MLflowCommands.registry() else {
                    throw CommandFailure("--mlflow-uri needs MLFLOW_TRACKING_URI (the MLflow tracking server, such as http://127.0.0.1:5000)")
                }
                let found: MLflowRegistry.Version
                do { found = try await mlflow.resolve(mlflowUri) } catch let error as MLflowError { throw CommandFailure(error.description) }
                uri = "models:/\(found.name)/\(found.version)"
                framework = framework == "external" ? "mlflow" : framework
                parameters["mlflow"] = found.parameters
            } else if let artifact, !artifact.contains("://") {
                let file = URL(fileURLWithPath: artifact)
                guard let bytes = FileManager.default.contents(atPath: file.path) else { throw CommandFailure("cannot read the artifact \(artifact)") }
                uri = file.absoluteString
                sum = sum ?? bytes.sha256Hex
            }
            var recorded: [String: JSONValue] = [:]
            if let metrics {
                guard case let .object(values)? = try? JSONDecoder().decode(JSONValue.self, from: Data(metrics.utf8)) else {
                    throw ValidationError("--metrics must be a JSON object, such as '{\"f1\": 0.8}'")
                }
                recorded = values
            }
            let version = try await global.withDatabase(logger: global.makeLogger()) { database in
                let version = try await ModelRegistry(database: database).register(
                    NewModelVersion(artifactURI: uri, checksum: sum, framework: framework, parameters: parameters, metrics: recorded, parentVersion: parent),
                    of: model, alias: alias, actor: global.actor, reason: reason ?? "registered by hand", now: Date()
                )
                try await MLflowCommands.mirror(model, on: database)
                return version
            }
            print("registered \(model) version \(version.version)" + (alias.map { " as \($0)" } ?? ""))
        }
    }

    struct Alias: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Point an alias at a version by hand (recorded in the changelog).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The model.") var model: String
        @Argument(help: "The alias (champion, challenger, or your own).") var name: String
        @Argument(help: "The version; `none` clears the alias.") var version: String
        @Option(help: "Why (recorded).") var reason: String

        func run() async throws {
            let target: Int?
            if version == "none" { target = nil } else {
                guard let number = Int(version) else { throw ValidationError("the version must be a number or `none`") }
                target = number
            }
            guard name != "canary" else { throw ValidationError("the canary alias belongs to promotions; use the promote step, or `vigil models rollback`") }
            try await global.withDatabase(logger: global.makeLogger()) { database in
                try await ModelRegistry(database: database).moveAlias(name, of: model, to: target, actor: global.actor, reason: reason, now: Date())
                try await MLflowCommands.mirror(model, on: database)
            }
            print("\(model) \(name) → \(target.map(String.init) ?? "none")")
        }
    }

    struct Rollback: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop a canary in progress, or put the previous champion back.")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The model.") var model: String
        @Option(help: "Why (recorded).") var reason: String

        func run() async throws {
            let champion = try await global.withDatabase(logger: global.makeLogger()) { database in
                let champion = try await ModelRegistry(database: database).rollback(model, actor: global.actor, reason: reason, now: Date())
                try await MLflowCommands.mirror(model, on: database)
                return champion
            }
            print("\(model): champion \(champion) serves all traffic")
        }
    }

    struct Archive: AsyncParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Retire a version no alias points at (it stays in the history).")
        @OptionGroup var global: GlobalOptions
        @Argument(help: "The model.") var model: String
        @Argument(help: "The version.") var version: Int
        @Option(help: "Why (recorded).") var reason: String

        func run() async throws {
            try await global.withDatabase(logger: global.makeLogger()) { database in
                try await ModelRegistry(database: database).archive(version, of: model, actor: global.actor, reason: reason, now: Date())
            }
            print("\(model) version \(version) archived")
        }
    }
}

/// MLflow from the CLI: the tracking server named by `MLFLOW_TRACKING_URI`, and the alias mirror
/// run right after a change made by hand (`vigil serve`'s keeper runs it too, and retries).
enum MLflowCommands {
    static func registry() throws -> MLflowRegistry? {
        do {
            return try ChannelDirectory.load().mlflow
        } catch {
            throw CommandFailure("\(error)")
        }
    }

    /// Mirrors `model`'s aliases onto MLflow when a tracking server is configured; a failure is
    /// reported, not fatal: the change is made, and the keeper mirrors it later.
    static func mirror(_ model: String, on database: Database) async throws {
        guard let mlflow = try registry() else { return }
        do {
            for change in try await MLflowMirror(database: database, mlflow: mlflow).sync(model: model) { print("MLflow: \(change)") }
        } catch let error as MLflowError {
            FileHandle.standardError.write(Data("vigil: MLflow aliases not mirrored yet (vigil serve retries): \(error)\n".utf8))
        }
    }
}
