import Foundation
import Logging
import Testing
import VigilStore

@Suite("the embedded cluster", .timeLimit(.minutes(4)))
struct EmbeddedClusterTests {
    @Test("destroy removes the cluster's data wherever it was kept, also under /var/lib/vigil for a home the server's user cannot reach")
    func destroyRemovesEverything() async throws {
        // Private to root when the tests run as root: the server's unprivileged user cannot enter
        // it, so the data goes to a folder of its own under /var/lib/vigil, linked from HOME/pg.
        let home = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-destroy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: home, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(at: home) }
        let cluster = EmbeddedCluster(home: home, settings: ["fsync": "off"])
        _ = try cluster.start(logger: Logger(label: "test"))
        let data = cluster.dataDirectory, root = data.deletingLastPathComponent()
        #expect(FileManager.default.fileExists(atPath: data.appendingPathComponent("PG_VERSION").path))
        if getuid() == 0 {
            #expect(root.path.hasPrefix("/var/lib/vigil/clusters/"), "as root, a home only root can enter keeps its data elsewhere: \(data.path)")
        }

        try cluster.destroy()
        #expect(!FileManager.default.fileExists(atPath: home.path))
        #expect(!FileManager.default.fileExists(atPath: root.path), "\(root.path) was left behind")
    }
}
