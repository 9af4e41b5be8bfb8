-- The halves of a model server's logged inference waiting for each other: KServe's payload
-- logger sends the request and the response as two CloudEvents with the same id. Once both are
-- here they become inference-log rows (through the same checks as `vigil ingest`) and leave this
-- table; a half whose other never comes is dropped after a day.
CREATE TABLE inference_event_parts (
    model       text        NOT NULL,
    event_id    text        NOT NULL,
    part        text        NOT NULL CHECK (part IN ('request', 'response')),
    body        jsonb       NOT NULL,
    -- The event's own time (`time` attribute), when it says.
    event_time  timestamptz,
    received_at timestamptz NOT NULL,
    PRIMARY KEY (model, event_id, part)
);

CREATE INDEX inference_event_parts_received_idx ON inference_event_parts (received_at);
