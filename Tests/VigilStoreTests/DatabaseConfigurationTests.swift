import Testing
import VigilStore

@Suite("Database configuration")
struct DatabaseConfigurationTests {
    @Test("parses a full URL with TLS options")
    func fullURL() throws {
        let configuration = try DatabaseConfiguration(url: "postgres://ana:s3cret@db.example:6432/vigil?sslmode=verify-full&sslrootcert=/ca.pem")
        #expect(configuration.host == "db.example")
        #expect(configuration.port == 6432)
        #expect(configuration.username == "ana")
        #expect(configuration.password == "s3cret")
        #expect(configuration.database == "vigil")
        #expect(configuration.tlsMode == .verifyFull)
        #expect(configuration.rootCertificatePath == "/ca.pem")
        #expect(!configuration.url().contains("s3cret"))
    }

    @Test("rejects what is not a postgres URL", arguments: [
        "http://host/db", "postgres://", "not a url", "postgres://h/db?sslmode=sometimes", "postgres://h/db?colour=red",
    ])
    func rejects(url: String) {
        #expect(throws: StoreError.self) { try DatabaseConfiguration(url: url) }
    }

    @Test("libpq's multi-host URL names a replicated cluster's servers, in order, and writes back the same")
    func multiHost() throws {
        let url = "postgres://ana:s3cret@db1.example:5432,db2.example:5433,[fd00::3]/vigil?sslmode=require&target_session_attrs=read-write"
        let configuration = try DatabaseConfiguration(url: url)
        #expect(configuration.host == "db1.example" && configuration.port == 5432 && configuration.database == "vigil" && configuration.tlsMode == .require)
        #expect(configuration.endpoints.map(\.description) == ["db1.example:5432", "db2.example:5433", "[fd00::3]:5432"])
        #expect(configuration.url(revealingPassword: true) == "postgres://ana:s3cret@db1.example:5432,db2.example:5433,[fd00::3]:5432/vigil?sslmode=require")
        #expect(try DatabaseConfiguration(url: configuration.url(revealingPassword: true)) == configuration)
        let second = configuration.at(configuration.endpoints[1])
        #expect(second.host == "db2.example" && second.port == 5433 && Set(second.endpoints) == Set(configuration.endpoints))
        for bad in ["postgres://a@h1,h2:x/db", "postgres://a@h1,,h2/db", "postgres://a@h1,h2/db?target_session_attrs=read-only"] {
            #expect(throws: StoreError.self, "\(bad)") { try DatabaseConfiguration(url: bad) }
        }
    }

    @Test("with several servers and none a primary, the error names each and what it answered")
    func noPrimary() async throws {
        let configuration = try DatabaseConfiguration(url: "postgres://nobody@127.0.0.1:1,127.0.0.1:2/x?sslmode=disable")
        await #expect {
            try await Database.checkReachable(configuration, logger: .init(label: "test"))
        } throws: { error in
            let message = (error as? StoreError)?.message ?? ""
            return message.hasPrefix("no primary among the configured PostgreSQL servers: 127.0.0.1:1: ") && message.contains("127.0.0.1:2: ") && !message.contains("\n")
        }
    }

    @Test("reads PG* variables only when PGHOST is set")
    func libpqEnvironment() throws {
        #expect(try DatabaseConfiguration(libpqEnvironment: ["PGUSER": "x"]) == nil)
        let configuration = try #require(try DatabaseConfiguration(libpqEnvironment: [
            "PGHOST": "10.0.0.5", "PGPORT": "5433", "PGUSER": "bob", "PGDATABASE": "models", "PGSSLMODE": "require",
        ]))
        #expect(configuration.port == 5433)
        #expect(configuration.database == "models")
        #expect(configuration.tlsMode == .require)
        #expect(throws: StoreError.self) { try DatabaseConfiguration(libpqEnvironment: ["PGHOST": "h", "PGPORT": "x"]) }
    }

    @Test("an unreachable server is one readable line")
    func unreachable() async throws {
        let configuration = try DatabaseConfiguration(url: "postgres://nobody@127.0.0.1:1/x?sslmode=disable")
        await #expect {
            try await Database.checkReachable(configuration, logger: .init(label: "test"))
        } throws: { error in
            let message = (error as? StoreError)?.message ?? ""
            return message.contains("127.0.0.1:1") && message.contains("refused") && !message.contains("\n")
        }
    }
}
