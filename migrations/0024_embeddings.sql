-- Embedding features (a workflow's `type: embedding` with its dimension): each row's declared
-- embeddings one after another in declaration order, as 4-byte floats (NaN for one the row did not
-- carry); NULL when it carried none. About 4 bytes a value against 10 or more as JSON text.
ALTER TABLE inference_log ADD COLUMN embeddings real[];
