import Logging
import PostgresNIO

/// The ledger of which UTC days hold which model's logged inferences (`logged_days`).
///
/// Whatever stores rows in `inference_log` records their days here first and holds the entries
/// until its rows commit; retention reads the ledger to find a model's expired days and the models
/// in a day, instead of scanning the day partitions that several models share.
enum LoggedDays {
    /// Records that `model` has rows on `days` (days since 1970-01-01) and holds those entries
    /// (`FOR KEY SHARE`) on `connection` until its transaction ends. Retention removes a model's
    /// day from the ledger before its rows, so a pass that reaches such a day waits for that
    /// transaction and then removes its rows too: none are left behind without an entry.
    ///
    /// A new entry is inserted and committed at once on another connection, so that loads of the
    /// same model starting a new day at the same moment do not wait for each other to commit.
    static func record(_ days: Set<Int>, model: String, database: Database, holdingOn connection: PostgresConnection) async throws {
        guard !days.isEmpty else { return }
        let numbers = days.sorted()
        func held() async throws -> Int {
            try await connection.query("""
                SELECT count(*)::int8 FROM (
                    SELECT 1 FROM logged_days WHERE model = \(model) AND day = ANY(SELECT date '1970-01-01' + d FROM unnest(\(numbers)::int4[]) AS d)
                    FOR KEY SHARE
                ) held
                """, logger: database.logger).decode(Int.self).first { _ in true } ?? 0
        }
        // Usually every entry exists and one statement locks them all. A missing one is inserted;
        // a pass can also remove an entry between that insert and the lock, and the next insert
        // puts it back. Three suffice unless passes keep removing the same day.
        var inserts = 0
        while try await held() < numbers.count {
            guard inserts < 3 else {
                throw StoreError(.conflict, "could not record the days of model \(model)'s inferences: retention kept removing them; try again")
            }
            try await database.client.query("""
                INSERT INTO logged_days (model, day) SELECT \(model), date '1970-01-01' + d FROM unnest(\(numbers)::int4[]) AS d
                ON CONFLICT DO NOTHING
                """, logger: database.logger)
            inserts += 1
        }
    }

    /// The days `model` has rows on up to `lastDay`, oldest first.
    static func days(of model: String, through lastDay: Int, on connection: PostgresConnection, logger: Logger) async throws -> [Int] {
        try await connection.query("""
            SELECT (day - date '1970-01-01')::int8 FROM logged_days WHERE model = \(model) AND day <= date '1970-01-01' + \(lastDay)::int4 ORDER BY day
            """, logger: logger).collect().map { try $0.decode(Int.self) }
    }

    /// The models with rows on `day`.
    static func models(on day: Int, on connection: PostgresConnection, logger: Logger) async throws -> [String] {
        try await connection.query("""
            SELECT model FROM logged_days WHERE day = date '1970-01-01' + \(day)::int4 ORDER BY model
            """, logger: logger).collect().map { try $0.decode(String.self) }
    }

    /// Removes `model`'s entry for `day` (every model's, when `model` is `nil`), waiting for any
    /// transaction that recorded it and has not ended.
    static func remove(day: Int, model: String?, on connection: PostgresConnection, logger: Logger) async throws {
        if let model {
            try await connection.query("DELETE FROM logged_days WHERE model = \(model) AND day = date '1970-01-01' + \(day)::int4", logger: logger)
        } else {
            try await connection.query("DELETE FROM logged_days WHERE day = date '1970-01-01' + \(day)::int4", logger: logger)
        }
    }
}
