-- A stable interface for teams that prefer to query their training data: every logged
-- prediction that has a label, with the label and when it became known. Its columns are kept
-- as they are; new ones may be added at the end. Vigil's own tables behind it may change.
CREATE SCHEMA IF NOT EXISTS vigil;
CREATE VIEW vigil.labelled_inferences AS
SELECT l.model, l.model_version, l.role, l.request_id, l.ts, l.features, l.prediction, l.score, l.probabilities,
       l.latency_ms, l.error, y.label, y.known_at AS label_known_at, y.received_at AS label_received_at
FROM inference_log l
JOIN inference_labels y ON y.model = l.model AND y.request_id = l.request_id;
