import Foundation
import Logging
import VigilStore
#if canImport(Glibc)
import Glibc
#endif

/// A throwaway embedded cluster for one benchmark, migrated, with durable commits (the defaults),
/// removed afterwards; or, given a server, a throwaway database on it (to measure Vigil and a
/// peer on the same PostgreSQL).
enum BenchCluster {
    static func with<Result: Sendable>(
        maximumConnections: Int = 20, settings: [String: String] = [:], server: DatabaseConfiguration? = nil,
        _ body: (Database, Logger) async throws -> Result
    ) async throws -> Result {
        var logger = Logger(label: "vigil.bench")
        logger.logLevel = .error
        if let server {
            let name = "vigil_bench_\(getpid())"
            try await Database.withDatabase(server, maximumConnections: 2, logger: logger) { try await $0.createDatabase(name, template: "template0") }
            do {
                let result = try await Database.withDatabase(server.with(database: name), maximumConnections: maximumConnections, logger: logger) { database in
                    try await Migrator(database: database).apply()
                    return try await body(database, logger)
                }
                try await Database.withDatabase(server, maximumConnections: 2, logger: logger) { try await $0.dropDatabase(name) }
                return result
            } catch {
                try? await Database.withDatabase(server, maximumConnections: 2, logger: logger) { try await $0.dropDatabase(name) }
                throw error
            }
        }
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-bench-\(getpid())-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true)
        chmod(home.path, 0o755)
        let cluster = EmbeddedCluster(home: home, settings: ["max_connections": "200"].merging(settings) { $1 })
        defer { try? cluster.destroy() }
        let configuration = try cluster.start(logger: logger)
        return try await Database.withDatabase(configuration, maximumConnections: maximumConnections, logger: logger) { database in
            try await Migrator(database: database).apply()
            return try await body(database, logger)
        }
    }

    /// Peak resident memory of this process so far, in MiB.
    static var peakMemoryMiB: Double {
        var usage = rusage()
        getrusage(RUSAGE_SELF.rawValue, &usage)
        return Double(usage.ru_maxrss) / 1_024
    }
}

/// Resident memory while a piece of work runs, apart from what the process held before it.
enum MemorySampler {
    /// Resident memory of this process now, in MiB (`/proc/self/statm`).
    static var residentMiB: Double {
        guard let text = try? String(contentsOfFile: "/proc/self/statm", encoding: .utf8),
              let pages = text.split(separator: " ").dropFirst().first.flatMap({ Double($0) }) else { return 0 }
        return pages * Double(sysconf(Int32(_SC_PAGESIZE))) / 1_048_576
    }

    /// Runs `body` while sampling resident memory every 10 ms; returns its result and the highest
    /// resident memory seen meanwhile, in MiB.
    static func peak<Result: Sendable>(during body: () async throws -> Result) async throws -> (result: Result, peakMiB: Double) {
        let sampler = Task<Double, Never> {
            var highest = residentMiB
            while !Task.isCancelled {
                highest = max(highest, residentMiB)
                try? await Task.sleep(for: .milliseconds(10))
            }
            return max(highest, residentMiB)
        }
        do {
            let result = try await body()
            sampler.cancel()
            return (result, await sampler.value)
        } catch {
            sampler.cancel()
            throw error
        }
    }
}

/// A temporary folder for a benchmark's generated files, removed afterwards.
enum BenchFolder {
    static func with<Result>(_ body: (URL) async throws -> Result) async throws -> Result {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        return try await body(folder)
    }
}
