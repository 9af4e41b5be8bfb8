"""How prediction rows become JSON lines: plain rows go through the C encoder as they are, and
every other row must come out exactly as converting each value with ``value`` first would."""

from __future__ import annotations

import datetime as dt
import decimal
import json
import math
from typing import Any, Dict

import pytest

from vigil_client import _rows

numpy = pytest.importorskip("numpy")


def converted_first(row: Dict[Any, Any]) -> Dict[str, Any]:
    """The reference: every key a string, every value through ``value``, then plain JSON."""
    return json.loads(json.dumps({k if type(k) is str else str(k): _rows.value(v) for k, v in row.items()}))


BASE = {"request_id": "r-1", "ts": "2026-11-24T10:00:00Z", "prediction": "1"}

ROWS = [
    pytest.param({**BASE, "score": 0.25, "tenure": 12, "plan": "basic", "error": False, "note": None}, id="plain"),
    pytest.param({**BASE, "score": float("nan")}, id="nan score"),
    pytest.param({**BASE, "amount": float("inf"), "other": -float("inf")}, id="infinities"),
    pytest.param({**BASE, "embedding": [0.5, float("nan"), 1.0]}, id="nan in a list"),
    pytest.param({**BASE, "nested": {"a": float("nan"), "b": (1, 2)}}, id="nan in a dict, tuple"),
    pytest.param({**BASE, "ts": dt.datetime(2026, 11, 24, 10, 0, 0)}, id="naive datetime"),
    pytest.param({**BASE, "ts": dt.datetime(2026, 11, 24, 11, 0, tzinfo=dt.timezone(dt.timedelta(hours=1)))}, id="aware datetime"),
    pytest.param({**BASE, "day": dt.date(2026, 11, 24), "price": decimal.Decimal("1.50")}, id="date, decimal"),
    pytest.param({**BASE, "count": numpy.int64(3), "rate": numpy.float32(0.5), "flag": numpy.bool_(True)}, id="numpy scalars"),
    pytest.param({**BASE, "rate": numpy.float64("nan"), "big": numpy.float64(2.5)}, id="numpy float64, a float subclass"),
    pytest.param({**BASE, "values": numpy.array([1.0, 2.0])}, id="numpy array"),
    pytest.param({**BASE, 7: "seven", True: "yes", None: "none"}, id="keys that are not strings"),
]


@pytest.mark.parametrize("row", ROWS)
def test_a_row_encodes_as_its_converted_values_would(row: Dict[Any, Any]) -> None:
    line = _rows.encode(_rows.prediction(dict(row)))
    assert "\n" not in line
    assert json.loads(line) == converted_first(row)


def test_nan_and_infinities_become_null() -> None:
    line = _rows.encode(_rows.prediction({**BASE, "score": math.nan, "amount": math.inf, "embedding": [math.nan]}))
    assert json.loads(line) == {**BASE, "score": None, "amount": None, "embedding": [None]}


@pytest.mark.parametrize("missing", [None, "", float("nan")])
def test_a_missing_request_id_or_time_is_made(missing: Any) -> None:
    before = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    row = json.loads(_rows.encode(_rows.prediction({"request_id": missing, "ts": missing, "score": 0.5})))
    assert len(row["request_id"]) == 32 and int(row["request_id"], 16) >= 0
    assert dt.datetime.fromisoformat(row["ts"].replace("Z", "+00:00")) >= before


def test_pandas_missing_values_and_series() -> None:
    pandas = pytest.importorskip("pandas")
    row = {**BASE, "ts": pandas.Timestamp("2026-11-24 10:00"), "count": pandas.NA, "seen": pandas.NaT,
           "history": pandas.Series([1.5, None]), "at": pandas.Timestamp("2026-11-24 11:00", tz="Europe/Paris")}
    assert json.loads(_rows.encode(_rows.prediction(row))) == {
        **BASE, "ts": "2026-11-24T10:00:00Z", "count": None, "seen": None, "history": [1.5, None], "at": "2026-11-24T10:00:00Z",
    }


def test_a_dataframe_with_gaps_is_logged_as_nulls() -> None:
    pandas = pytest.importorskip("pandas")
    frame = pandas.DataFrame({
        "request_id": ["a", "b"], "ts": pandas.to_datetime(["2026-11-24 10:00", None]),
        "tenure": pandas.array([3, None], dtype="Int64"), "score": [0.5, float("nan")],
    })
    lines = [json.loads(_rows.encode(_rows.prediction(row))) for row in _rows.records(frame)]
    assert lines[0] == {"request_id": "a", "ts": "2026-11-24T10:00:00Z", "tenure": 3, "score": 0.5}
    assert lines[1]["request_id"] == "b" and lines[1]["tenure"] is None and lines[1]["score"] is None
    assert lines[1]["ts"].endswith("Z")  # a missing time is made, as for any row without one


def test_a_buffer_changed_after_logging_is_logged_as_it_was() -> None:
    buffer, values = numpy.array([1.0, 2.0]), [3.0, 4.0]
    row = _rows.prediction(_rows.records({**BASE, "embedding": buffer, "history": values})[0])
    buffer[0], values[0] = 9.0, 9.0
    assert json.loads(_rows.encode(row)) == {**BASE, "embedding": [1.0, 2.0], "history": [3.0, 4.0]}
