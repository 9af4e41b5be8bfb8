-- The tamper-evident audit log: every manual action and every automatic decision with
-- consequences, each entry chained to the one before by SHA-256, so an edit or a deletion in the
-- middle breaks the chain (`vigil audit verify`).

CREATE SEQUENCE audit_log_id_seq;

CREATE TABLE audit_log (
    -- Assigned by the insert trigger under a lock, so ids follow the chain's order.
    id             bigint      PRIMARY KEY,
    at             timestamptz NOT NULL,
    actor          text        NOT NULL,
    action         text        NOT NULL,
    subject        text        NOT NULL,
    reason         text,
    details        jsonb       NOT NULL DEFAULT '{}',
    previous_hash  text        NOT NULL,
    hash           text        NOT NULL UNIQUE
);

CREATE INDEX audit_log_at_idx ON audit_log (at);
CREATE INDEX audit_log_actor_idx ON audit_log (actor, id);
CREATE INDEX audit_log_subject_idx ON audit_log (subject, id);

-- What an entry's hash covers, one field per line; the same text `vigil audit verify` recomputes.
CREATE FUNCTION vigil_audit_content(entry audit_log) RETURNS text LANGUAGE sql STABLE AS $$
    SELECT concat_ws(E'\n', entry.id::text, to_char(entry.at AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'), entry.actor, entry.action,
                     entry.subject, coalesce(entry.reason, ''), entry.details::text, entry.previous_hash)
$$;

CREATE FUNCTION vigil_audit_chain() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    -- One writer at a time, so each entry sees the one before it.
    PERFORM pg_advisory_xact_lock(hashtext('vigil_audit_log'));
    NEW.id := nextval('audit_log_id_seq');
    NEW.previous_hash := coalesce((SELECT hash FROM audit_log ORDER BY id DESC LIMIT 1), repeat('0', 64));
    NEW.hash := encode(sha256(convert_to(vigil_audit_content(NEW), 'UTF8')), 'hex');
    RETURN NEW;
END;
$$;

CREATE TRIGGER audit_log_chain BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION vigil_audit_chain();
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log FOR EACH ROW EXECUTE FUNCTION vigil_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log FOR EACH STATEMENT EXECUTE FUNCTION vigil_append_only();

-- The role that runs Vigil may add entries and read them, never change them (the owner's own
-- grants included; only a superuser could bypass the trigger, and the chain shows it).
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM PUBLIC;
REVOKE UPDATE, DELETE, TRUNCATE ON audit_log FROM CURRENT_USER;

-- API tokens: shown once, stored only as a SHA-256 hash, bound to a principal and roles.
CREATE TABLE api_tokens (
    id           bigserial   PRIMARY KEY,
    principal    text        NOT NULL,
    roles        text[]      NOT NULL CHECK (roles <@ ARRAY['viewer', 'auditor', 'operator', 'approver', 'admin']::text[] AND cardinality(roles) > 0),
    -- Models marked sensitive this token may see (`*` for all).
    sensitive    text[]      NOT NULL DEFAULT '{}',
    token_hash   text        NOT NULL UNIQUE,
    -- The first characters, so a person can tell tokens apart.
    prefix       text        NOT NULL,
    created_at   timestamptz NOT NULL,
    created_by   text        NOT NULL,
    expires_at   timestamptz,
    revoked_at   timestamptz,
    revoked_by   text,
    last_used_at timestamptz
);
