-- Alerts: what a finding raised, who heard of it, what people did about it, and which runs it
-- started. An alert is identified by its fingerprint (model, rule, subject); at most one alert
-- per fingerprint is open at a time, so a finding that fires again updates the open alert.

CREATE TABLE alerts (
    id                 bigserial   PRIMARY KEY,
    fingerprint        text        NOT NULL,
    model              text        NOT NULL,
    -- The alert's name (`churn-drift`); workflows' `alert:` triggers match it.
    rule               text        NOT NULL,
    -- What the alert is about within the model (`model`, a feature, a slice).
    subject            text        NOT NULL,
    -- `vigil` for alerts the escalate step raised, `alertmanager` for alerts received from one.
    source             text        NOT NULL DEFAULT 'vigil',
    severity           text        NOT NULL CHECK (severity IN ('soft', 'hard')),
    state              text        NOT NULL CHECK (state IN ('firing', 'acknowledged', 'resolved', 'silenced')),
    labels             jsonb       NOT NULL DEFAULT '{}',
    -- The latest findings: reasons, drifted features with scores, the window, the run that found them.
    findings           jsonb       NOT NULL DEFAULT '{}',
    -- When the incident started, as the source says (Alertmanager's startsAt; else first_seen).
    started_at         timestamptz NOT NULL,
    first_seen         timestamptz NOT NULL,
    last_seen          timestamptz NOT NULL,
    occurrences        integer     NOT NULL DEFAULT 1,
    escalated_at       timestamptz,
    -- Consecutive evaluations in which the condition was clear (the alert resolves at `resolve_after`).
    clear_windows      integer     NOT NULL DEFAULT 0,
    last_clear_window  text,
    resolve_after      integer     NOT NULL DEFAULT 3,
    -- The channels that hear of this alert at its severity, and when to page them again.
    channels           jsonb       NOT NULL DEFAULT '[]',
    renotify_after     interval,
    renotify_at        timestamptz,
    acknowledged_at    timestamptz,
    acknowledged_by    text,
    resolved_at        timestamptz,
    resolved_by        text,
    resolution         text,
    false_positive     boolean     NOT NULL DEFAULT false,
    -- Why the alert is still open (for example: the retrain run it started failed, and why).
    status_reason      text
);

CREATE UNIQUE INDEX alerts_one_open_per_fingerprint ON alerts (fingerprint) WHERE state <> 'resolved';
CREATE INDEX alerts_model_idx ON alerts (model, first_seen DESC);
CREATE INDEX alerts_renotify_idx ON alerts (renotify_at) WHERE renotify_at IS NOT NULL AND state = 'firing';

-- Every finding an escalate step reported, once per step attempt (its idempotency key), so a
-- retried step does not count twice.
CREATE TABLE alert_findings (
    idempotency_key text        PRIMARY KEY,
    alert_id        bigint      REFERENCES alerts (id),
    severity        text        NOT NULL,
    findings        jsonb       NOT NULL,
    run_id          bigint,
    recorded_at     timestamptz NOT NULL
);

-- What happened to an alert, by whom and why: raised, fired again, escalated, notified,
-- delivery failed, acknowledged, resolved, silenced, marked false positive, run started.
CREATE TABLE alert_events (
    id        bigserial   PRIMARY KEY,
    alert_id  bigint      NOT NULL REFERENCES alerts (id),
    at        timestamptz NOT NULL,
    actor     text        NOT NULL,
    action    text        NOT NULL,
    reason    text,
    details   jsonb       NOT NULL DEFAULT '{}'
);

CREATE INDEX alert_events_alert_idx ON alert_events (alert_id, id);

CREATE TRIGGER alert_events_append_only BEFORE UPDATE OR DELETE ON alert_events
    FOR EACH ROW EXECUTE FUNCTION vigil_append_only();

-- The outbox of notifications. A row is written in the same transaction as the change that calls
-- for it, then delivered; its dedup key is unique, so a retried step or a second keeper never
-- sends the same notification twice.
CREATE TABLE alert_notifications (
    id             bigserial   PRIMARY KEY,
    alert_id       bigint      NOT NULL REFERENCES alerts (id),
    channel        text        NOT NULL,
    -- trigger, renotify, escalate, acknowledge, resolve
    kind           text        NOT NULL,
    dedup_key      text        NOT NULL UNIQUE,
    state          text        NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts       integer     NOT NULL DEFAULT 0,
    claimed_by     text,
    claimed_until  timestamptz,
    last_status    integer,
    last_error     text,
    created_at     timestamptz NOT NULL,
    delivered_at   timestamptz
);

CREATE INDEX alert_notifications_pending_idx ON alert_notifications (created_at) WHERE state = 'pending';
CREATE INDEX alert_notifications_alert_idx ON alert_notifications (alert_id, id);

-- Silences: while one matches, new and re-firing alerts of the model are recorded but notify no one.
CREATE TABLE alert_silences (
    id          bigserial   PRIMARY KEY,
    model       text        NOT NULL,
    -- `NULL` silences every rule of the model.
    rule        text,
    starts_at   timestamptz NOT NULL,
    ends_at     timestamptz NOT NULL,
    created_by  text        NOT NULL,
    reason      text        NOT NULL,
    CHECK (ends_at > starts_at)
);

CREATE INDEX alert_silences_model_idx ON alert_silences (model, ends_at);

-- The runs an alert started; `outcome` is filled in once the run has ended.
CREATE TABLE alert_runs (
    alert_id   bigint      NOT NULL REFERENCES alerts (id),
    run_id     bigint      NOT NULL REFERENCES runs (id),
    workflow   text        NOT NULL,
    created_at timestamptz NOT NULL,
    outcome    text,
    PRIMARY KEY (alert_id, run_id)
);

CREATE INDEX alert_runs_open_idx ON alert_runs (run_id) WHERE outcome IS NULL;
