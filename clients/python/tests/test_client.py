"""vigil-client against a real `vigil serve` (see conftest.py)."""

from __future__ import annotations

import datetime as dt
import os
import signal
import threading
import time
import uuid
from typing import List

import pytest

from vigil_client import Vigil, VigilError

START = dt.datetime(2026, 11, 24, 10, 0, tzinfo=dt.timezone.utc)


def predictions(prefix: str, count: int) -> List[dict]:
    return [
        {"request_id": f"{prefix}-{i}", "ts": START + dt.timedelta(seconds=i), "tenure": i % 60, "plan": "basic", "prediction": "1", "score": 0.7}
        for i in range(count)
    ]


def test_predictions_and_labels_are_stored_once(server):
    prefix = uuid.uuid4().hex[:8]
    with Vigil(server.url, server.ingest_token, batch_size=1000) as vigil:
        assert vigil.log_predictions("churn", predictions(prefix, 2500), version="1") == 2500
        assert vigil.flush(60)
        first = vigil.stats
        assert (first.sent, first.loaded, first.dropped, first.rejected, first.queued) == (2500, 2500, 0, 0, 0), first
        # The same requests again: taken, and stored once.
        vigil.log_predictions("churn", predictions(prefix, 2500), version="1")
        assert vigil.flush(60)
        again = vigil.stats
        assert (again.sent, again.loaded, again.duplicates) == (5000, 2500, 2500), again
        vigil.log_labels("churn", [{"request_id": f"{prefix}-{i}", "label": "1"} for i in range(100)])
        assert vigil.flush(60)
        assert vigil.stats.sent == 5100 and vigil.stats.loaded == 2600, vigil.stats


def test_dataframes_arrow_tables_and_shadow_answers(server):
    pd = pytest.importorskip("pandas")
    pa = pytest.importorskip("pyarrow")
    prefix = uuid.uuid4().hex[:8]
    frame = pd.DataFrame(predictions(prefix, 300))
    frame["ts"] = pd.to_datetime(frame["ts"], utc=True)
    frame.loc[3, "score"] = float("nan")
    with Vigil(server.url, server.ingest_token) as vigil:
        vigil.log_predictions("churn", frame, version="1")
        vigil.log_predictions("churn", pa.Table.from_pylist(predictions(prefix + "a", 200)), version="1")
        # The challenger's answers to the same requests, for shadow_compare.
        vigil.log_shadow("churn", 2, [dict(row, prediction="0", score=0.3) for row in predictions(prefix, 300)])
        assert vigil.flush(60)
        assert (vigil.stats.loaded, vigil.stats.dropped, vigil.stats.rejected) == (800, 0, 0), vigil.stats


def test_labels_need_a_request_id():
    with Vigil("http://127.0.0.1:9", "vgl_x") as vigil:
        with pytest.raises(ValueError, match="request_id"):
            vigil.log_labels("churn", [{"label": "1"}])


def test_routing_is_cached_and_revalidated_with_its_etag(server):
    with Vigil(server.url, server.ingest_token, routing_ttl=0) as vigil:
        first = vigil.routing("churn")
        assert first["champion_version"] == 1
        assert vigil.routing("churn") == first
        assert vigil.routing_revalidations >= 1
    with Vigil(server.url, server.ingest_token, routing_ttl=60) as vigil:
        vigil.routing("churn")
        vigil.routing("churn")
        assert vigil.routing_revalidations == 0  # within the TTL no request is made


def test_an_ingest_token_can_log_but_not_read(server):
    with Vigil(server.url, server.ingest_token) as vigil:
        with pytest.raises(VigilError) as refused:
            vigil.alerts()
        assert refused.value.status == 403 and "ingest" in refused.value.message
        # A sensitive model the token was not granted: the batch is refused, counted, not retried.
        vigil.log_predictions("fraud", predictions(uuid.uuid4().hex[:8], 10))
        assert vigil.flush(30)
        assert (vigil.stats.rejected, vigil.stats.dropped) == (10, 0), vigil.stats
        assert "403" in (vigil.stats.last_error or "")


def test_start_and_wait_for_a_run(server):
    with Vigil(server.url, server.token) as vigil:
        key = uuid.uuid4().hex
        run_id = vigil.start_run(server.workflow, idempotency_key=key)
        assert vigil.start_run(server.workflow, idempotency_key=key) == run_id
        run = vigil.wait_for_run(run_id, timeout=120, poll=0.2)
        assert run["state"] == "succeeded", run


def test_alerts_and_metrics(server):
    pd = pytest.importorskip("pandas")
    with Vigil(server.url, server.token) as vigil:
        alerts = vigil.alerts(model="churn")
        assert any(alert["alert"] == "churn-drift" for alert in alerts), alerts
        drift = vigil.metrics("churn", "drift", since="36500d")
        assert len(drift) > 0
        assert pd.api.types.is_float_dtype(drift["score"]) and pd.api.types.is_bool_dtype(drift["drifted"])
        assert str(drift["window_start"].dt.tz) == "UTC"
        performance = vigil.metrics("churn", "performance", since="36500d")
        assert len(performance) > 0 and pd.api.types.is_numeric_dtype(performance["value"])
        with pytest.raises(VigilError) as bad:
            vigil.metrics("churn", "latency")
        assert bad.value.status == 400


def log_at(vigil: Vigil, rate: int, seconds: float, stop_at: float = -1, on_stop=None) -> dict:
    """Logs `rate` rows a second for `seconds` in batches of 100; the slowest call and the totals."""
    per_batch, slowest, total, stopped = 100, 0.0, 0, False
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if not stopped and 0 <= stop_at <= time.monotonic() - start:
            on_stop()
            stopped = True
        rows = predictions(uuid.uuid4().hex[:8], per_batch)
        began = time.monotonic()
        vigil.log_predictions("churn", rows, version="1")
        slowest = max(slowest, time.monotonic() - began)
        total += per_batch
        pause = start + total / rate - time.monotonic()
        if pause > 0:
            time.sleep(pause)
    return {"slowest": slowest, "total": total, "rate": total / (time.monotonic() - start)}


def test_an_unreachable_vigil_neither_blocks_nor_raises():
    vigil = Vigil("http://127.0.0.1:9", "vgl_x", max_queue=5000, backoff=0.01, max_attempts=2, close_timeout=2)
    run = log_at(vigil, 10_000, 2.0)
    began = time.monotonic()
    stats = vigil.close()
    assert time.monotonic() - began < 10
    assert run["slowest"] < 0.25, run
    assert stats.dropped == run["total"] and stats.sent == 0 and stats.queued == 0, (stats, run)
    assert "could not be reached" in (stats.last_error or "")


@pytest.mark.stops_server
def test_stopping_vigil_while_logging_10000_rows_a_second(server):
    assert server.pid > 0, "VIGIL_PID names the server to stop"
    vigil = Vigil(server.url, server.ingest_token, batch_size=1000, flush_interval=0.2, max_queue=20_000,
                  backoff=0.05, max_attempts=3, timeout=2, close_timeout=3)
    errors: List[BaseException] = []
    result = {}

    def serve() -> None:
        try:
            result.update(log_at(vigil, 10_000, 4.0, stop_at=1.5, on_stop=lambda: os.kill(server.pid, signal.SIGKILL)))
        except BaseException as error:  # the caller must never see one
            errors.append(error)

    caller = threading.Thread(target=serve)
    caller.start()
    caller.join(60)
    assert not caller.is_alive() and not errors, errors
    stats = vigil.close()
    print(f"logged {result['total']} rows at {result['rate']:.0f}/s, slowest call {result['slowest'] * 1000:.1f} ms; {stats}")
    assert result["rate"] >= 5_000, result
    assert result["slowest"] < 0.25, result
    assert stats.sent > 0 and stats.dropped > 0, stats
    assert stats.sent + stats.dropped + stats.rejected == result["total"] and stats.queued == 0, (stats, result)
