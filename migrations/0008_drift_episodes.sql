-- Known drift episodes: periods when what a model sees, or what its labels mean, is known to have
-- changed — a simulator's scenario, or a change an operator records (a pricing campaign, a new
-- market). They are the ground truth `vigil report` measures detection against: the lead time
-- from onset to the first alert, and the precision and recall of alerts.
CREATE TABLE drift_episodes (
    id          bigserial   PRIMARY KEY,
    model       text        NOT NULL,
    kind        text        NOT NULL CHECK (kind IN ('data', 'concept', 'gradual', 'serving')),
    started_at  timestamptz NOT NULL,
    -- Open while the change lasts.
    ended_at    timestamptz CHECK (ended_at IS NULL OR ended_at > started_at),
    -- Who knows: `simulator:SCENARIO`, or the person who recorded it.
    source      text        NOT NULL,
    note        text,
    recorded_at timestamptz NOT NULL DEFAULT now(),
    -- Recording the same episode twice keeps one row.
    UNIQUE (model, kind, started_at, source)
);

CREATE INDEX drift_episodes_model_idx ON drift_episodes (model, started_at);
