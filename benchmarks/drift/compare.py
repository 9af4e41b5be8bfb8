"""`vigil drift` against NumPy/SciPy (scipy_drift.py) on the same files, whole process each,
timed in one sitting: the median of `--repeat` runs of each, alternating. Prints one JSON line.

    python3 benchmarks/drift/compare.py --vigil .build/release/vigil [--rows 1000000] [--columns 7]
        [--wide]   # 100 numeric columns x 100,000 rows a side instead

Files are made (seeded) under .build/drift-bench/ unless they exist. The current side has some
columns shifted, so both tools have drift to find; the verdicts are compared too.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))


def make(path: str, rows: int, columns: int, categorical: int, shift: bool, seed: int) -> None:
    generator = np.random.default_rng(seed)
    numeric = columns - categorical
    data = []
    names = []
    for index in range(numeric):
        moved = shift and index % 3 == 0
        data.append(np.round(generator.normal(0.5 if moved else 0.0, 1.0, rows) + index, 6).astype(str))
        names.append(f"x{index}")
    for index in range(categorical):
        weights = np.array([0.5, 0.3, 0.2]) if not (shift and index == 0) else np.array([0.3, 0.3, 0.4])
        data.append(np.array(["basic", "pro", "team"])[generator.choice(3, size=rows, p=weights)])
        names.append(f"c{index}")
    table = np.column_stack(data)
    with open(path, "w") as handle:
        handle.write(",".join(names) + "\n")
        np.savetxt(handle, table, fmt="%s", delimiter=",")


def timed(command: list[str]) -> tuple[float, str]:
    start = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode not in (0, 3):
        sys.exit(f"{command[0]} failed: {result.stderr.strip()}")
    return elapsed, result.stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--vigil", default=".build/release/vigil")
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--columns", type=int, default=7)
    parser.add_argument("--wide", action="store_true", help="100 numeric columns x 100,000 rows")
    parser.add_argument("--repeat", type=int, default=3)
    arguments = parser.parse_args()
    rows, columns, categorical = (100_000, 100, 0) if arguments.wide else (arguments.rows, arguments.columns, 2)
    folder = os.path.join(".build", "drift-bench")
    os.makedirs(folder, exist_ok=True)
    stem = f"{rows}x{columns}"
    reference, current = os.path.join(folder, f"{stem}-reference.csv"), os.path.join(folder, f"{stem}-current.csv")
    for path, shift, seed in ((reference, False, 1), (current, True, 2)):
        if not os.path.exists(path):
            make(path, rows, columns, categorical, shift, seed)

    vigil_times, scipy_times = [], []
    for _ in range(arguments.repeat):
        elapsed, vigil_out = timed([arguments.vigil, "drift", reference, current, "--format", "json"])
        vigil_times.append(elapsed)
        elapsed, scipy_out = timed([sys.executable, os.path.join(HERE, "scipy_drift.py"), reference, current])
        scipy_times.append(elapsed)
    vigil_drifted = sorted(c["column"] for c in json.loads(vigil_out)["report"]["columns"] if c.get("drifted"))
    scipy_drifted = sorted(json.loads(scipy_out)["drifted"])
    vigil_s, scipy_s = statistics.median(vigil_times), statistics.median(scipy_times)
    print(json.dumps({
        "files": f"2 x {rows} rows x {columns} columns", "vigil_s": round(vigil_s, 3), "numpy_scipy_s": round(scipy_s, 3),
        "speedup": round(scipy_s / vigil_s, 2), "same_verdicts": vigil_drifted == scipy_drifted,
        "vigil_drifted": vigil_drifted, "numpy_scipy_drifted": scipy_drifted,
    }))


if __name__ == "__main__":
    main()
