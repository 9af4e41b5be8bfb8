"""Vigil's engine against DBOS Transact on the same PostgreSQL, in one sitting.

Both run the same workload: ``--runs`` workflows of three sequential no-op steps, on
``--workers`` processes (Vigil workers; DBOS executors) with ``--concurrency`` workflows at once
each, with durable commits (the server's defaults: fsync and synchronous_commit on). The figure is
completed steps per second from the moment every process is ready until the last workflow ends.

DBOS is measured two ways, and the ratio is against the faster of the two:

* ``direct``: each process starts its share of the workflows with ``DBOS.start_workflow``
  (in-process, DBOS's fastest path), at most ``--concurrency`` at a time;
* ``queue``: one process enqueues every workflow on a DBOS queue that all processes consume
  (``worker_concurrency=--concurrency``, polling every 10 ms), the analogue of Vigil's shared
  ready queue.

Vigil is measured with ``vigil bench engine --server-url`` (a throwaway database on the same
server) before and after DBOS; the median of its runs is compared. Prints one JSON line.

Usage (from the repository root, after ``swift build -c release``)::

    python3 -m venv .build/bench-venv && .build/bench-venv/bin/pip install dbos
    .build/bench-venv/bin/python benchmarks/dbos/compare.py
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from importlib import metadata
from typing import Any
from urllib.parse import urlsplit, urlunsplit


def with_database(url: str, name: str) -> str:
    """``url`` pointing at database ``name``."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, "/" + name, parts.query, parts.fragment))


def dbos_process(
    url: str, mode: str, share: int, concurrency: int, ready: Any, go: Any, done: Any, finished: Any, enqueue: int
) -> None:
    """One DBOS executor: launches, waits for the start signal, runs its share, reports the end time.

    In ``queue`` mode only the process that enqueues reports (once every workflow it enqueued has
    finished, wherever it ran); the others consume the queue until the parent sets ``finished``.
    """
    from dbos import DBOS, DBOSConfig

    config: DBOSConfig = {"name": "vigil-bench", "system_database_url": url, "log_level": "ERROR"}
    DBOS(config=config)

    @DBOS.step()
    def noop() -> None:
        return None

    @DBOS.workflow()
    def three_steps() -> None:
        noop()
        noop()
        noop()

    DBOS.launch()
    queue = DBOS.register_queue("bench", worker_concurrency=concurrency, polling_interval_sec=0.01)
    ready.put(os.getpid())
    go.wait()
    if mode == "direct":
        gate = threading.Semaphore(concurrency)
        handles = []
        for _ in range(share):
            gate.acquire()
            handle = DBOS.start_workflow(three_steps)
            handles.append(handle)
            threading.Thread(target=lambda h=handle: (h.get_result(), gate.release()), daemon=True).start()
        for handle in handles:
            handle.get_result()
        done.put(time.time())
    elif enqueue:
        handles = [queue.enqueue(three_steps) for _ in range(enqueue)]
        for handle in handles:
            handle.get_result()
        done.put(time.time())
    else:
        finished.wait()
    DBOS.destroy()


def drop_database(server: str, name: str) -> None:
    """Drops a benchmark's system database (psycopg comes with DBOS)."""
    import psycopg

    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def measure_dbos(server: str, mode: str, runs: int, workers: int, concurrency: int) -> float:
    """Steps per second of DBOS in `mode` on a fresh system database."""
    url = with_database(server, f"dbos_bench_{uuid.uuid4().hex[:8]}")
    context = mp.get_context("spawn")
    ready, done, go, finished = context.Queue(), context.Queue(), context.Event(), context.Event()
    processes = []
    for index in range(workers):
        share = runs // workers + (1 if index < runs % workers else 0)
        enqueue = runs if (mode == "queue" and index == 0) else 0
        process = context.Process(target=dbos_process, args=(url, mode, share, concurrency, ready, go, done, finished, enqueue))
        process.start()
        processes.append(process)
    for _ in processes:
        ready.get(timeout=300)
    start = time.time()
    go.set()
    ends = [done.get(timeout=1_800) for _ in (processes if mode == "direct" else processes[:1])]
    finished.set()
    for process in processes:
        process.join(timeout=60)
        if process.is_alive():
            process.terminate()
    drop_database(server, urlsplit(url).path[1:])
    return runs * 3 / (max(ends) - start)


def measure_vigil(vigil: str, server: str, runs: int, workers: int, concurrency: int) -> float:
    """Steps per second of `vigil bench engine` on the same server."""
    line = subprocess.run(
        [vigil, "bench", "engine", "--server-url", server, "--workers", str(workers), "--runs", str(runs),
         "--concurrency", str(concurrency), "--latency-runs", "5"],
        check=True, capture_output=True, text=True,
    ).stdout.strip().splitlines()[-1]
    return float(json.loads(line)[f"steps_per_s_{workers}w"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vigil", default=".build/release/vigil", help="the vigil binary")
    parser.add_argument("--server-url", help="a PostgreSQL server (default: a private cluster started with `vigil db url`)")
    parser.add_argument("--runs", type=int, default=500)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--concurrency", type=int, default=16)
    arguments = parser.parse_args()

    home = tempfile.mkdtemp(prefix="vigil-dbos-bench-")
    # Readable by the cluster's unprivileged server user, so its data stays inside `home` and goes with it.
    os.chmod(home, 0o755)
    environment = dict(os.environ, VIGIL_HOME=home)
    server = arguments.server_url or subprocess.run(
        [arguments.vigil, "db", "url"], check=True, capture_output=True, text=True, env=environment
    ).stdout.strip()
    try:
        vigil = [measure_vigil(arguments.vigil, server, arguments.runs, arguments.workers, arguments.concurrency)]
        direct = measure_dbos(server, "direct", arguments.runs, arguments.workers, arguments.concurrency)
        queued = measure_dbos(server, "queue", arguments.runs, arguments.workers, arguments.concurrency)
        vigil.append(measure_vigil(arguments.vigil, server, arguments.runs, arguments.workers, arguments.concurrency))
    finally:
        if not arguments.server_url:
            subprocess.run([arguments.vigil, "db", "stop"], env=environment, capture_output=True, check=False)
        shutil.rmtree(home, ignore_errors=True)
    best = max(direct, queued)
    print(json.dumps({
        "benchmark": "engine_vs_dbos", "dbos_version": metadata.version("dbos"),
        "runs": arguments.runs, "steps_per_run": 3, "workers": arguments.workers, "concurrency": arguments.concurrency,
        "vigil_steps_per_s": [round(v, 1) for v in vigil], "dbos_direct_steps_per_s": round(direct, 1),
        "dbos_queue_steps_per_s": round(queued, 1), "ratio": round(statistics.median(vigil) / best, 2),
    }))


if __name__ == "__main__":
    sys.exit(main())
