import VigilWorkflow

/// Encodes a file's chunks one ahead of the database: while the server claims and copies chunk N
/// on the ingest's connection, chunk N+1 is parsed and checked on another thread, so the two
/// halves of an ingest (client parsing, server writing) overlap on two cores.
///
/// `@unchecked Sendable`: the reader and the encoder are only touched by the chunk being encoded,
/// and there is at most one at a time — ``encodeNext()`` is called again only after the caller has
/// awaited the previous chunk, and ``finished()`` only after the last — so no two threads ever
/// touch them at once, and each hand-over is ordered by awaiting a task's value.
final class ChunkPipeline: @unchecked Sendable {
    private var encoder: InferenceRowEncoder
    private let reader: DataRecordReader

    init(encoder: InferenceRowEncoder, reader: DataRecordReader) {
        self.encoder = encoder
        self.reader = reader
    }

    /// Starts encoding the next chunk on another thread.
    func encodeNext() -> Task<InferenceRowEncoder.Chunk, any Error> {
        Task(executorPreference: ThreadExecutor.compute) { try self.encoder.encodeChunk(self.reader) }
    }

    /// The encoder with everything the read found, once the last chunk has been awaited.
    func finished() -> InferenceRowEncoder { encoder }
}
