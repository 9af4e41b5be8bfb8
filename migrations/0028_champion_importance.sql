-- The champion's part in what drives a window's drift: each feature's permutation importance to
-- the champion on the reference's drawn rows and on the window's, and its share of how far they
-- moved (measured for drifted windows when the monitor's multivariate setting asks for it).
ALTER TABLE drift_drivers
    ADD COLUMN importance_share     double precision,
    ADD COLUMN reference_importance double precision,
    ADD COLUMN current_importance   double precision;
