-- Ingest is idempotent: a request's answer is stored once per model and role, however often the
-- serving platform sends it. inference_log is partitioned by day, so a unique index on it would
-- have to include ts (and a re-sent row with another timestamp would slip through): the key lives
-- here instead, claimed with ON CONFLICT DO NOTHING in the transaction that stores the row.
CREATE TABLE inference_requests (
    model      text        NOT NULL,
    request_id text        NOT NULL,
    role       text        NOT NULL,
    ts         timestamptz NOT NULL,
    PRIMARY KEY (model, request_id, role)
);

INSERT INTO inference_requests (model, request_id, role, ts)
SELECT DISTINCT ON (model, request_id, role) model, request_id, role, ts
FROM inference_log
ORDER BY model, request_id, role, ts;

-- What each batch found already stored, and what its labels did.
ALTER TABLE ingest_batches
    ADD COLUMN already_present  bigint NOT NULL DEFAULT 0,
    ADD COLUMN labels_unchanged bigint NOT NULL DEFAULT 0,
    ADD COLUMN labels_corrected bigint NOT NULL DEFAULT 0,
    ADD COLUMN labels_unmatched bigint NOT NULL DEFAULT 0;

-- A label that changed an earlier one: both values are kept; the newest is in inference_labels
-- and is what metrics use.
CREATE TABLE label_corrections (
    id             bigserial   PRIMARY KEY,
    model          text        NOT NULL,
    request_id     text        NOT NULL,
    previous_label text        NOT NULL,
    label          text        NOT NULL,
    batch_id       bigint      REFERENCES ingest_batches (id),
    corrected_at   timestamptz NOT NULL
);

CREATE INDEX label_corrections_request_idx ON label_corrections (model, request_id);

-- Labels that arrived before any inference with their request id. They wait in inference_labels
-- (so they join as soon as the inference arrives) and are listed here until it does; after the
-- workflow's label_grace without one, both rows are deleted.
CREATE TABLE unmatched_labels (
    model       text        NOT NULL,
    request_id  text        NOT NULL,
    received_at timestamptz NOT NULL,
    PRIMARY KEY (model, request_id)
);

CREATE INDEX unmatched_labels_received_idx ON unmatched_labels (model, received_at);
