-- A workflow's lifecycle: `enabled` runs as its triggers and people ask; `disabled` starts no
-- run (triggers, schedules and people alike) until enabled again; `deleted` is gone from listings,
-- schedules and triggers, while its versions, runs and audit trail stay for auditors.
ALTER TABLE workflows
    ADD COLUMN state text NOT NULL DEFAULT 'enabled' CHECK (state IN ('enabled', 'disabled', 'deleted')),
    ADD COLUMN state_changed_at timestamptz,
    ADD COLUMN state_changed_by text;
