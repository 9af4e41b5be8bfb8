import Logging
import NIOCore
import PostgresNIO

extension Database {
    /// How often the pool's server is checked when several are configured.
    static let failoverCheckInterval: Duration = .seconds(1)
    /// How long a check waits for an answer before the server counts as gone.
    static let failoverCheckTimeout: Duration = .seconds(3)

    /// The server to use: the only one, or the first of several that is a primary (not in
    /// recovery), asked in the configured order.
    ///
    /// - Throws: ``StoreError`` `unreachable`, naming each server and what it answered.
    static func primary(of configuration: DatabaseConfiguration, logger: Logger) async throws(StoreError) -> DatabaseConfiguration.Endpoint {
        let endpoints = configuration.endpoints
        var answers: [String] = []
        var firstError: (any Error)?
        for endpoint in endpoints {
            do {
                var settings = try configuration.at(endpoint).connectionConfiguration()
                // Among several servers a silent one is passed over quickly; the only one is given
                // the pool's own time, as a loaded machine can take seconds to accept a connection.
                if endpoints.count > 1 { settings.options.connectTimeout = .seconds(Int64(failoverCheckTimeout.components.seconds)) }
                let connection = try await PostgresConnection.connect(configuration: settings, id: 0, logger: logger)
                // One server: whatever it is, it is the one to use (a read-only one fails on first write, saying so).
                let isPrimary: Bool
                do {
                    isPrimary = if endpoints.count == 1 { true } else { try await !inRecovery(connection, logger: logger) }
                } catch {
                    try? await connection.close()
                    throw error
                }
                try? await connection.close()
                if isPrimary { return endpoint }
                answers.append("\(endpoint) is a standby")
            } catch let error as StoreError {
                throw error
            } catch {
                guard endpoints.count > 1 else {
                    throw StoreError(.unreachable, "cannot connect to PostgreSQL at \(configuration.url()): \(StoreError.explain(error))", underlying: error)
                }
                firstError = firstError ?? error
                answers.append("\(endpoint): \(StoreError.explain(error))")
            }
        }
        throw StoreError(.unreachable, "no primary among the configured PostgreSQL servers: \(answers.joined(separator: "; "))", underlying: firstError)
    }

    /// Whether the server on `connection` is replaying a primary's changes (a standby).
    private static func inRecovery(_ connection: PostgresConnection, logger: Logger) async throws -> Bool {
        try await connection.query("SELECT pg_is_in_recovery()", logger: logger).decode(Bool.self).first { _ in true } ?? true
    }

    /// Watches the pool's server while several are configured, and when it stops answering or is
    /// no longer the primary, moves to the server that is; returns when cancelled.
    func followFailovers() async {
        while !Task.isCancelled {
            try? await Task.sleep(for: Self.failoverCheckInterval)
            if await isPrimary() { continue }
            guard !Task.isCancelled, let endpoint = try? await Self.primary(of: configuration, logger: logger), endpoint != self.endpoint,
                  let replacement = try? Self.makePool(configuration.at(endpoint), maximumConnections: maximumConnections, logger: logger)
            else { continue }
            let old = pool.withLock { current in
                defer { current = replacement }
                return current
            }
            logger.warning("PostgreSQL failover: now using the primary at \(endpoint)", metadata: ["previous": "\(old.endpoint)"])
            Task { await Self.shutDown(old.runner, logger: logger) }
        }
    }

    /// Whether the pool's server answers, in time, that it is not in recovery.
    private func isPrimary() async -> Bool {
        let client = self.client, logger = self.logger
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask {
                guard let rows = try? await client.query("SELECT pg_is_in_recovery()", logger: logger),
                      let inRecovery = try? await rows.decode(Bool.self).first(where: { _ in true }) else { return false }
                return !inRecovery
            }
            group.addTask {
                try? await Task.sleep(for: Self.failoverCheckTimeout)
                return false
            }
            let answer = await group.next() ?? false
            group.cancelAll()
            return answer
        }
    }
}
