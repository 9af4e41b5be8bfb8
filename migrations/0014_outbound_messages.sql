-- The outbox for what Vigil sends other than alert notifications (those keep their own table,
-- `alert_notifications`, with the same states and rules). A message is written in the
-- transaction of the change it announces, delivered at least once (backoff between rounds, up
-- to a maximum age, then `dead`), in order per topic and subject. A message whose topic carries
-- the whole state (routing) is `superseded` when a newer one is written before it went out.
CREATE TABLE outbound_messages (
    id               bigserial    PRIMARY KEY,
    -- what kind of message: `routing` (a model's routing, for the serving layer)
    topic            text         NOT NULL,
    -- what it is about (the model): one in flight at a time, in order
    subject          text         NOT NULL,
    body             jsonb        NOT NULL,
    state            text         NOT NULL DEFAULT 'pending'
                                  CHECK (state IN ('pending', 'delivered', 'dead', 'superseded', 'skipped')),
    attempts         integer      NOT NULL DEFAULT 0,
    last_status      integer,
    last_error       text,
    created_at       timestamptz  NOT NULL DEFAULT now(),
    next_attempt_at  timestamptz,
    last_attempt_at  timestamptz,
    delivered_at     timestamptz,
    dead_at          timestamptz,
    claimed_by       text,
    claimed_until    timestamptz
);

CREATE INDEX outbound_messages_due_idx ON outbound_messages (topic, coalesce(next_attempt_at, created_at)) WHERE state = 'pending';
CREATE INDEX outbound_messages_subject_idx ON outbound_messages (topic, subject, id);

-- Every change of a model's routing, by any path (a promotion's stages, `vigil models alias`, a
-- rollback), queues its new routing once per transaction: the trigger runs at commit, when every
-- alias the transaction moves has moved, and skips a routing equal to the last one queued.
CREATE FUNCTION vigil_announce_routing() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    changed text := CASE WHEN TG_OP = 'DELETE' THEN OLD.model ELSE NEW.model END;
    routing jsonb;
    last jsonb;
BEGIN
    SELECT to_jsonb(r) INTO routing FROM model_routing r WHERE r.model = changed;
    IF routing IS NULL THEN
        RETURN NULL;
    END IF;
    SELECT body INTO last FROM outbound_messages WHERE topic = 'routing' AND subject = changed ORDER BY id DESC LIMIT 1;
    IF last IS NOT NULL AND (last - 'updated_at') = (routing - 'updated_at') THEN
        RETURN NULL;
    END IF;
    UPDATE outbound_messages SET state = 'superseded' WHERE topic = 'routing' AND subject = changed AND state = 'pending';
    INSERT INTO outbound_messages (topic, subject, body) VALUES ('routing', changed, routing);
    RETURN NULL;
END
$$;

CREATE CONSTRAINT TRIGGER model_aliases_announce_routing
    AFTER INSERT OR UPDATE OR DELETE ON model_aliases
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION vigil_announce_routing();
