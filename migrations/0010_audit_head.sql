-- The head of the audit chain, kept outside the table it protects. A hash chain proves the
-- entries it holds, not that none were cut off its end: deleting the newest entries leaves a
-- chain that still verifies. The insert trigger moves this row forward in the same transaction as
-- every entry, so the log and its head commit together; `vigil audit verify` checks the log
-- reaches the head, and `vigil audit head` exports it, so a copy kept elsewhere (a ticket, a
-- signed mail, another system) can check the log later with `vigil audit verify --head`.
CREATE TABLE audit_head (
    singleton  boolean     PRIMARY KEY DEFAULT true CHECK (singleton),
    last_id    bigint      NOT NULL,
    last_hash  text        NOT NULL,
    entries    bigint      NOT NULL,
    updated_at timestamptz NOT NULL
);

INSERT INTO audit_head (last_id, last_hash, entries, updated_at)
SELECT coalesce(max(id), 0), coalesce((SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1), repeat('0', 64)), count(*), now()
FROM audit_log;

-- The head only moves forward, one entry at a time, and is never removed.
CREATE FUNCTION vigil_audit_head_forward() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'UPDATE' OR NEW.last_id <= OLD.last_id OR NEW.entries <> OLD.entries + 1 THEN
        RAISE EXCEPTION 'the audit head only moves forward with a new entry' USING ERRCODE = '42501';
    END IF;
    RETURN NEW;
END;
$$;

CREATE TRIGGER audit_head_forward BEFORE UPDATE OR DELETE ON audit_head FOR EACH ROW EXECUTE FUNCTION vigil_audit_head_forward();
CREATE TRIGGER audit_head_no_truncate BEFORE TRUNCATE ON audit_head FOR EACH STATEMENT EXECUTE FUNCTION vigil_append_only();
REVOKE DELETE, TRUNCATE ON audit_head FROM PUBLIC;
REVOKE DELETE, TRUNCATE ON audit_head FROM CURRENT_USER;

CREATE FUNCTION vigil_audit_advance_head() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE audit_head SET last_id = NEW.id, last_hash = NEW.hash, entries = entries + 1, updated_at = NEW.at;
    RETURN NULL;
END;
$$;

CREATE TRIGGER audit_log_advance_head AFTER INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION vigil_audit_advance_head();
