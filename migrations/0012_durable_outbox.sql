-- Durable delivery. A notification the receiver did not take is no longer `failed` for good: it
-- stays `pending` and is tried again at `next_attempt_at`, with backoff, until the receiver takes
-- it or it reaches its channel's maximum age; then (or at once, for a 4xx other than 408 and 429)
-- it is `dead`, with the receiver's answer kept, until a person retries it.
ALTER TABLE alert_notifications DROP CONSTRAINT alert_notifications_state_check;
UPDATE alert_notifications SET state = 'dead' WHERE state = 'failed';
ALTER TABLE alert_notifications
    ADD CONSTRAINT alert_notifications_state_check CHECK (state IN ('pending', 'delivered', 'dead', 'skipped')),
    ADD COLUMN next_attempt_at  timestamptz,
    ADD COLUMN last_attempt_at  timestamptz,
    ADD COLUMN dead_at          timestamptz;

DROP INDEX alert_notifications_pending_idx;
CREATE INDEX alert_notifications_due_idx ON alert_notifications (coalesce(next_attempt_at, created_at)) WHERE state = 'pending';
CREATE INDEX alert_notifications_dead_idx ON alert_notifications (dead_at) WHERE state = 'dead';

-- How each channel's deliveries have been going, shared by every process that delivers: a
-- channel that keeps failing is paused (its circuit is open until `open_until`, then one message
-- probes it), and one failing for long enough raises an alert on the other channels.
CREATE TABLE channel_health (
    channel               text        PRIMARY KEY,
    consecutive_failures  integer     NOT NULL DEFAULT 0,
    failing_since         timestamptz,
    open_until            timestamptz,
    last_error            text,
    last_success_at       timestamptz,
    dead_letters          bigint      NOT NULL DEFAULT 0,
    -- The alert raised while the channel is degraded.
    degraded_alert_id     bigint      REFERENCES alerts (id)
);
