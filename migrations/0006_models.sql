-- The model registry: models, their versions with lineage, aliases (champion, challenger,
-- canary with a traffic weight, and any user alias), an append-only changelog per model, shadow
-- comparisons and promotions. The serving layer reads `model_routing`.

CREATE TABLE models (
    name        text        PRIMARY KEY,
    created_at  timestamptz NOT NULL,
    created_by  text        NOT NULL
);

CREATE TABLE model_versions (
    model            text        NOT NULL REFERENCES models (name),
    version          integer     NOT NULL CHECK (version >= 1),
    artifact_uri     text        NOT NULL,
    -- Hex SHA-256 of the artifact's bytes, when known.
    checksum         text,
    framework        text        NOT NULL,
    -- The window of data it was trained on.
    training_start   timestamptz,
    training_end     timestamptz,
    training_rows    bigint,
    parameters       jsonb       NOT NULL DEFAULT '{}',
    -- Offline metrics measured when it was trained.
    metrics          jsonb       NOT NULL DEFAULT '{}',
    parent_version   integer,
    -- The run and step that made it (NULL when registered by hand).
    run_id           bigint      REFERENCES runs (id),
    step             text,
    -- A retried retrain step registers its version once.
    idempotency_key  text        UNIQUE,
    archived         boolean     NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL,
    created_by       text        NOT NULL,
    PRIMARY KEY (model, version)
);

CREATE TABLE model_aliases (
    model       text             NOT NULL REFERENCES models (name),
    alias       text             NOT NULL CHECK (alias ~ '^[a-z][a-z0-9_-]*$'),
    version     integer          NOT NULL,
    -- The share of traffic (0–1) the `canary` alias takes; NULL for other aliases.
    weight      double precision CHECK (weight IS NULL OR (weight >= 0 AND weight <= 1)),
    updated_at  timestamptz      NOT NULL,
    updated_by  text             NOT NULL,
    PRIMARY KEY (model, alias),
    FOREIGN KEY (model, version) REFERENCES model_versions (model, version)
);

-- Every change to what serves traffic, with its cause: registered, shadow_started,
-- shadow_result, canary, promoted, rolled_back, archived, alias_moved.
CREATE TABLE model_changelog (
    id            bigserial   PRIMARY KEY,
    model         text        NOT NULL REFERENCES models (name),
    at            timestamptz NOT NULL,
    actor         text        NOT NULL,
    action        text        NOT NULL,
    version       integer,
    alias         text,
    from_version  integer,
    reason        text,
    run_id        bigint,
    details       jsonb       NOT NULL DEFAULT '{}'
);

CREATE INDEX model_changelog_model_idx ON model_changelog (model, id);

CREATE TRIGGER model_changelog_append_only BEFORE UPDATE OR DELETE ON model_changelog
    FOR EACH ROW EXECUTE FUNCTION vigil_append_only();

-- What the serving layer routes: the champion, and the canary with its share of traffic; the
-- challenger is served in shadow.
CREATE VIEW model_routing AS
SELECT m.name AS model,
       champion.version AS champion_version,
       canary.version AS canary_version,
       coalesce(canary.weight, 0) AS canary_weight,
       challenger.version AS shadow_version,
       greatest(champion.updated_at, canary.updated_at, challenger.updated_at) AS updated_at
FROM models m
LEFT JOIN model_aliases champion ON champion.model = m.name AND champion.alias = 'champion'
LEFT JOIN model_aliases canary ON canary.model = m.name AND canary.alias = 'canary'
LEFT JOIN model_aliases challenger ON challenger.model = m.name AND challenger.alias = 'challenger';

-- Champion and challenger judged on the same requests.
CREATE TABLE shadow_comparisons (
    id                  bigserial        PRIMARY KEY,
    model               text             NOT NULL REFERENCES models (name),
    champion_version    integer          NOT NULL,
    challenger_version  integer          NOT NULL,
    run_id              bigint           REFERENCES runs (id),
    -- logged (shadow predictions from the serving layer) or replay (both scored by Vigil)
    source              text             NOT NULL,
    window_start        timestamptz      NOT NULL,
    window_end          timestamptz      NOT NULL,
    samples             bigint           NOT NULL,
    metric              text             NOT NULL,
    champion_value      double precision,
    challenger_value    double precision,
    lift                double precision,
    lift_low            double precision,
    lift_high           double precision,
    test                text             NOT NULL,
    p_value             double precision,
    agreement           double precision,
    champion_latency_p95   double precision,
    challenger_latency_p95 double precision,
    decision            text             NOT NULL CHECK (decision IN ('promote', 'reject')),
    reasons             jsonb            NOT NULL DEFAULT '[]',
    created_at          timestamptz      NOT NULL
);

-- A canary promotion. At most one is in progress per model: the database refuses a second.
CREATE TABLE promotions (
    id                bigserial        PRIMARY KEY,
    model             text             NOT NULL REFERENCES models (name),
    version           integer          NOT NULL,
    champion_version  integer,
    run_id            bigint           REFERENCES runs (id),
    state             text             NOT NULL CHECK (state IN ('canary', 'awaiting_approval', 'promoted', 'rolled_back')),
    stage_percent     double precision NOT NULL DEFAULT 0,
    started_at        timestamptz      NOT NULL,
    finished_at       timestamptz,
    reason            text,
    FOREIGN KEY (model, version) REFERENCES model_versions (model, version)
);

CREATE UNIQUE INDEX promotions_one_in_progress ON promotions (model) WHERE state IN ('canary', 'awaiting_approval');
