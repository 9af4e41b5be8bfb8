-- Runs, their steps, and the append-only history of every state change.
--
-- The legal state transitions are written once in code (VigilEngine's StepState and RunState)
-- and copied here so the database refuses illegal ones too; a test checks the two agree.

CREATE TABLE run_transitions (
    from_state text NOT NULL,
    to_state   text NOT NULL,
    PRIMARY KEY (from_state, to_state)
);

INSERT INTO run_transitions (from_state, to_state) VALUES
    ('queued', 'running'), ('queued', 'succeeded'), ('queued', 'cancelled'),
    ('running', 'waiting'), ('running', 'succeeded'), ('running', 'failed'), ('running', 'cancelled'),
    ('waiting', 'running'), ('waiting', 'succeeded'), ('waiting', 'failed'), ('waiting', 'cancelled'),
    ('succeeded', 'running'), ('failed', 'running'), ('cancelled', 'running');

CREATE TABLE step_transitions (
    from_state text NOT NULL,
    to_state   text NOT NULL,
    PRIMARY KEY (from_state, to_state)
);

INSERT INTO step_transitions (from_state, to_state) VALUES
    ('pending', 'ready'), ('pending', 'skipped'), ('pending', 'cancelled'),
    ('ready', 'running'), ('ready', 'cancelled'),
    ('running', 'succeeded'), ('running', 'failed'), ('running', 'retrying'), ('running', 'sleeping'),
    ('running', 'awaiting_approval'), ('running', 'ready'), ('running', 'cancelled'),
    ('retrying', 'ready'), ('retrying', 'cancelled'),
    ('sleeping', 'ready'), ('sleeping', 'cancelled'),
    ('awaiting_approval', 'ready'), ('awaiting_approval', 'failed'), ('awaiting_approval', 'cancelled'),
    ('succeeded', 'pending'), ('failed', 'pending'), ('skipped', 'pending'), ('cancelled', 'pending');

CREATE TABLE runs (
    id               bigserial   PRIMARY KEY,
    workflow         text        NOT NULL,
    workflow_version integer     NOT NULL,
    state            text        NOT NULL DEFAULT 'queued'
                     CHECK (state IN ('queued', 'running', 'waiting', 'succeeded', 'failed', 'cancelled')),
    params           jsonb       NOT NULL DEFAULT '{}',
    trigger          jsonb       NOT NULL DEFAULT '{}',
    -- Runs with the same key obey the workflow's concurrency policy.
    concurrency_key  text,
    -- The same incident (alert fingerprint, schedule tick) never starts two runs.
    idempotency_key  text        UNIQUE,
    scheduled_for    timestamptz,
    created_at       timestamptz NOT NULL,
    started_at       timestamptz,
    finished_at      timestamptz,
    error            text,
    FOREIGN KEY (workflow, workflow_version) REFERENCES workflow_versions (workflow, version)
);

CREATE INDEX runs_workflow_idx ON runs (workflow, id DESC);
CREATE INDEX runs_active_key_idx ON runs (concurrency_key) WHERE state IN ('queued', 'running', 'waiting');

CREATE TABLE steps (
    run_id           bigint      NOT NULL REFERENCES runs (id),
    name             text        NOT NULL,
    type             text        NOT NULL,
    state            text        NOT NULL DEFAULT 'pending'
                     CHECK (state IN ('pending', 'ready', 'running', 'retrying', 'sleeping', 'awaiting_approval',
                                      'succeeded', 'failed', 'skipped', 'cancelled')),
    needs            text[]      NOT NULL DEFAULT '{}',
    attempt          integer     NOT NULL DEFAULT 0,
    -- When a ready, retrying or sleeping step may next run.
    ready_at         timestamptz,
    lease_owner      text,
    lease_expires_at timestamptz,
    started_at       timestamptz,
    finished_at      timestamptz,
    outputs          jsonb,
    -- What a suspended step keeps between its runs (a sleep's wake time, an approval's decision).
    memo             jsonb,
    -- The next claim resumes a sleep or an approval rather than starting a new attempt.
    resuming         boolean     NOT NULL DEFAULT false,
    error            text,
    -- Stays the same across every attempt of this step in this run.
    idempotency_key  text        NOT NULL,
    PRIMARY KEY (run_id, name)
);

CREATE INDEX steps_ready_idx ON steps (ready_at) WHERE state = 'ready';
CREATE INDEX steps_due_idx ON steps (ready_at) WHERE state IN ('retrying', 'sleeping');
CREATE INDEX steps_leased_idx ON steps (lease_expires_at) WHERE state = 'running';

CREATE TABLE run_events (
    id         bigserial   PRIMARY KEY,
    run_id     bigint      NOT NULL REFERENCES runs (id),
    step       text,
    from_state text,
    to_state   text        NOT NULL,
    attempt    integer,
    actor      text        NOT NULL,
    reason     text,
    at         timestamptz NOT NULL,
    details    jsonb
);

CREATE INDEX run_events_run_idx ON run_events (run_id, id);

-- Refuse state changes the transition tables do not list.
CREATE FUNCTION vigil_check_run_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.state IS DISTINCT FROM OLD.state AND NOT EXISTS (
        SELECT 1 FROM run_transitions WHERE from_state = OLD.state AND to_state = NEW.state
    ) THEN
        RAISE EXCEPTION 'illegal run transition % -> % (run %)', OLD.state, NEW.state, OLD.id
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER runs_transition BEFORE UPDATE OF state ON runs
    FOR EACH ROW EXECUTE FUNCTION vigil_check_run_transition();

CREATE FUNCTION vigil_check_step_transition() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.state IS DISTINCT FROM OLD.state AND NOT EXISTS (
        SELECT 1 FROM step_transitions WHERE from_state = OLD.state AND to_state = NEW.state
    ) THEN
        RAISE EXCEPTION 'illegal step transition % -> % (run %, step %)', OLD.state, NEW.state, OLD.run_id, OLD.name
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER steps_transition BEFORE UPDATE OF state ON steps
    FOR EACH ROW EXECUTE FUNCTION vigil_check_step_transition();

-- History is appended, never rewritten.
CREATE FUNCTION vigil_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP USING ERRCODE = 'insufficient_privilege';
END;
$$;

CREATE TRIGGER run_events_append_only BEFORE UPDATE OR DELETE ON run_events
    FOR EACH ROW EXECUTE FUNCTION vigil_append_only();
CREATE TRIGGER run_events_no_truncate BEFORE TRUNCATE ON run_events
    FOR EACH STATEMENT EXECUTE FUNCTION vigil_append_only();

-- What steps print (a command's stdout and stderr, a step's own log lines), by attempt.
CREATE TABLE step_logs (
    id       bigserial   PRIMARY KEY,
    run_id   bigint      NOT NULL REFERENCES runs (id),
    step     text        NOT NULL,
    attempt  integer     NOT NULL,
    stream   text        NOT NULL CHECK (stream IN ('stdout', 'stderr', 'log')),
    line     text        NOT NULL,
    at       timestamptz NOT NULL
);

CREATE INDEX step_logs_step_idx ON step_logs (run_id, step, id);

-- Each cron tick of a workflow starts at most one run, however many schedulers run.
CREATE TABLE schedule_ticks (
    workflow      text        NOT NULL,
    scheduled_for timestamptz NOT NULL,
    run_id        bigint      REFERENCES runs (id),
    claimed_by    text        NOT NULL,
    claimed_at    timestamptz NOT NULL,
    PRIMARY KEY (workflow, scheduled_for)
);
