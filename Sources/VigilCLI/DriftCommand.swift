import ArgumentParser
import Foundation
import VigilStatistics
import VigilWorkflow

/// `vigil drift`: a one-off drift report between two data files, no database needed.
struct DriftCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "drift",
        abstract: "Compare two CSV or JSON-lines files column by column and report drift.",
        discussion: """
            Each column shared by both files is compared with the method the drift policy picks \
            (KS or chi-square on small samples, normed Wasserstein or Jensen–Shannon past 1,000 reference \
            rows, an effect size counting only when a test confirms it at --significance; see \
            docs/statistics.md), unless --method says otherwise. The window monitor decides by the same \
            policy. P-values are adjusted across columns (Benjamini–Hochberg by default), and the dataset \
            drifts when the share of drifted columns reaches --drift-share. A JSON-lines field holding \
            arrays of numbers is an embedding column, compared whole by --embedding-method (MMD by \
            default) on at most --embedding-rows rows a side drawn by --seed. Exit code 0 whether or \
            not drift is found, unless --fail-on-drift.
            """
    )

    @Argument(help: "The reference data (.csv, or .jsonl with one JSON object per line).")
    var reference: String

    @Argument(help: "The current data, in the same layout.")
    var current: String

    @Option(help: ArgumentHelp("Columns to compare, comma-separated (default: every column in both files).", valueName: "names"))
    var columns: String?

    @Option(help: ArgumentHelp("Columns to compare as categories even if they hold numbers.", valueName: "names"))
    var categorical: String?

    @Option(help: "Method: auto, \(DriftMethod.allCases.filter { !$0.supportsEmbedding }.map(\.rawValue).joined(separator: ", ")).")
    var method: String = "auto"

    @Option(help: "Method for embedding columns: \(EmbeddingDrift.methods.map(\.rawValue).joined(separator: ", ")).")
    var embeddingMethod: String = DriftMethod.mmd.rawValue

    @Option(help: "Most rows a side an embedding column is compared on (more are subsampled by --seed).")
    var embeddingRows: Int = EmbeddingDrift.Options().maximumRows

    @Option(help: "Permutations of the embedding tests that use them (mmd, mean_distance).")
    var permutations: Int = EmbeddingDrift.Options().permutations

    @Option(help: "Seed of the embedding tests' subsamples, permutations and folds.")
    var seed: UInt64 = 0

    @Option(help: "Threshold instead of the method's default (a p-value for tests, a distance otherwise).")
    var threshold: Double?

    @Option(help: "Reference-quantile bins for PSI, KL, JS and Hellinger on numbers.")
    var bins: Int = 10

    @Option(help: "Multiple-testing correction across columns: bh, bonferroni or none.")
    var correction: DriftCorrection = .benjaminiHochberg

    @Option(help: "Level a test must reach to confirm an automatically chosen effect size (1 turns confirmation off).")
    var significance: Double = DriftPolicy().significance ?? 1

    @Option(help: "Fewest non-missing values a column needs on each side to be compared.")
    var minRows: Int = DriftPolicy().minimumCount

    @Option(help: "Share of drifted columns at which the dataset drifts.")
    var driftShare: Double = 0.5

    @Option(help: "Output: table, json or csv.")
    var format: ReportFormat = .table

    @Flag(help: "Exit with code 3 when the dataset drifts.")
    var failOnDrift = false

    func validate() throws {
        let scalar = DriftMethod.allCases.filter { !$0.supportsEmbedding }
        guard method == "auto" || DriftMethod(rawValue: method).map(scalar.contains) == true else {
            throw ValidationError("unknown method '\(method)'; use auto or one of \(scalar.map(\.rawValue).joined(separator: ", "))")
        }
        guard DriftMethod(rawValue: embeddingMethod)?.supportsEmbedding == true else {
            throw ValidationError("unknown embedding method '\(embeddingMethod)'; use one of \(EmbeddingDrift.methods.map(\.rawValue).joined(separator: ", "))")
        }
        guard embeddingRows >= 10 else { throw ValidationError("--embedding-rows must be at least 10") }
        guard permutations >= 1 else { throw ValidationError("--permutations must be at least 1") }
        guard bins >= 2 else { throw ValidationError("--bins must be at least 2") }
        guard (0...1).contains(driftShare) else { throw ValidationError("--drift-share must be between 0 and 1") }
        guard significance > 0 && significance <= 1 else { throw ValidationError("--significance must be in (0, 1]") }
        guard minRows >= 1 else { throw ValidationError("--min-rows must be at least 1") }
    }

    func run() throws {
        let categoricalColumns = Set(Self.list(categorical))
        let readings = Dictionary(uniqueKeysWithValues: categoricalColumns.map { ($0, ColumnReading.text) })
        // The two files are read at once, on two cores.
        let tables = Parallel.map(2, chunks: 2) { side in
            Result { () throws(DataFileError) -> DataTable in try DataFileReader.read(path: side == 0 ? reference : current, readings: readings) }
        }
        let referenceTable: DataTable, currentTable: DataTable
        do {
            referenceTable = try tables[0].get()
            currentTable = try tables[1].get()
        } catch {
            throw CommandFailure(error.description)
        }
        let shared = referenceTable.columnNames.filter { currentTable[$0] != nil }
        let selected = columns.map(Self.list) ?? shared
        if let unknown = selected.first(where: { referenceTable[$0] == nil && currentTable[$0] == nil }) {
            throw CommandFailure("column '\(unknown)' is in neither file")
        }
        if selected.isEmpty { throw CommandFailure("the two files share no column") }

        var policy = DriftPolicy()
        policy.method = DriftMethod(rawValue: method)
        policy.threshold = threshold
        policy.numericOptions.binCount = bins
        policy.correction = correction
        policy.significance = significance < 1 ? significance : nil
        policy.minimumCount = minRows
        var options = EmbeddingDrift.Options()
        options.method = DriftMethod(rawValue: embeddingMethod) ?? .mmd
        options.maximumRows = embeddingRows
        options.permutations = permutations
        options.seed = seed
        // Columns are compared independently, one at a time per core.
        let outcomes = Parallel.map(selected.count, chunks: selected.count) { index in
            let name = selected[index]
            return (name: name, kind: Self.kind(referenceTable[name], currentTable[name]),
                    outcome: Self.compare(referenceTable[name], currentTable[name], policy: policy, embedding: options))
        }
        let report = DatasetDrift(outcomes: outcomes, policy: policy, shareThreshold: driftShare)
        let change = SchemaChange(expected: referenceTable.columnNames, actual: currentTable.columnNames)
        let summary = DriftSummary(
            reference: reference, current: current, referenceRows: referenceTable.rowCount,
            currentRows: currentTable.rowCount, report: report, schemaChange: change
        )
        print(try summary.rendered(as: format), terminator: "")
        if failOnDrift && report.drifted { throw ExitCode(3) }
    }

    /// How a column is compared: an embedding when either file holds arrays in it.
    static func kind(_ reference: DataTable.Column?, _ current: DataTable.Column?) -> ColumnKind {
        switch (reference, current) {
        case (.embedding?, _), (_, .embedding?): .embedding
        case (.numeric?, .numeric?): .numeric
        default: .categorical
        }
    }

    /// One column's comparison: an embedding column whole, any other by the drift policy.
    static func compare(
        _ reference: DataTable.Column?, _ current: DataTable.Column?, policy: DriftPolicy, embedding options: EmbeddingDrift.Options
    ) -> Result<DriftFinding, StatisticsError> {
        guard let reference, let current else {
            return .failure(StatisticsError(.invalidParameter, "column is not in the \(reference == nil ? "reference" : "current") data"))
        }
        switch (reference, current) {
        case let (.embedding(base), .embedding(now)):
            do throws(StatisticsError) {
                try policy.checkCounts(reference: base.rows.count - base.missingCount, current: now.rows.count - now.missingCount)
                return .success(DriftFinding(result: try EmbeddingDrift.compare(reference: try base.sample(), current: try now.sample(), options: options)))
            } catch {
                return .failure(error)
            }
        case (.embedding, _), (_, .embedding):
            return .failure(StatisticsError(.invalidParameter, "the column holds embeddings in one file and single values in the other"))
        default:
            return DatasetDrift.compare(reference.driftValues!, current.driftValues!, policy: policy).1
        }
    }

    static func list(_ text: String?) -> [String] {
        (text ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }
}

extension DriftCorrection: ExpressibleByArgument {}
