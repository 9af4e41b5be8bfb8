-- How long the lease of a step's current attempt was, so a step that fails for losing its worker
-- can say so ("worker lost 3 times; last attempt on worker-h1-…, lease 15s").
ALTER TABLE steps ADD COLUMN lease_seconds double precision;
