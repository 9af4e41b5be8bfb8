"""Issue 24's speed goals, measured one after the other in one sitting, each against its target.

Runs the project's own benchmarks in sequence on the same machine and build, reads each one's JSON
line, and prints a Markdown table (goal, target, measured, met) followed by one JSON line with
every raw figure. Peers that are not installed are reported as not measured, never guessed.

    python3 benchmarks/speed_goals.py --vigil .build/release/vigil
        [--quick]              # 1M-row monitor window and 300 engine runs instead of 10M and 500
        [--dbos-python PATH]   # a Python with `dbos` installed (default: .build/bench-venv/bin/python)

What each goal runs:

* ingest: ``vigil bench ingest`` (1M rows into a fresh embedded cluster) and
  ``benchmarks/ingest/python_client.py`` (the same shape through the HTTP API with the Python client);
* drift: ``benchmarks/drift/compare.py`` (2 × 1M rows × 7 columns, and ``--wide``:
  100 numeric columns × 100,000 rows a side) against NumPy/SciPy; Evidently is not installed here;
* engine: ``vigil bench engine`` (dispatch p50) and ``benchmarks/dbos/compare.py`` (steps/s against
  DBOS Transact on one PostgreSQL), when a Python with ``dbos`` is at hand;
* monitor: ``vigil bench monitor --rows 10000000`` (a pass over a 10M-row day against a bare scan).

The 100M-row flatness goal takes about 40 minutes on its own (``vigil bench scale``) and is not
part of this sitting; docs/performance.md charts its last run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional

ROOT = Path(__file__).resolve().parents[1]


class Goal:
    """One of the issue's targets: what it asks, and how a benchmark's figures answer it."""

    def __init__(self, name: str, target: str, judge: Callable[[], tuple[str, Optional[bool]]]) -> None:
        self.name = name
        self.target = target
        self.judge = judge


def last_json_line(command: List[str], cwd: Path = ROOT) -> Dict[str, Any]:
    """Runs a benchmark and returns the JSON object on the last line of its standard output."""
    started = time.perf_counter()
    result = subprocess.run(command, capture_output=True, text=True, cwd=cwd)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} exited {result.returncode}: {result.stderr.strip()[-400:]}")
    lines = [line for line in result.stdout.splitlines() if line.strip().startswith("{")]
    if not lines:
        raise RuntimeError(f"{' '.join(command)} printed no JSON line")
    figures = json.loads(lines[-1])
    figures["wall_s"] = round(time.perf_counter() - started, 1)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vigil", default=str(ROOT / ".build" / "release" / "vigil"))
    parser.add_argument("--dbos-python", default=str(ROOT / ".build" / "bench-venv" / "bin" / "python"))
    parser.add_argument("--quick", action="store_true", help="a 1M-row monitor window and 300 engine runs")
    arguments = parser.parse_args()
    vigil = os.path.abspath(arguments.vigil)
    python = sys.executable
    monitor_rows = 1_000_000 if arguments.quick else 10_000_000
    engine_runs = 300 if arguments.quick else 500

    measured: Dict[str, Dict[str, Any]] = {}
    plan: List[tuple[str, List[str]]] = [
        ("ingest", [vigil, "bench", "ingest"]),
        ("ingest_http", [python, "benchmarks/ingest/python_client.py", "--vigil", vigil, "--rows", "1000000"]),
        ("drift", [python, "benchmarks/drift/compare.py", "--vigil", vigil]),
        ("drift_wide", [python, "benchmarks/drift/compare.py", "--vigil", vigil, "--wide"]),
        ("engine", [vigil, "bench", "engine"]),
        ("monitor", [vigil, "bench", "monitor", "--rows", str(monitor_rows)]),
    ]
    if Path(arguments.dbos_python).exists():
        plan.insert(5, ("engine_vs_dbos", [arguments.dbos_python, "benchmarks/dbos/compare.py", "--vigil", vigil, "--runs", str(engine_runs)]))
    for name, command in plan:
        print(f"running {name}: {' '.join(command)}", file=sys.stderr, flush=True)
        try:
            measured[name] = last_json_line(command)
        except RuntimeError as failure:
            measured[name] = {"error": str(failure)}
        print(json.dumps(measured[name]), file=sys.stderr, flush=True)

    def figure(name: str, key: str) -> Optional[float]:
        value = measured.get(name, {}).get(key)
        return float(value) if isinstance(value, (int, float)) else None

    def rate(name: str, key: str, floor: float) -> tuple[str, Optional[bool]]:
        value = figure(name, key)
        return ("not measured", None) if value is None else (f"{value:,.0f} rows/s", value >= floor)

    def drift(name: str) -> tuple[str, Optional[bool]]:
        vigil_s, speedup = figure(name, "vigil_s"), figure(name, "speedup")
        if vigil_s is None or speedup is None:
            return "not measured", None
        return f"{vigil_s:.2f} s, {speedup:.1f}× NumPy/SciPy", speedup >= 2.0

    def wide() -> tuple[str, Optional[bool]]:
        vigil_s = figure("drift_wide", "vigil_s")
        return ("not measured", None) if vigil_s is None else (f"{vigil_s:.2f} s", vigil_s <= 2.0)

    def dbos() -> tuple[str, Optional[bool]]:
        ratio = figure("engine_vs_dbos", "ratio")
        if ratio is None:
            return "not measured (no Python with `dbos`; see docs/performance.md)", None
        return f"{ratio:.2f}× DBOS Transact", ratio >= 4.0

    def dispatch() -> tuple[str, Optional[bool]]:
        p50 = figure("engine", "dispatch_p50_ms")
        return ("not measured", None) if p50 is None else (f"{p50:.1f} ms", p50 < 5.0)

    def monitor() -> tuple[str, Optional[bool]]:
        ratio, peak = figure("monitor", "monitor_to_scan"), figure("monitor", "monitor_pass_peak_resident_mib")
        if ratio is None or peak is None:
            return "not measured", None
        return f"{ratio:.2f}× the scan, {peak:,.0f} MiB", ratio <= 3.0 and peak < 1024

    goals = [
        Goal("`vigil ingest`", "≥ 300,000 rows/s", lambda: rate("ingest", "ingest_rows_per_s", 300_000)),
        Goal("HTTP API with the Python client", "≥ 300,000 rows/s", lambda: rate("ingest_http", "client_rows_per_s", 300_000)),
        Goal("`vigil drift`, 2 × 1M rows × 7 columns", "≥ 2× NumPy/SciPy (≥ 20× Evidently: not installed)", lambda: drift("drift")),
        Goal("`vigil drift`, 100 columns × 100k rows a side", "≤ 2 s", wide),
        Goal("engine steps/s, durable commits", "≥ 4× DBOS Transact", dbos),
        Goal("engine dispatch p50", "< 5 ms", dispatch),
        Goal(f"monitor pass over a {monitor_rows // 1_000_000}M-row day", "≤ 3× a bare scan, < 1 GB", monitor),
    ]
    print("| goal | target | measured | met |")
    print("| --- | --- | --- | --- |")
    for goal in goals:
        text, met = goal.judge()
        print(f"| {goal.name} | {goal.target} | {text} | {'—' if met is None else ('yes' if met else '**no**')} |")
    print(json.dumps({"benchmark": "speed_goals", "measured": measured}))


if __name__ == "__main__":
    main()
