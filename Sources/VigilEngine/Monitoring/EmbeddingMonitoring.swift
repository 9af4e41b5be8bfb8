import Foundation
import VigilStatistics
import VigilStore

/// The `monitor` step's `embedding:` setting, `{ method, sample_rows, permutations, seed }`: how
/// each embedding feature of a window is compared whole with the reference's (see
/// ``EmbeddingDrift``). Without it: MMD on at most 1,000 rows a side, 200 permutations, seed 0.
public struct EmbeddingSettings: Sendable, Equatable, Decodable {
    public var options: EmbeddingDrift.Options

    public static let standard: EmbeddingSettings = {
        var options = EmbeddingDrift.Options()
        options.maximumRows = 1_000
        options.permutations = 200
        return EmbeddingSettings(options: options)
    }()

    init(options: EmbeddingDrift.Options) {
        self.options = options
    }

    enum CodingKeys: String, CodingKey {
        case method, permutations, seed
        case sampleRows = "sample_rows"
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        var options = Self.standard.options
        if let name = try container.decodeIfPresent(String.self, forKey: .method) {
            guard let method = DriftMethod(rawValue: name), method.supportsEmbedding else {
                throw DecodingError.dataCorruptedError(forKey: .method, in: container, debugDescription: "use one of \(EmbeddingDrift.methods.map(\.rawValue).joined(separator: ", "))")
            }
            options.method = method
        }
        options.maximumRows = try container.decodeIfPresent(Int.self, forKey: .sampleRows) ?? options.maximumRows
        options.permutations = try container.decodeIfPresent(Int.self, forKey: .permutations) ?? options.permutations
        options.seed = try container.decodeIfPresent(UInt64.self, forKey: .seed) ?? options.seed
        guard options.maximumRows >= 10, options.permutations >= 1 else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "embedding needs sample_rows ≥ 10 and permutations ≥ 1"))
        }
        self.options = options
    }

    /// The present rows of each of `rows`' embeddings, drawn as these settings draw them: from
    /// the whole window, or from the rows at `indices` (a slice's).
    func samples(_ rows: WindowRows, features: [ColumnSchema], indices: [Int]? = nil) -> [String: EmbeddingSample] {
        var samples: [String: EmbeddingSample] = [:]
        for feature in features {
            guard var values = rows.embeddings[feature.name], let dimension = feature.dimension, dimension > 0 else { continue }
            if let indices {
                var picked: [Float] = []
                picked.reserveCapacity(indices.count * dimension)
                for row in indices { picked += values[(row * dimension)..<((row + 1) * dimension)] }
                values = picked
            }
            guard let sample = EmbeddingSample.present(in: values, dimension: dimension, maximum: options.maximumRows, seed: options.seed) else { continue }
            samples[feature.name] = sample
        }
        return samples
    }
}

/// A reference's rows drawn for the tests that compare rows whole (multivariate drift and
/// embeddings); kept with a fixed baseline's profiles (`baseline_profiles.sample`).
struct ReferenceRows: Codable, Sendable, Equatable {
    /// One slice's drawn rows: for the multivariate tests, and of each embedding.
    struct SliceRows: Codable, Sendable, Equatable {
        let key: String
        let value: String
        var table: TableSample?
        var embeddings: [String: EmbeddingSample]?
    }

    var table: TableSample?
    /// Each slice's rows, for its own multivariate and embedding tests; `nil` in a baseline
    /// stored before slices had them.
    var slices: [SliceRows]?
    var embeddings: [String: EmbeddingSample] = [:]
    /// The settings the embeddings were drawn with: most rows, and seed.
    var embeddingRows: Int?
    var embeddingSeed: UInt64?
}
