import ArgumentParser
import VigilStore

/// `vigil db`: manages the embedded PostgreSQL cluster.
struct DatabaseCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "db",
        abstract: "Manage the embedded PostgreSQL cluster (status, url, stop).",
        subcommands: [Status.self, URL.self, Stop.self]
    )

    struct Status: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Show whether the embedded cluster exists and runs.")
        @OptionGroup var global: GlobalOptions

        func run() throws {
            if global.isExternalDatabaseConfigured {
                let configuration = try global.resolveDatabase(logger: global.makeLogger())
                print("using a configured database: \(configuration.url()) (the embedded cluster is not used)")
            }
            let cluster = EmbeddedCluster(home: EmbeddedCluster.defaultHome())
            do {
                switch try cluster.state() {
                case .notCreated:
                    print("embedded cluster: not created (\(cluster.home.path)); any command that needs the database creates it")
                case .stopped:
                    print("embedded cluster: stopped (data \(cluster.dataDirectory.path))")
                case let .running(pid, port):
                    print("embedded cluster: running, pid \(pid), 127.0.0.1:\(port) (data \(cluster.dataDirectory.path))")
                    print("url: \(try cluster.configuration().url())")
                }
            } catch {
                throw CommandFailure(error)
            }
        }
    }

    struct URL: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print the embedded cluster's connection URL (starting it if needed), for psql and other tools."
        )
        @OptionGroup var global: GlobalOptions

        func run() throws {
            let logger = global.makeLogger()
            do {
                let configuration = try EmbeddedCluster(home: EmbeddedCluster.defaultHome()).start(logger: logger)
                print(configuration.url(revealingPassword: true))
            } catch {
                throw CommandFailure(error)
            }
        }
    }

    struct Stop: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Stop the embedded cluster's server.")
        @OptionGroup var global: GlobalOptions

        func run() throws {
            do {
                let cluster = EmbeddedCluster(home: EmbeddedCluster.defaultHome())
                print(try cluster.stop() ? "stopped the embedded cluster" : "the embedded cluster is not running")
            } catch {
                throw CommandFailure(error)
            }
        }
    }
}
