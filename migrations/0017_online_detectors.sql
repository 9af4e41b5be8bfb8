-- Online change detectors (ADWIN, DDM, Page–Hinkley) that `evaluate` rules run over a stream:
-- the model's labelled errors in the order the labels arrived, or one feature's values in the
-- order the rows arrived. Each detector keeps its whole state here between passes, per model
-- and served version, so a pass on another worker (or after a restart) continues the stream
-- exactly where the last one stopped.
CREATE TABLE detector_states (
    model          text        NOT NULL,
    -- The served version whose stream this is ('' when the model is not in the registry).
    model_version  text        NOT NULL,
    -- workflow/step/severity/method:stream, from the rule.
    detector       text        NOT NULL,
    -- The rule's parameters; a state saved under other parameters is started afresh.
    parameters     jsonb       NOT NULL,
    -- The detector's state as `DetectorSnapshot` writes it.
    state          jsonb       NOT NULL,
    -- Values fed so far: the next value's 0-based position in the stream.
    position       bigint      NOT NULL DEFAULT 0,
    -- The stream's order key of the last value fed: (arrival, ts, request id).
    cursor_arrival timestamptz,
    cursor_ts      timestamptz,
    cursor_request text,
    updated_at     timestamptz NOT NULL,
    PRIMARY KEY (model, model_version, detector)
);

-- Every change a detector signalled: where in the stream, which row, and which pass saw it.
CREATE TABLE detector_detections (
    id            bigserial        PRIMARY KEY,
    model         text             NOT NULL,
    model_version text             NOT NULL,
    detector      text             NOT NULL,
    position      bigint           NOT NULL,
    request_id    text             NOT NULL,
    -- When the prediction was made, and when its label (or row) arrived.
    ts            timestamptz      NOT NULL,
    arrived_at    timestamptz      NOT NULL,
    value         double precision NOT NULL,
    detected_at   timestamptz      NOT NULL,
    run_id        bigint,
    UNIQUE (model, model_version, detector, position)
);

CREATE INDEX detector_detections_model_idx ON detector_detections (model, detected_at);
