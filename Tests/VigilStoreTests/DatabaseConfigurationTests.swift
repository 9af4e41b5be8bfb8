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
