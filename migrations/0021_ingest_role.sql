-- The `ingest` role: a token that may only log predictions, shadow answers and labels (and read
-- a model's routing), for serving processes.
ALTER TABLE api_tokens DROP CONSTRAINT api_tokens_roles_check;
ALTER TABLE api_tokens ADD CONSTRAINT api_tokens_roles_check
    CHECK (roles <@ ARRAY['ingest', 'viewer', 'auditor', 'operator', 'approver', 'admin']::text[] AND cardinality(roles) > 0);
