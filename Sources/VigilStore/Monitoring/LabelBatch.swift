import Foundation

/// Labels read alongside inferences, written to `inference_labels` after the rows.
struct LabelBatch {
    var requestIDs: [String] = []
    var labels: [String] = []
    /// When each label became known, when its source said (`label_ts`); else the ingest time.
    var knownAt: [Date?] = []

    mutating func append(requestID: String, label: String, knownAt: Date? = nil) {
        requestIDs.append(requestID)
        labels.append(label)
        self.knownAt.append(knownAt)
    }
}
