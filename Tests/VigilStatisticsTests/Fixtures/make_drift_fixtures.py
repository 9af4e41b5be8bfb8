#!/usr/bin/env python3
"""Writes drift_cases.json: reference numbers from SciPy/NumPy for VigilStatistics' drift tests.

Run from this folder: python3 make_drift_fixtures.py
Binned methods use the rule documented in docs/statistics.md (reference-quantile edges by
numpy.quantile, repeated edges merged, bins [e_i, e_i+1), shares floored at epsilon for PSI/KL).
"""
import json
import numpy as np
from scipy import stats
from scipy.spatial.distance import jensenshannon

rng = np.random.default_rng(20261124)
EPS = 1e-4


def numeric_pairs():
    pairs = []
    # Tiny samples, including n = 1, 2, 5.
    for n1, n2 in [(1, 1), (1, 2), (2, 1), (2, 2), (1, 5), (5, 1), (2, 5), (5, 5), (5, 7), (3, 8)]:
        pairs.append((rng.normal(size=n1), rng.normal(0.5, size=n2)))
    # Ties and discrete values.
    for n1, n2 in [(20, 30), (50, 50), (100, 80), (7, 13)]:
        pairs.append((rng.integers(0, 4, n1).astype(float), rng.integers(0, 5, n2).astype(float)))
    # Constant columns.
    pairs.append((np.full(10, 3.0), np.full(12, 3.0)))
    pairs.append((np.full(10, 3.0), np.full(12, 4.0)))
    pairs.append((np.full(40, 0.0), rng.normal(size=30)))
    # Moderate samples, shifted and not.
    for n1, n2, shift, scale in [(30, 30, 0, 1), (100, 120, 0.3, 1), (200, 150, 0, 2), (500, 400, 0.1, 1),
                                 (1000, 1000, 0, 1), (999, 1001, 0.05, 1), (3000, 2000, 0.02, 1.1),
                                 (64, 48, 1.0, 1), (37, 91, 0.5, 0.5), (250, 250, 0.2, 1)]:
        pairs.append((rng.normal(size=n1), rng.normal(shift, scale, size=n2)))
    # Exact at the 10,000 boundary, and asymptotic above it (different regimes of D_n).
    for n1, n2, shift in [(10000, 9000, 0.03), (10001, 5000, 0.0), (12000, 11000, 0.02), (20000, 300, 0.1),
                          (15000, 40, 0.4), (14000, 12000, 0.01), (16000, 10001, 0.0), (11000, 1000, 0.06)]:
        pairs.append((rng.normal(size=n1), rng.normal(shift, size=n2)))
    # Skewed data.
    pairs.append((rng.exponential(size=300), rng.exponential(1.3, size=280)))
    pairs.append((rng.lognormal(size=150), rng.lognormal(0.2, size=170)))
    return pairs


def binned(ref, cur, bins=10):
    edges = []
    for k in range(1, bins):
        e = float(np.quantile(ref, k / bins))
        if not edges or edges[-1] != e:
            edges.append(e)
    edges = np.array(edges)
    cr = np.bincount(np.searchsorted(edges, ref, side="right"), minlength=len(edges) + 1)
    cc = np.bincount(np.searchsorted(edges, cur, side="right"), minlength=len(edges) + 1)
    return edges, cr / cr.sum(), cc / cc.sum()


def psi(p, q):
    p = np.maximum(p, EPS); q = np.maximum(q, EPS)
    return float(np.sum((p - q) * np.log(p / q)))


def kl(p, q):
    p = np.maximum(p, EPS); q = np.maximum(q, EPS)
    return float(max(np.sum(p * np.log(p / q)), 0.0))


def hellinger(p, q):
    return float(np.sqrt(np.sum((np.sqrt(p) - np.sqrt(q)) ** 2) / 2))


def numeric_case(ref, cur):
    ks = stats.ks_2samp(ref, cur, method="auto")
    edges, q, p = binned(ref, cur)
    std = float(np.std(ref))
    scale = std if std > 0 else (abs(float(ref[0])) or 1.0)
    w = float(stats.wasserstein_distance(ref, cur))
    return {
        "reference": ref.tolist(), "current": cur.tolist(),
        "ks": {"statistic": float(ks.statistic), "pvalue": float(ks.pvalue)},
        "wasserstein": w, "wasserstein_normed": w / scale,
        "edges": edges.tolist(), "psi": psi(p, q), "kl": kl(p, q),
        "js": float(jensenshannon(p, q)), "hellinger": hellinger(p, q),
    }


def categorical_case(ref, cur):
    cats = sorted(set(ref) | set(cur))
    rc = np.array([ref.count(c) for c in cats]); cc = np.array([cur.count(c) for c in cats])
    q, p = rc / rc.sum(), cc / cc.sum()
    case = {"reference": ref, "current": cur, "unseen": [c for c in cats if c not in ref],
            "psi": psi(p, q), "kl": kl(p, q), "js": float(jensenshannon(p, q)), "hellinger": hellinger(p, q),
            "tv": float(np.abs(p - q).sum() / 2), "linf": float(np.abs(p - q).max())}
    if len(cats) > 1:
        chi2, pval, dof, _ = stats.chi2_contingency(np.vstack([rc, cc]))
        case["chisquare"] = {"statistic": float(chi2), "pvalue": float(pval)}
    else:
        case["chisquare"] = {"statistic": 0.0, "pvalue": 1.0}
    if len(cats) <= 2:
        n1, n2 = rc.sum(), cc.sum(); x1, x2 = rc[0], cc[0]
        pooled = (x1 + x2) / (n1 + n2)
        se = np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
        z = 0.0 if se == 0 else (x2 / n2 - x1 / n1) / se
        case["z"] = {"statistic": float(z), "pvalue": float(min(1.0, 2 * stats.norm.sf(abs(z))))}
    return case


def categorical_pairs():
    pairs = []
    letters = list("abcdefgh")
    for n1, n2, k1, k2 in [(1, 1, 1, 1), (2, 2, 2, 2), (5, 5, 3, 3), (5, 2, 2, 2), (10, 12, 2, 2), (30, 30, 2, 2),
                           (100, 90, 2, 2), (1000, 1200, 2, 2), (40, 50, 3, 3), (60, 60, 4, 5), (200, 150, 5, 5),
                           (500, 500, 6, 6), (2000, 3000, 8, 8), (50, 40, 3, 4), (80, 100, 4, 6), (15, 9, 3, 3),
                           (300, 300, 2, 3), (7, 7, 2, 2), (1, 5, 1, 2), (5000, 5000, 3, 3)]:
        w1 = rng.dirichlet(np.ones(k1)); w2 = rng.dirichlet(np.ones(k2))
        pairs.append(([str(x) for x in rng.choice(letters[:k1], n1, p=w1)],
                      [str(x) for x in rng.choice(letters[:k2], n2, p=w2)]))
    for n in [20, 100, 1000, 10, 400, 50, 3000, 8, 600, 150]:
        ref = [str(x) for x in rng.choice(["yes", "no"], n, p=[0.3, 0.7])]
        cur = [str(x) for x in rng.choice(["yes", "no"], n + 7, p=[0.35, 0.65])]
        pairs.append((ref, cur))
    pairs.append((["a"] * 10, ["a"] * 10))
    pairs.append((["a"] * 10, ["b"] * 10))
    # More binary columns, so the Z-test has at least 30 cases.
    for n1, n2, p1, p2 in [(1, 3, 0.5, 0.5), (2, 2, 0.5, 0.5), (5, 5, 0.4, 0.6), (12, 40, 0.2, 0.3), (25, 25, 0.5, 0.5),
                           (90, 110, 0.1, 0.15), (700, 650, 0.5, 0.52), (2500, 2400, 0.01, 0.02), (60, 6, 0.9, 0.5),
                           (333, 444, 0.7, 0.6)]:
        pairs.append(([str(x) for x in rng.choice(["t", "f"], n1, p=[p1, 1 - p1])],
                      [str(x) for x in rng.choice(["t", "f"], n2, p=[p2, 1 - p2])]))
    return pairs


def multiple_testing_cases():
    cases = []
    for m in [1, 2, 3, 5, 8, 10, 20, 50]:
        for _ in range(4):
            p = rng.uniform(size=m) ** rng.uniform(0.5, 4)
            if m > 3:
                p[rng.integers(0, m)] = p[0]  # ties
            cases.append({"p": p.tolist(), "bh": stats.false_discovery_control(p, method="bh").tolist(),
                          "bonferroni": np.minimum(1, p * m).tolist()})
    return cases


if __name__ == "__main__":
    out = {
        "scipy": __import__("scipy").__version__,
        "numeric": [numeric_case(r, c) for r, c in numeric_pairs()],
        "categorical": [categorical_case(r, c) for r, c in categorical_pairs()],
        "multiple_testing": multiple_testing_cases(),
    }
    with open("drift_cases.json", "w") as f:
        json.dump(out, f)
    print(len(out["numeric"]), "numeric,", len(out["categorical"]), "categorical,",
          len(out["multiple_testing"]), "multiple-testing cases")
