import Foundation
import Logging
import PostgresNIO
import VigilWorkflow

/// The model registry in PostgreSQL: versions, aliases, routing and the changelog.
///
/// Every change to an alias is written to the model's changelog in the same transaction, with
/// who, why and the run that caused it; the changelog is append-only.
public struct ModelRegistry: Sendable {
    public let database: Database

    public init(database: Database) {
        self.database = database
    }

    static let versionColumns = """
        model, version, artifact_uri, checksum, framework, training_start, training_end, training_rows, parameters::text AS parameters,
        metrics::text AS metrics, parent_version, run_id, step, archived, created_at, created_by
        """

    static func version(from row: PostgresRow) throws -> ModelVersion {
        let cells = row.makeRandomAccess()
        return ModelVersion(
            model: try cells["model"].decode(String.self), version: try cells["version"].decode(Int.self),
            artifactURI: try cells["artifact_uri"].decode(String.self), checksum: try cells["checksum"].decode(String?.self),
            framework: try cells["framework"].decode(String.self), trainingStart: try cells["training_start"].decode(Date?.self),
            trainingEnd: try cells["training_end"].decode(Date?.self), trainingRows: try cells["training_rows"].decode(Int?.self),
            parameters: try JSONText.decode([String: JSONValue].self, from: cells["parameters"].decode(String.self)),
            metrics: try JSONText.decode([String: JSONValue].self, from: cells["metrics"].decode(String.self)),
            parentVersion: try cells["parent_version"].decode(Int?.self), runID: try cells["run_id"].decode(Int?.self),
            step: try cells["step"].decode(String?.self), archived: try cells["archived"].decode(Bool.self),
            createdAt: try cells["created_at"].decode(Date.self), createdBy: try cells["created_by"].decode(String.self)
        )
    }

    // MARK: Reading

    /// Every model with its routing, by name.
    public func models() async throws -> [ModelRouting] {
        try await routing(model: nil)
    }

    /// What the serving layer routes for `model`.
    ///
    /// - Throws: ``StoreError`` `notFound` for a model never registered.
    public func routing(of model: String) async throws -> ModelRouting {
        guard let routing = try await routing(model: model).first else { throw Self.unknown(model) }
        return routing
    }

    private func routing(model: String?) async throws -> [ModelRouting] {
        let rows = try await database.client.query("""
            SELECT model, champion_version, canary_version, canary_weight, shadow_version, updated_at FROM model_routing
            WHERE \(model)::text IS NULL OR model = \(model) ORDER BY model
            """, logger: database.logger)
        var routings: [ModelRouting] = []
        for try await (name, champion, canary, weight, shadow, updated) in rows.decode((String, Int?, Int?, Double, Int?, Date?).self) {
            routings.append(ModelRouting(model: name, championVersion: champion, canaryVersion: canary, canaryWeight: weight, shadowVersion: shadow, updatedAt: updated))
        }
        return routings
    }

    /// A model's versions, oldest first.
    public func versions(of model: String) async throws -> [ModelVersion] {
        let rows = try await database.client.query(PostgresQuery(
            unsafeSQL: "SELECT \(Self.versionColumns) FROM model_versions WHERE model = $1 ORDER BY version", binds: try PostgresBindings(values: model)
        ), logger: database.logger)
        var versions: [ModelVersion] = []
        for try await row in rows { versions.append(try Self.version(from: row)) }
        return versions
    }

    /// One version.
    ///
    /// - Throws: ``StoreError`` `notFound`.
    public func version(_ version: Int, of model: String) async throws -> ModelVersion {
        let rows = try await database.client.query(PostgresQuery(
            unsafeSQL: "SELECT \(Self.versionColumns) FROM model_versions WHERE model = $1 AND version = $2", binds: try PostgresBindings(values: model, version)
        ), logger: database.logger)
        for try await row in rows { return try Self.version(from: row) }
        throw StoreError(.notFound, "model \(model) has no version \(version); `vigil models versions \(model)` lists them")
    }

    /// The version a step attempt with this idempotency key registered, if one did.
    public func version(idempotencyKey key: String) async throws -> ModelVersion? {
        try await database.client.withConnection { try await Self.version(idempotencyKey: key, on: $0, logger: database.logger) }
    }

    static func version(idempotencyKey key: String, on connection: PostgresConnection, logger: Logger) async throws -> ModelVersion? {
        let rows = try await connection.query(PostgresQuery(
            unsafeSQL: "SELECT \(versionColumns) FROM model_versions WHERE idempotency_key = $1", binds: try PostgresBindings(values: key)
        ), logger: logger)
        for try await row in rows { return try version(from: row) }
        return nil
    }

    /// A model's aliases.
    public func aliases(of model: String) async throws -> [ModelAlias] {
        let rows = try await database.client.query("""
            SELECT model, alias, version, weight, updated_at, updated_by FROM model_aliases WHERE model = \(model) ORDER BY alias
            """, logger: database.logger)
        var aliases: [ModelAlias] = []
        for try await (model, alias, version, weight, at, by) in rows.decode((String, String, Int, Double?, Date, String).self) {
            aliases.append(ModelAlias(model: model, alias: alias, version: version, weight: weight, updatedAt: at, updatedBy: by))
        }
        return aliases
    }

    /// When a different version last took all of `model`'s traffic: its latest full promotion or
    /// rollback of the champion; `nil` when the champion never changed that way.
    public func championChanged(of model: String) async throws -> Date? {
        let rows = try await database.client.query("""
            SELECT max(at) FROM model_changelog WHERE model = \(model) AND alias = 'champion' AND action IN ('promoted', 'rolled_back')
            """, logger: database.logger)
        return try await rows.collect().first?.decode(Date?.self)
    }

    /// The version that was champion at `date`, from the changelog (every champion change is
    /// logged); before the first champion, the first one. `nil` when the model had none then.
    public func champion(of model: String, at date: Date) async throws -> ModelVersion? {
        let rows = try await database.client.query(PostgresQuery(unsafeSQL: """
            SELECT \(Self.versionColumns) FROM model_versions WHERE model = $1 AND version = (coalesce(
                (SELECT array[version] FROM model_changelog WHERE model = $1 AND alias = 'champion' AND at <= $2 ORDER BY at DESC, id DESC LIMIT 1),
                (SELECT array[version] FROM model_changelog WHERE model = $1 AND alias = 'champion' AND version IS NOT NULL ORDER BY at, id LIMIT 1)
            ))[1]
            """, binds: try PostgresBindings(values: model, date)), logger: database.logger)
        for try await row in rows { return try Self.version(from: row) }
        return nil
    }

    /// The version an alias points at, if it is set.
    public func version(aliased alias: String, of model: String) async throws -> Int? {
        try await aliases(of: model).first { $0.alias == alias }?.version
    }

    /// A model's changelog, oldest first.
    public func changelog(of model: String) async throws -> [ChangelogEntry] {
        let rows = try await database.client.query("""
            SELECT id, model, at, actor, action, version, alias, from_version, reason, run_id, details::text FROM model_changelog
            WHERE model = \(model) ORDER BY id
            """, logger: database.logger)
        var entries: [ChangelogEntry] = []
        for try await (id, model, at, actor, action, version, alias, from, reason, run, details)
            in rows.decode((Int, String, Date, String, String, Int?, String?, Int?, String?, Int?, String).self) {
            entries.append(ChangelogEntry(id: id, model: model, at: at, actor: actor, action: action, version: version, alias: alias, fromVersion: from,
                                          reason: reason, runID: run, details: try JSONText.decode([String: JSONValue].self, from: details)))
        }
        return entries
    }

    // MARK: Changing

    /// Registers a new version (creating the model on first use), optionally pointing `alias` at it.
    ///
    /// - Returns: the version; a second registration with the same idempotency key returns the first.
    @discardableResult
    public func register(
        _ new: NewModelVersion, of model: String, alias: String? = nil, actor: String, reason: String? = nil, now: Date
    ) async throws -> ModelVersion {
        try Self.checkName(model)
        return try await database.transaction { connection in
            if let key = new.idempotencyKey, let existing = try await Self.version(idempotencyKey: key, on: connection, logger: database.logger) {
                return existing
            }
            try await connection.query("""
                INSERT INTO models (name, created_at, created_by) VALUES (\(model), \(now), \(actor)) ON CONFLICT (name) DO NOTHING
                """, logger: database.logger)
            // One registration per model at a time, so version numbers have no gaps or races.
            try await connection.query("SELECT name FROM models WHERE name = \(model) FOR UPDATE", logger: database.logger)
            var next = 1
            for try await last in try await connection.query(
                "SELECT coalesce(max(version), 0)::int8 FROM model_versions WHERE model = \(model)", logger: database.logger
            ).decode(Int.self) { next = last + 1 }
            var bindings = PostgresBindings()
            bindings.append(model)
            bindings.append(next)
            bindings.append(new.artifactURI)
            bindings.append(new.checksum)
            bindings.append(new.framework)
            bindings.append(new.trainingStart)
            bindings.append(new.trainingEnd)
            bindings.append(new.trainingRows)
            bindings.append(try JSONText.encode(new.parameters))
            bindings.append(try JSONText.encode(new.metrics))
            bindings.append(new.parentVersion)
            bindings.append(new.runID)
            bindings.append(new.step)
            bindings.append(new.idempotencyKey)
            bindings.append(now)
            bindings.append(actor)
            let rows = try await connection.query(PostgresQuery(unsafeSQL: """
                INSERT INTO model_versions (model, version, artifact_uri, checksum, framework, training_start, training_end, training_rows,
                    parameters, metrics, parent_version, run_id, step, idempotency_key, created_at, created_by)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10::jsonb, $11, $12, $13, $14, $15, $16)
                RETURNING \(Self.versionColumns)
                """, binds: bindings), logger: database.logger)
            var registered: ModelVersion?
            for try await row in rows { registered = try Self.version(from: row) }
            guard let registered else { throw StoreError(.query, "the version was not stored") }
            let change = ModelChange(connection: connection, logger: database.logger, model: model, actor: actor, now: now)
            try await change.log("registered", version: next, reason: reason ?? "trained on \(new.trainingRows.map { "\($0) rows" } ?? "data") with \(new.framework)",
                                 runID: new.runID, details: ["artifact_uri": .string(new.artifactURI), "parent_version": new.parentVersion.map { .number(Double($0)) } ?? .null])
            if let alias { try await change.point(alias, at: next, weight: nil, action: "alias_moved", reason: reason, runID: new.runID) }
            return registered
        }
    }

    /// Points `alias` at `version` by hand (or clears it with `version` nil), recorded in the changelog.
    public func moveAlias(_ alias: String, of model: String, to version: Int?, actor: String, reason: String, runID: Int? = nil, now: Date) async throws {
        try await database.transaction { connection in
            let change = ModelChange(connection: connection, logger: database.logger, model: model, actor: actor, now: now)
            try await change.requireModel()
            if let version {
                try await change.requireVersion(version)
                try await change.point(alias, at: version, weight: nil, action: "alias_moved", reason: reason, runID: runID)
            } else {
                try await change.remove(alias, action: "alias_moved", reason: reason, runID: runID)
            }
        }
    }

    /// Puts the previous champion back (the `previous` alias), ends any promotion in progress,
    /// and records why.
    ///
    /// - Throws: ``StoreError`` `conflict` when there is no previous champion.
    public func rollback(_ model: String, actor: String, reason: String, runID: Int? = nil, now: Date) async throws -> Int {
        try await database.transaction { connection in
            let change = ModelChange(connection: connection, logger: database.logger, model: model, actor: actor, now: now)
            try await change.requireModel()
            let aliases = try await change.lockedAliases()
            let active = try await change.activePromotion()
            if let active {
                try await change.endPromotion(active, state: .rolledBack, reason: reason)
                try await change.remove("canary", action: "rolled_back", reason: reason, runID: runID, logged: false)
                try await change.log("rolled_back", version: active.version, alias: "canary", reason: reason, runID: runID)
                return aliases["champion"] ?? active.version
            }
            guard let previous = aliases["previous"], let champion = aliases["champion"] else {
                throw StoreError(.conflict, "model \(model) has no previous champion to roll back to")
            }
            try await change.point("champion", at: previous, weight: nil, action: "rolled_back", reason: reason, runID: runID)
            try await change.point("previous", at: champion, weight: nil, action: "alias_moved", reason: reason, runID: runID, logged: false)
            return previous
        }
    }

    /// Archives a version no alias points at: it stays in the registry and its history, but is
    /// marked as retired.
    ///
    /// - Throws: ``StoreError`` `conflict` while an alias points at it.
    public func archive(_ version: Int, of model: String, actor: String, reason: String, now: Date) async throws {
        try await database.transaction { connection in
            let change = ModelChange(connection: connection, logger: database.logger, model: model, actor: actor, now: now)
            try await change.requireModel()
            try await change.requireVersion(version)
            if let alias = try await change.lockedAliases().first(where: { $0.value == version })?.key {
                throw StoreError(.conflict, "version \(version) of \(model) is the \(alias); move the alias before archiving it")
            }
            try await connection.query("UPDATE model_versions SET archived = true WHERE model = \(model) AND version = \(version)", logger: database.logger)
            try await change.log("archived", version: version, reason: reason)
        }
    }

    /// Appends an entry to a model's changelog (for example `shadow_started`).
    public func log(_ action: String, model: String, version: Int?, reason: String, runID: Int?, actor: String, now: Date) async throws {
        try await database.transaction { connection in
            let change = ModelChange(connection: connection, logger: database.logger, model: model, actor: actor, now: now)
            try await change.requireModel()
            try await change.log(action, version: version, reason: reason, runID: runID)
        }
    }

    static func checkName(_ model: String) throws(StoreError) {
        guard !model.isEmpty, model.count <= 100, model.allSatisfy({ $0.isLetter || $0.isNumber || "-_.".contains($0) }) else {
            throw StoreError(.conflict, "'\(model)' is not a model name (letters, digits, '-', '_' and '.', up to 100)")
        }
    }

    static func unknown(_ model: String) -> StoreError {
        StoreError(.notFound, "no model '\(model)'; `vigil models list` shows them")
    }
}
