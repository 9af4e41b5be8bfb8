import Foundation
import Testing
@testable import VigilWorkflow

/// The repository's root, for `workflows/` and the broken corpus.
let repositoryRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

@Suite("Workflow validation")
struct WorkflowValidationTests {
    static let brokenFolder = repositoryRoot.appendingPathComponent("Tests/VigilWorkflowTests/Broken")
    static let brokenFiles = WorkflowLoader.files(in: [brokenFolder.path])

    @Test("every file in workflows/ validates, and the loop's steps are there")
    func examples() throws {
        let files = WorkflowLoader.files(in: [repositoryRoot.appendingPathComponent("workflows").path])
        #expect(files.count >= 2)
        for file in files {
            #expect(throws: Never.self) { try WorkflowLoader.load(path: file) }
        }
        let monitor = try WorkflowLoader.load(path: repositoryRoot.appendingPathComponent("workflows/churn-monitor.yaml").path).spec
        #expect(monitor.steps.map(\.uses) == ["monitor", "evaluate", "escalate"])
        #expect(monitor.data?.features.count == 7 && monitor.schedule != nil)
        let churn = try WorkflowLoader.load(path: repositoryRoot.appendingPathComponent("workflows/churn-retrain.yaml").path).spec
        #expect(churn.steps.map(\.uses) == ["sleep", "retrain", "shadow_compare", "promote"])
        #expect(churn.concurrency?.policy == .skip && churn.schedule == nil)
        #expect(churn.data?.features.map(\.name) == monitor.data?.features.map(\.name))
        #expect(churn.step(named: "retrain")?.timeout == WorkflowDuration(seconds: 7_200))
        #expect(churn.defaults.retry?.maximumAttempts == 3)
    }

    @Test("the broken corpus has at least 40 files")
    func corpusSize() {
        #expect(Self.brokenFiles.count >= 40)
    }

    @Test("each broken file is rejected with exactly its expected message and position", arguments: brokenFiles)
    func broken(path: String) throws {
        let text = try String(contentsOfFile: path, encoding: .utf8)
        let expectation = try #require(text.split(separator: "\n").last.flatMap { $0.hasPrefix("# expect: ") ? $0.dropFirst(10) : nil })
        #expect {
            try WorkflowLoader.parse(Array(text.utf8), file: path)
        } throws: { error in
            let diagnostics = (error as? WorkflowError)?.diagnostics.map(\.description) ?? []
            return diagnostics == ["\(path):\(expectation)"]
        }
    }

    @Test("all problems of a file are reported at once, in file order")
    func allProblems() {
        let text = "name: w\nmodle: x\nsteps:\n  a:\n    uses: retrian\n  b:\n    uses: monitor\n    neds: a\n"
        #expect {
            try WorkflowLoader.parse(Array(text.utf8), file: "w.yaml")
        } throws: { error in
            (error as? WorkflowError)?.diagnostics.map(\.description) == [
                "w.yaml:2:1: unknown key 'modle' in the workflow; did you mean 'model'?",
                "w.yaml:5:11: unknown step type 'retrian'; did you mean 'retrain'? (known: approval, command, escalate, evaluate, http, monitor, promote, retrain, shadow_compare, sleep)",
                "w.yaml:8:5: unknown key 'neds' in step 'b'; did you mean 'needs'?",
            ]
        }
    }

    @Test("performance rules name estimated metrics and their guards; an unknown estimate or a bad guard is refused with its place")
    func performanceRules() throws {
        func workflow(_ rule: String) -> [UInt8] {
            Array("name: w\nmodel: m\nsteps:\n  check:\n    uses: evaluate\n    with:\n      soft:\n        performance_drop: \(rule)\n".utf8)
        }
        let spec = try WorkflowLoader.parse(workflow("{ metric: estimated_f1, by: 0.03, min_samples: 200, significance: 0.001 }"), file: "w.yaml")
        #expect(spec.steps.first?.uses == "evaluate")
        _ = try WorkflowLoader.parse(workflow("{ metric: ece, by: 0.02 }"), file: "w.yaml")
        for bad in ["{ metric: estimated_bogus, by: 0.03 }", "{ metric: f1, by: 0.03, significance: 2 }", "{ metric: f1, by: 0.03, min_samples: 0 }"] {
            #expect(throws: WorkflowError.self, "\(bad)") { try WorkflowLoader.parse(workflow(bad), file: "w.yaml") }
        }
    }

    @Test("a baseline is previous, champion_training, a fixed period (with or without `fixed:`), a rolling or seasonal period, or a table")
    func baselines() throws {
        func baseline(_ text: String) throws -> MonitoredData.Baseline? {
            try WorkflowLoader.parse(Array("name: w\ndata:\n  baseline: \(text)\nsteps:\n  monitor:\n    uses: monitor\n".utf8), file: "w.yaml").data?.baseline
        }
        #expect(try baseline("champion_training") == .championTraining)
        #expect(try baseline("previous") == .previous)
        #expect(try baseline("{ rolling: 7d }") == .rolling(period: WorkflowDuration(seconds: 7 * 86_400)))
        #expect(try baseline("{ seasonal: 1d }") == .seasonal(period: WorkflowDuration(seconds: 86_400)))
        #expect(try baseline("{ table: training }") == .table("training"))
        let fixed = MonitoredData.Baseline.fixed(start: "2026-11-01T00:00:00Z", end: "2026-11-08T00:00:00Z")
        #expect(try baseline("{ fixed: { start: 2026-11-01T00:00:00Z, end: 2026-11-08T00:00:00Z } }") == fixed)
        #expect(try baseline("{ start: 2026-11-01T00:00:00Z, end: 2026-11-08T00:00:00Z }") == fixed)
        #expect(throws: WorkflowError.self) { try baseline("{ fixed: { start: yesterday, end: 2026-11-08T00:00:00Z } }") }
        #expect(throws: WorkflowError.self) { try baseline("{ start: 2026-11-01T00:00:00Z }") }
    }

    @Test("a library user's own step type validates once registered")
    func customStep() throws {
        let text = "name: w\nsteps:\n  score:\n    uses: score_batch\n    with:\n      batch: 10\n"
        #expect(throws: WorkflowError.self) { try WorkflowLoader.parse(Array(text.utf8), file: "w.yaml") }
        var catalog = StepCatalog.builtIn
        catalog.register(StepSchema(typeName: "score_batch", summary: "score", parameters: [.init("batch", .integer, required: true)]))
        let spec = try WorkflowLoader.parse(Array(text.utf8), file: "w.yaml", catalog: catalog)
        #expect(spec.steps.first?.with["batch"] == .number(10))
    }
}

@Suite("Hostile YAML")
struct HostileYAMLTests {
    /// Parses `bytes` and returns the diagnostics and how long it took.
    func reject(_ bytes: [UInt8]) -> (messages: [String], seconds: Double) {
        let start = ContinuousClock.now
        var messages: [String] = []
        do {
            _ = try WorkflowLoader.parse(bytes, file: "hostile.yaml")
        } catch {
            messages = error.diagnostics.map(\.description)
        }
        let elapsed = ContinuousClock.now - start
        return (messages, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
    }

    // The bound is generous for a noisy shared machine; what matters is no hang and no crash.
    static let bound = 3.0

    @Test("an alias bomb stops at the node budget")
    func aliasBomb() {
        var text = "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n"
        for level in 1..<10 {
            text += "a\(level): &a\(level) [" + Array(repeating: "*a\(level - 1)", count: 10).joined(separator: ", ") + "]\n"
        }
        text += "name: w\nsteps: {m: {uses: monitor, with: {windows: *a9}}}\n"
        let result = reject(Array(text.utf8))
        #expect(result.messages.count == 1 && result.messages[0].contains("expands to more than 100000 values"))
        #expect(result.seconds < Self.bound)
    }

    @Test("an alias used as a key is refused before Yams hashes it")
    func aliasKey() {
        let result = reject(Array("a: &a [1, 2]\n*a : 3\n".utf8))
        #expect(result.messages == ["hostile.yaml:2:1: an alias cannot be used as a mapping key"])
    }

    @Test("10,000-deep nesting, flow and block, is refused with a position")
    func deepNesting() {
        let flow = reject(Array(("name: " + String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)).utf8))
        #expect(flow.messages == ["hostile.yaml:1:71: nesting is deeper than 64 levels"])
        // 10,000 levels of block indentation exceed the size limit; 300 levels still fit and hit the depth limit.
        var block = ""
        for depth in 0..<10_000 { block += String(repeating: " ", count: depth) + "k\(depth):\n" }
        let blockResult = reject(Array(block.utf8))
        #expect(blockResult.messages.count == 1 && blockResult.messages[0].contains("workflow files are limited to"))
        var shallower = ""
        for depth in 0..<300 { shallower += String(repeating: " ", count: depth) + "k\(depth):\n" }
        #expect(reject(Array(shallower.utf8)).messages == ["hostile.yaml:258:257: nesting is deeper than 256 columns of indentation"])
        let dashes = reject(Array(("x: " + String(repeating: "- ", count: 10_000) + "1").utf8))
        #expect(dashes.messages.count == 1)
        #expect(flow.seconds < Self.bound && blockResult.seconds < Self.bound && dashes.seconds < Self.bound)
    }

    @Test("an apostrophe inside a word opens no quote that would hide the nesting after it")
    func apostropheInWord() {
        let text = "description: it's deep\nname: " + String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
        let result = reject(Array(text.utf8))
        #expect(result.messages == ["hostile.yaml:2:71: nesting is deeper than 64 levels"])
        #expect(result.seconds < Self.bound)
    }

    @Test("a 50 MB file is refused at once")
    func hugeFile() {
        let result = reject([UInt8](repeating: UInt8(ascii: "a"), count: 50 << 20))
        #expect(result.messages == ["hostile.yaml:1:1: the file is 51200 KiB; workflow files are limited to 1024 KiB"])
        #expect(result.seconds < Self.bound)
    }

    @Test("invalid UTF-8 and binary garbage give a located error")
    func garbage() {
        let invalid = reject(Array("name: w\nsteps: \u{1}".utf8) + [0xC3, 0x28])
        #expect(invalid.messages.count == 1)
        let bytes = reject(Array("name: ok\n".utf8) + [0xFF, 0xFE, 0x00])
        #expect(bytes.messages == ["hostile.yaml:2:1: the file is not valid UTF-8 text"])
        var generator = SystemRandomNumberGenerator()
        let noise = (0..<4096).map { _ in UInt8.random(in: 0...255, using: &generator) }
        #expect(reject(noise).messages.count >= 1)
        #expect(reject(Array("name: w\u{0}\n".utf8)).messages == ["hostile.yaml:1:8: the file holds a NUL byte; workflow files are text"])
    }

    @Test("thousands of mutated workflow files never crash the parser or validator")
    func fuzz() throws {
        let seed = Array(try String(contentsOf: repositoryRoot.appendingPathComponent("workflows/churn-retrain.yaml"), encoding: .utf8).utf8)
        var random = FuzzRandom(state: 20_261_124)
        let alphabet = Array("{}[]:-*&!|>'\"#%@`,?$ \n\tabc019.".utf8)
        var rejected = 0
        for _ in 0..<5_000 {
            var bytes = seed
            for _ in 0..<(1 + random.next(8)) {
                let position = random.next(bytes.count)
                switch random.next(5) {
                case 0: bytes[position] = alphabet[random.next(alphabet.count)]
                case 1: bytes.remove(at: position)
                case 2: bytes.insert(alphabet[random.next(alphabet.count)], at: position)
                case 3:
                    let length = min(random.next(200), bytes.count - position)
                    bytes.insert(contentsOf: bytes[position..<position + length], at: random.next(bytes.count))
                default: bytes[position] = UInt8(truncatingIfNeeded: random.next(256))
                }
            }
            do {
                _ = try WorkflowLoader.parse(bytes, file: "fuzz.yaml")
            } catch {
                rejected += 1
                #expect(!error.diagnostics.isEmpty)
            }
        }
        #expect(rejected > 2_500)
    }
}

/// A tiny seeded generator for the fuzz test (xorshift64*).
struct FuzzRandom {
    var state: UInt64

    mutating func next(_ bound: Int) -> Int {
        state ^= state >> 12
        state ^= state << 25
        state ^= state >> 27
        return Int((state &* 2_685_821_657_736_338_717) % UInt64(max(bound, 1)))
    }
}

@Suite("Validation of large workflows")
struct LargeWorkflowTests {
    /// `steps` sleeps in a chain, each needing the one before; `closing` makes the first need the last.
    static func chain(steps: Int, closing: Bool = false) -> String {
        var text = "name: chain\nsteps:\n"
        for index in 0..<steps {
            let need = index > 0 ? ", needs: s\(index - 1)" : (closing ? ", needs: s\(steps - 1)" : "")
            let condition = index > 0 && index % 10 == 0 ? ", if: \"${{ steps.s\(index - 1).state == 'succeeded' }}\"" : ""
            text += "  s\(index): { uses: sleep, with: { for: 1s }\(need)\(condition) }\n"
        }
        return text
    }

    @Test("a chain of 10,000 steps validates, in chain order (`vigil bench validate` times it)")
    func longChain() throws {
        let spec = try WorkflowLoader.parse(Array(Self.chain(steps: 10_000).utf8), file: "chain.yaml")
        #expect(spec.steps.count == 10_000)
        #expect(WorkflowGraph(spec).topologicalOrder.map(\.name) == (0..<10_000).map { "s\($0)" })
        #expect(WorkflowGraph(spec).levels["s9999"] == 9_999)
    }

    @Test("a cycle through 10,000 steps is found without exhausting the stack, and reported where it closes")
    func longCycle() {
        #expect {
            try WorkflowLoader.parse(Array(Self.chain(steps: 10_000, closing: true).utf8), file: "cycle.yaml")
        } throws: { error in
            let message = (error as? WorkflowError)?.diagnostics.first?.description ?? ""
            return message.hasPrefix("cycle.yaml:") && message.contains("steps form a cycle: ")
        }
    }

    @Test("a step reading a step that is not upstream is refused, however long the chain before it")
    func notUpstream() {
        var text = Self.chain(steps: 2_000)
        text += "  side: { uses: sleep, with: { for: 1s }, if: \"${{ steps.s1999.state == 'succeeded' }}\" }\n"
        #expect {
            try WorkflowLoader.parse(Array(text.utf8), file: "side.yaml")
        } throws: { error in
            (error as? WorkflowError)?.diagnostics.map(\.description).first?.contains("step 's1999' is not upstream of this step") == true
        }
    }
}
