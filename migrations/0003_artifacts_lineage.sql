-- What steps produce (model files, reports, datasets) and how things lead to one another, so an
-- auditor can follow a model version back to the data and the alert that caused it.

CREATE TABLE artifacts (
    id         bigserial   PRIMARY KEY,
    run_id     bigint      NOT NULL REFERENCES runs (id),
    step       text        NOT NULL,
    attempt    integer     NOT NULL,
    name       text        NOT NULL,
    kind       text        NOT NULL,
    uri        text        NOT NULL,
    -- Hex SHA-256 of the artifact's bytes, when known.
    checksum   text,
    metadata   jsonb       NOT NULL DEFAULT '{}',
    created_at timestamptz NOT NULL,
    UNIQUE (run_id, step, name)
);

-- One edge of the lineage graph: `from` led to `to`. Nodes are named by kind and id
-- ('data_window', 'alert', 'run', 'model_version', 'artifact', …), so any table can take part.
CREATE TABLE lineage_edges (
    id         bigserial   PRIMARY KEY,
    from_kind  text        NOT NULL,
    from_id    text        NOT NULL,
    to_kind    text        NOT NULL,
    to_id      text        NOT NULL,
    relation   text        NOT NULL,
    run_id     bigint      REFERENCES runs (id),
    step       text,
    created_at timestamptz NOT NULL,
    UNIQUE (from_kind, from_id, to_kind, to_id, relation)
);

CREATE INDEX lineage_from_idx ON lineage_edges (from_kind, from_id);
CREATE INDEX lineage_to_idx ON lineage_edges (to_kind, to_id);

CREATE TRIGGER lineage_edges_append_only BEFORE UPDATE OR DELETE ON lineage_edges
    FOR EACH ROW EXECUTE FUNCTION vigil_append_only();
