import Foundation
import Testing
import VigilStatistics
@testable import VigilWorkflow

/// A seeded fuzzer for the workflow front end: mutated YAML files and generated expressions.
///
/// Every input must either be accepted or refused with located, one-line diagnostics; a crash or
/// a hang fails the suite. The default run is bounded (a few seconds inside `scripts/test`); run
/// longer by hand with
///
///     VIGIL_FUZZ_ITERATIONS=200000 VIGIL_FUZZ_SEED=42 swift test --filter FrontEndFuzzTests
///
/// A crash kills the test process: run again with the `VIGIL_FUZZ_SEED` it printed to replay it.
@Suite("Fuzzing the YAML and expression front end")
struct FrontEndFuzzTests {
    static let environment = ProcessInfo.processInfo.environment
    static let iterations = environment["VIGIL_FUZZ_ITERATIONS"].flatMap(Int.init) ?? 3_000
    static let seed = environment["VIGIL_FUZZ_SEED"].flatMap(UInt64.init) ?? UInt64(Date().timeIntervalSince1970) % 1_000_000

    /// The repository's workflows and the broken corpus: valid and invalid shapes to mutate.
    static let corpus: [[UInt8]] = {
        let folders = [repositoryRoot.appendingPathComponent("workflows").path, WorkflowValidationTests.brokenFolder.path]
        return WorkflowLoader.files(in: folders).compactMap { FileManager.default.contents(atPath: $0).map { [UInt8]($0) } }
    }()

    /// Pieces that YAML and expressions give meaning to, and bytes that break text.
    static let tokens: [[UInt8]] = [
        "${{", "}}", ": ", "- ", "{", "}", "[", "]", ",", "&a ", "*a", "<<: *a", "!!str ", "|\n", ">-\n", "\t", "\n", "\n    ", "'", "\"",
        "needs: ", "uses: ", "with: ", "if: ", "steps.", ".outputs.", "params.", "== ", "&& ", "!", "(", ")", "1e308", "-", "99999999999999999999",
        "36500d", "99999999999d", "#", "%YAML 1.1\n", "---\n", "...\n", "\u{FEFF}", "é", "🙂", "\u{0}",
    ].map { Array($0.utf8) } + [[0xFF], [0xC3], [0xED, 0xA0, 0x80]]

    static func mutate(_ input: [UInt8], _ random: inout SeededGenerator) -> [UInt8] {
        var bytes = input
        for _ in 0..<Int.random(in: 1...4, using: &random) {
            let position = bytes.isEmpty ? 0 : Int.random(in: 0...bytes.count, using: &random)
            switch Int.random(in: 0..<5, using: &random) {
            case 0:
                bytes.insert(contentsOf: tokens.randomElement(using: &random)!, at: position)
            case 1 where !bytes.isEmpty:
                let end = min(bytes.count, position + Int.random(in: 1...40, using: &random))
                bytes.removeSubrange(min(position, end)..<end)
            case 2 where !bytes.isEmpty:
                let start = Int.random(in: 0..<bytes.count, using: &random)
                let slice = bytes[start..<min(bytes.count, start + Int.random(in: 1...200, using: &random))]
                bytes.insert(contentsOf: slice, at: position)
            case 3 where position < bytes.count:
                bytes[position] = UInt8.random(in: 0...255, using: &random)
            default:
                bytes = Array(bytes.prefix(position))
            }
        }
        return bytes
    }

    @Test("mutated workflow files are accepted or refused with located one-line diagnostics, never a crash")
    func workflows() throws {
        var random = SeededGenerator(seed: Self.seed)
        print("FrontEndFuzzTests: VIGIL_FUZZ_SEED=\(Self.seed), \(Self.iterations) workflow mutants")
        #expect(Self.corpus.count >= 40)
        var refused = 0
        for iteration in 0..<Self.iterations {
            let input = Self.mutate(Self.corpus.randomElement(using: &random)!, &random)
            let lines = input.split(separator: UInt8(ascii: "\n"), omittingEmptySubsequences: false).count
            do {
                _ = try WorkflowLoader.parse(input, file: "fuzz.yaml")
            } catch {
                refused += 1
                #expect(!error.diagnostics.isEmpty, "seed \(Self.seed), mutant \(iteration): refused without a diagnostic")
                for diagnostic in error.diagnostics {
                    let location = diagnostic.location
                    #expect(location.line >= 1 && location.line <= lines + 1 && location.column >= 1,
                            "seed \(Self.seed), mutant \(iteration): \(diagnostic) lies outside the file's \(lines) lines")
                    #expect(!diagnostic.message.isEmpty && !diagnostic.message.contains("\n"),
                            "seed \(Self.seed), mutant \(iteration): not one line: \(diagnostic.message.debugDescription)")
                }
            }
        }
        // Most mutants break something: the fuzzer reaches the checks, not only the happy path.
        #expect(refused > Self.iterations / 4)
    }

    /// A random expression from the grammar's pieces, often malformed.
    static func expression(_ random: inout SeededGenerator) -> String {
        let pieces = [
            "steps.a.outputs.x", "params.p", "run.attempt", "trigger.labels", "[", "]", "[0]", "[1e300]", "[-1]", "(", ")", "'text'", "\"q\"", "'",
            "1", "0.5", "1e308", "-", "!", "==", "!=", "<", ">=", "&&", "||", "contains(", "startsWith(", "format(", "toJSON(", "fromJSON(",
            "success()", "failure()", "always()", ",", " ", "null", "true", "\u{0}", "é", "${{", "}}", ".", "*",
        ]
        return (0..<Int.random(in: 1...12, using: &random)).map { _ in pieces.randomElement(using: &random)! }.joined()
    }

    @Test("generated expressions parse or fail at an offset inside the text; the ones that parse evaluate without a crash")
    func expressions() {
        var random = SeededGenerator(seed: Self.seed &+ 1)
        let context = ExpressionContext(
            params: ["p": .array([.number(1), .string("two")])],
            steps: ["a": .init(state: "succeeded", outputs: ["x": .object(["y": .number(2)])])],
            run: ["attempt": .number(1)], trigger: ["labels": .object(["severity": .string("hard")])]
        )
        var parsed = 0
        for iteration in 0..<(Self.iterations * 3) {
            let source = Self.expression(&random)
            do {
                let expression = try ExpressionParser.parse(source)
                parsed += 1
                _ = try? ExpressionEvaluator(context: context).evaluate(expression)
                _ = try? Template("x ${{ \(source) }} y").expressions
            } catch {
                #expect(error.offset >= 0 && error.offset <= source.count, "seed \(Self.seed), expression \(iteration): offset \(error.offset) outside \(source.debugDescription)")
            }
        }
        #expect(parsed > 0)
    }
}
