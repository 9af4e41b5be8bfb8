"""``Vigil``: the client a serving process and a notebook use."""

from __future__ import annotations

import atexit
import threading
import time
import urllib.parse
from typing import Any, Dict, List, Optional, Tuple

from . import _rows
from ._delivery import Delivery, DeliveryStats
from ._errors import VigilError
from ._http import Transport, error_of

_TERMINAL_RUN_STATES = {"succeeded", "failed", "cancelled"}


class Vigil:
    """A connection to one Vigil server (``vigil serve``) with one API token.

    Logging (``log_predictions``, ``log_shadow``, ``log_labels``) only queues rows: background
    threads send them in batches of ``batch_size`` rows (encoding the next batch while the last is
    sent), at least every ``flush_interval`` seconds, retrying a failed batch up to
    ``max_attempts`` times with exponential backoff from ``backoff`` seconds. At most
    ``max_queue`` rows wait; beyond that new rows are dropped and counted (``stats``), and a
    warning is logged on the ``vigil_client`` logger at most every ten seconds. Logging never blocks on the network and never raises because Vigil is down. Rows
    are idempotent by request id: a batch sent twice is stored once. At exit the client flushes
    for up to ``close_timeout`` seconds.

    A serving process needs only a token with the ``ingest`` role (``vigil tokens create --role
    ingest``); reading runs, alerts and metrics needs ``viewer``.
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        batch_size: int = 1000,
        flush_interval: float = 1.0,
        max_queue: int = 100_000,
        max_attempts: int = 5,
        backoff: float = 0.5,
        timeout: float = 10.0,
        routing_ttl: float = 5.0,
        close_timeout: float = 5.0,
    ) -> None:
        self._transport = Transport(url, token, timeout)
        self._delivery = Delivery(
            self._transport, batch_size=batch_size, flush_interval=flush_interval, max_queue=max_queue, max_attempts=max_attempts, backoff=backoff
        )
        self._routing_ttl = routing_ttl
        self._routing: Dict[str, Tuple[str, Dict[str, Any], float]] = {}
        self._routing_lock = threading.Lock()
        self._routing_revalidations = 0
        self._close_timeout = close_timeout
        self._closed = False
        atexit.register(self.close)

    # Logging.

    def log_predictions(self, model: str, rows: _rows.Rows, *, version: Optional[str] = None, role: str = "champion") -> int:
        """Queues served predictions: dicts (or a pandas DataFrame or Arrow table) with
        ``request_id`` (one is made when missing), ``ts`` (now when missing), ``prediction``,
        ``score`` or ``probabilities``, ``latency_ms`` and the features, each its own key.
        ``version`` is the model version that answered, ``role`` how it was routed (champion,
        canary, challenger, shadow). Returns how many rows were queued."""
        if role not in ("champion", "canary", "challenger", "shadow"):
            raise ValueError(f"role must be champion, canary, challenger or shadow, found {role!r}")
        batch = [_rows.prediction(row) for row in _rows.records(rows)]
        return self._delivery.put(("inferences", _model(model), role, "" if version is None else str(version)), batch)

    def log_shadow(self, model: str, version: Any, rows: _rows.Rows) -> int:
        """Queues a challenger's shadow answers to requests the champion served: the same
        ``request_id`` as the served row, the challenger's ``prediction`` and ``score``. What
        ``shadow_compare`` compares against the champion's."""
        return self.log_predictions(model, rows, version=str(version), role="shadow")

    def log_labels(self, model: str, rows: _rows.Rows) -> int:
        """Queues ground truth as it becomes known: ``request_id``, ``label`` and optionally
        ``label_ts`` (when it became known; default when Vigil receives it)."""
        batch = [_rows.label(row) for row in _rows.records(rows)]
        return self._delivery.put(("labels", _model(model), "", ""), batch)

    def flush(self, timeout: Optional[float] = None) -> bool:
        """Sends what is queued now; whether everything was handled within ``timeout`` seconds."""
        return self._delivery.flush(timeout)

    @property
    def stats(self) -> DeliveryStats:
        """What happened to the logged rows so far: sent, dropped, rejected, still queued."""
        return self._delivery.stats

    def close(self) -> DeliveryStats:
        """Flushes (for up to ``close_timeout`` seconds) and stops sending; safe to call twice."""
        if self._closed:
            return self._delivery.stats
        self._closed = True
        atexit.unregister(self.close)
        return self._delivery.close(self._close_timeout)

    def __enter__(self) -> "Vigil":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    # Reading.

    def routing(self, model: str) -> Dict[str, Any]:
        """What the serving layer should route for ``model`` (``champion_version``,
        ``canary_version``, ``canary_weight``, ``shadow_version``, …). Cached for
        ``routing_ttl`` seconds, then revalidated with its ETag (a 304 costs no body); when
        Vigil cannot be reached the last known routing is returned. Safe to call per request."""
        name = _model(model)
        now = time.monotonic()
        with self._routing_lock:
            cached = self._routing.get(name)
            if cached and now - cached[2] < self._routing_ttl:
                return cached[1]
        headers = {"If-None-Match": cached[0]} if cached else None
        try:
            answer = self._transport.request("GET", f"/api/v1/models/{name}/routing", headers=headers)
        except VigilError:
            if cached:
                return cached[1]
            raise
        with self._routing_lock:
            if answer.status == 304 and cached:
                self._routing_revalidations += 1
                self._routing[name] = (cached[0], cached[1], now)
                return cached[1]
            if answer.status == 200:
                value = answer.json()
                self._routing[name] = (answer.headers.get("etag", ""), value, now)
                return value
        if cached and answer.status >= 500:
            return cached[1]
        raise error_of(answer)

    @property
    def routing_revalidations(self) -> int:
        """How many routing checks Vigil answered with 304 (unchanged)."""
        with self._routing_lock:
            return self._routing_revalidations

    def versions(self, model: str) -> List[Dict[str, Any]]:
        """A model's versions, oldest first, with their artifact URIs, lineage and offline metrics
        (viewer role): where a serving process finds the artifact of the version routing names."""
        return list(self._transport.json("GET", f"/api/v1/models/{_model(model)}/versions").get("versions", []))

    def start_run(self, workflow: str, params: Optional[Dict[str, Any]] = None, *, idempotency_key: Optional[str] = None) -> int:
        """Starts a run of a stored workflow (operator role); its id. The same
        ``idempotency_key`` never starts a second run."""
        import json

        body: Dict[str, Any] = {}
        if params:
            body["params"] = params
        if idempotency_key:
            body["idempotency_key"] = idempotency_key
        answer = self._transport.json(
            "POST", f"/api/v1/workflows/{urllib.parse.quote(workflow, safe='')}/runs", body=json.dumps(body).encode(), content_type="application/json"
        )
        return int(answer["run"])

    def run(self, run_id: int) -> Dict[str, Any]:
        """One run with its steps."""
        return self._transport.json("GET", f"/api/v1/runs/{int(run_id)}")

    def wait_for_run(self, run_id: int, timeout: float = 600.0, poll: float = 1.0) -> Dict[str, Any]:
        """Waits until the run succeeds, fails or is cancelled, and returns it; ``TimeoutError``
        when it is still going after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            run = self.run(run_id)
            if run.get("state") in _TERMINAL_RUN_STATES:
                return run
            if time.monotonic() >= deadline:
                raise TimeoutError(f"run {run_id} is still {run.get('state')} after {timeout:g}s")
            time.sleep(poll)

    def alerts(self, model: Optional[str] = None, state: Optional[str] = None, since: Optional[str] = None) -> List[Dict[str, Any]]:
        """Alerts, newest first: of one ``model``, in ``state`` (firing, acknowledged, silenced,
        resolved; comma-separated for several), within ``since`` (a duration such as ``24h``)."""
        answer = self._transport.json("GET", "/api/v1/alerts", query={"model": model, "state": state, "since": since})
        return list(answer.get("alerts", []))

    def metrics(self, model: str, kind: str = "performance", since: str = "7d", *, estimated: bool = False, slices: bool = False) -> Any:
        """One metric table of ``model`` as a pandas DataFrame, newest windows first: ``kind`` is
        performance, drift, integrity or operational; ``since`` a duration back from now;
        ``estimated`` adds performance estimated before labels, with bands. Numeric columns are
        numbers and ``window_start`` a UTC time. Needs pandas."""
        try:
            import pandas as pd
        except ImportError as error:  # pragma: no cover - depends on the environment
            raise ImportError("Vigil.metrics returns a pandas DataFrame: pip install 'vigil-client[pandas]'") from error
        answer = self._transport.json(
            "GET", f"/api/v1/models/{_model(model)}/metrics", query={"kind": kind, "since": since, "estimated": estimated, "slices": slices}
        )
        frame = pd.DataFrame(answer["rows"], columns=answer["columns"])
        for column in frame.columns:
            if column == "window_start":
                frame[column] = pd.to_datetime(frame[column], utc=True)
                continue
            cells = frame[column].replace("", None)
            numbers = pd.to_numeric(cells, errors="coerce")
            if numbers.notna().sum() == cells.notna().sum():
                frame[column] = numbers
            elif set(cells.dropna().unique()) <= {"true", "false"}:
                frame[column] = cells.map({"true": True, "false": False})
        return frame


def _model(name: str) -> str:
    if not name or not all(c.isalnum() or c in "._-" for c in name):
        raise ValueError(f"a model name is letters, digits, '.', '_' and '-', found {name!r}")
    return name
