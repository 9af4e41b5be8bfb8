import Foundation
import Testing
@testable import VigilEngine

@Suite("Scratch folders left by processes that were killed")
struct ScratchFolderTests {
    @Test("a starting process removes this host's folders whose process is gone, and nothing else")
    func sweepRemovesOnlyOrphans() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("vigil-scratch-test-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        // A process that has ended: its id names no process now.
        let ended = Process()
        ended.executableURL = URL(fileURLWithPath: "/bin/true")
        try ended.run()
        ended.waitUntilExit()
        let gone = ended.processIdentifier, host = HostName.current

        let mine = try ScratchFolder.make(.step, in: directory)
        let attributes = try FileManager.default.attributesOfItem(atPath: mine.path)
        #expect((attributes[.posixPermissions] as? NSNumber)?.intValue == 0o700)
        let orphans = ["vigil-step-\(host)-\(gone)-\(UUID().uuidString)", "vigil-step-\(host)-\(gone)-\(UUID().uuidString)"]
        let others = [
            "vigil-step-another-host-\(gone)-\(UUID().uuidString)",   // another host's process ids mean nothing here
            "vigil-step-\(host)-\(gone)-not-a-uuid",
            "vigil-step-\(UUID().uuidString)",                        // the old naming, with no owner
            "unrelated",
        ]
        for name in orphans + others {
            try FileManager.default.createDirectory(at: directory.appendingPathComponent(name), withIntermediateDirectories: true)
            try Data("output".utf8).write(to: directory.appendingPathComponent(name).appendingPathComponent("stdout"))
        }

        let removed = ScratchFolder.sweep(in: directory, logger: EngineFixtures.logger)
        #expect(removed.sorted() == orphans.sorted())
        let left = try FileManager.default.contentsOfDirectory(atPath: directory.path).sorted()
        #expect(left == (others + [mine.lastPathComponent]).sorted())
    }
}
