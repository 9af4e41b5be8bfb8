-- Workflows as applied by `vigil apply`: one row per workflow name, one version per distinct content.
CREATE TABLE workflows (
    name        text PRIMARY KEY,
    created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE workflow_versions (
    workflow     text        NOT NULL REFERENCES workflows (name),
    version      integer     NOT NULL CHECK (version > 0),
    content_hash text        NOT NULL,
    source       text        NOT NULL,
    spec         jsonb       NOT NULL,
    applied_at   timestamptz NOT NULL DEFAULT now(),
    applied_by   text        NOT NULL,
    PRIMARY KEY (workflow, version),
    UNIQUE (workflow, content_hash)
);
