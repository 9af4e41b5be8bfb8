import Foundation
import Testing
import VigilStore
import VigilTesting
import VigilWorkflow

@Suite("Workflow versions in PostgreSQL")
struct WorkflowStoreTests {
    static func file(_ text: String, name: String = "w.yaml") throws -> WorkflowFile {
        WorkflowFile(path: name, source: text, spec: try WorkflowLoader.parse(Array(text.utf8), file: name))
    }

    static let original = "name: loop\nsteps:\n  monitor:\n    uses: monitor\n"
    static let edited = "name: loop\nsteps:\n  monitor:\n    uses: monitor\n  evaluate:\n    uses: evaluate\n    needs: monitor\n"

    @Test("applying the same content twice stores one version; an edit stores a second")
    func versions() async throws {
        try await TestDatabase.withFresh { database in
            let store = WorkflowStore(database: database)
            let first = try await store.apply([Self.file(Self.original)], actor: "alice")
            let again = try await store.apply([Self.file(Self.original)], actor: "bob")
            #expect(first == [AppliedWorkflow(workflow: "loop", version: 1, isNew: true)])
            #expect(again == [AppliedWorkflow(workflow: "loop", version: 1, isNew: false)])
            let second = try await store.apply([Self.file(Self.edited)], actor: "carol")
            #expect(second == [AppliedWorkflow(workflow: "loop", version: 2, isNew: true)])
            let latest = try await store.version(of: "loop")
            #expect(latest.version == 2 && latest.source == Self.edited && latest.appliedBy == "carol")
            #expect(latest.spec.steps.map(\.name) == ["monitor", "evaluate"])
            let pinned = try await store.version(of: "loop", 1)
            #expect(pinned.source == Self.original && pinned.spec.steps.count == 1)
            let summaries = try await store.list()
            #expect(summaries.map(\.name) == ["loop"] && summaries[0].versionCount == 2 && summaries[0].stepCount == 2)
            // Re-applying an older content is recognised as that version, not a new one.
            #expect(try await store.apply([Self.file(Self.original)], actor: "dave") == [AppliedWorkflow(workflow: "loop", version: 1, isNew: false)])
        }
    }

    @Test("concurrent applies of different contents get dense, distinct versions")
    func concurrentApplies() async throws {
        try await TestDatabase.withFresh { database in
            let store = WorkflowStore(database: database)
            let versions = try await withThrowingTaskGroup(of: Int.self) { group in
                for index in 0..<8 {
                    group.addTask {
                        let text = Self.original + "    timeout: \(index + 1)m\n"
                        return try await store.apply([Self.file(text)], actor: "t\(index)")[0].version
                    }
                }
                return try await group.reduce(into: []) { $0.append($1) }
            }
            #expect(versions.sorted() == Array(1...8))
        }
    }

    @Test("a missing workflow or version is a clear not-found error")
    func notFound() async throws {
        try await TestDatabase.withFresh { database in
            let store = WorkflowStore(database: database)
            await #expect { try await store.version(of: "nope") } throws: { error in
                (error as? StoreError)?.message == "no workflow named 'nope' has been applied; run vigil apply first"
            }
            _ = try await store.apply([Self.file(Self.original)], actor: "alice")
            await #expect { try await store.version(of: "loop", 7) } throws: { error in
                (error as? StoreError)?.message == "workflow 'loop' has no version 7"
            }
        }
    }
}
