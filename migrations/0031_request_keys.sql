-- Ingest claims each request by a 16-byte key instead of the text triple (model, request_id, role).
--
-- A primary key on three text columns cost most of an ingest: every row's claim was an
-- `INSERT … ON CONFLICT` into a B-tree compared by collation, about 7 s of the server's 10 s for a
-- million rows. The key is now the first 16 bytes of SHA-256 over (model, request_id) — a uuid:
-- fixed width, compared bytewise — with the role beside it, and ingest writes the claims with COPY,
-- which checks uniqueness as it inserts. The model and request id stay in the row for auditors and
-- for the retention queries.

-- The key of a model's request: SHA-256 over the model's UTF-8 byte length (4 bytes, big-endian),
-- the model and the request id, cut to 16 bytes. The length prefix makes the encoding unambiguous.
-- Ingest computes the same key in Swift (`RequestKeys`); a test holds the two together.
CREATE FUNCTION vigil_request_key(model text, request_id text) RETURNS uuid
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
    SELECT encode(substr(sha256(int4send(length(convert_to(model, 'UTF8'))) || convert_to(model, 'UTF8') || convert_to(request_id, 'UTF8')),
                         1, 16), 'hex')::uuid
$$;

CREATE TABLE inference_request_keys (
    key        uuid        NOT NULL,
    -- One of four words, compared bytewise: the key alone almost always decides.
    role       text        COLLATE "C" NOT NULL,
    model      text        NOT NULL,
    request_id text        NOT NULL,
    ts         timestamptz NOT NULL
);

INSERT INTO inference_request_keys (key, role, model, request_id, ts)
SELECT vigil_request_key(model, request_id), role, model, request_id, ts FROM inference_requests;

-- Every model that has logged an inference, for retention's walk over them: the claims no longer
-- have an index led by the model.
CREATE TABLE logged_models (
    model text PRIMARY KEY
);

INSERT INTO logged_models (model) SELECT DISTINCT model FROM inference_requests;

DROP TABLE inference_requests;
ALTER TABLE inference_request_keys RENAME TO inference_requests;
ALTER TABLE inference_requests ADD CONSTRAINT inference_requests_pkey PRIMARY KEY (key, role);
-- Retention removes a model's claims older than its cutoff; claims arrive roughly in time order.
CREATE INDEX inference_requests_ts_brin ON inference_requests USING brin (ts);
