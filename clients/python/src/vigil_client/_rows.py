"""Rows as the client accepts them (dicts, a pandas DataFrame, an Arrow table) made JSON-ready."""

from __future__ import annotations

import datetime as _dt
import json
import math
import uuid
from typing import Any, Dict, Iterable, List, Mapping, Union

Rows = Union[Mapping[str, Any], Iterable[Mapping[str, Any]], Any]


def records(rows: Rows) -> List[Dict[str, Any]]:
    """A list of plain dicts: one mapping, an iterable of mappings, a pandas DataFrame
    (``to_dict("records")``) or an Arrow table or record batch (``to_pylist()``)."""
    if isinstance(rows, Mapping):
        return [dict(rows)]
    if hasattr(rows, "to_pylist"):
        return [dict(row) for row in rows.to_pylist()]
    if hasattr(rows, "to_dict") and hasattr(rows, "columns"):
        return [dict(row) for row in rows.to_dict(orient="records")]
    result = []
    for row in rows:
        if not isinstance(row, Mapping):
            raise TypeError(f"each row must be a mapping of column to value, found {type(row).__name__}")
        result.append(dict(row))
    return result


def value(item: Any) -> Any:
    """A value JSON can carry: times in RFC 3339 (naive ones taken as UTC), NumPy and pandas
    scalars as Python numbers, NumPy arrays and pandas series as lists, NaN and missing values
    (pandas ``NA`` and ``NaT`` too) as null."""
    kind = type(item)
    # The common cases first, by exact type: this runs for every value a serving process logs.
    if kind is str or kind is int or kind is bool or item is None:
        return item
    if kind is float:
        return item if item - item == 0 else None  # NaN and infinities become null
    if isinstance(item, (str, bool, int)):
        return item
    if isinstance(item, float):
        return None if math.isnan(item) or math.isinf(item) else item
    if isinstance(item, _dt.datetime):
        if item != item:  # pandas NaT, a datetime that is not equal to itself
            return None
        if item.tzinfo is None:
            item = item.replace(tzinfo=_dt.timezone.utc)
        return item.astimezone(_dt.timezone.utc).isoformat().replace("+00:00", "Z")
    if isinstance(item, _dt.date):
        return item.isoformat()
    if hasattr(item, "to_pydatetime"):
        return value(item.to_pydatetime())
    if callable(getattr(item, "tolist", None)):  # NumPy arrays and scalars, pandas series
        return value(item.tolist())
    if hasattr(item, "item") and callable(item.item):
        try:
            return value(item.item())
        except (TypeError, ValueError):
            pass
    if isinstance(item, Mapping):
        return ready(item)
    if isinstance(item, (list, tuple)):
        return [value(v) for v in item]
    try:
        if item != item:  # NaN-like values compare unequal to themselves
            return None
    except TypeError:  # pandas NA: comparing it gives NA, which is neither true nor false
        return None
    return str(item)


def ready(row: Mapping[Any, Any]) -> Dict[str, Any]:
    """A mapping with string keys and every value made JSON-ready by ``value``."""
    return {str(k): value(v) for k, v in row.items()}


#: The types a row's keys and values mostly have, which JSON carries as they are (but NaN and the
#: infinities, which ``encode`` turns into null). All immutable: a row holding only these can be
#: queued as it is, with nothing the caller could change before it is sent.
_PLAIN = frozenset({str, int, float, bool, type(None)})


def prediction(row: Dict[str, Any]) -> Dict[str, Any]:
    """A prediction row with a request id (a new one when it has none, kept for every retry) and
    a time (now, when it has none). `row` is the caller's own copy (from ``records``); a row of
    string keys and plain values is completed in place, any other is made JSON-ready here, at
    once, so that a buffer the caller reuses afterwards (a NumPy array, say) is logged as it was."""
    for key, item in row.items():
        if type(key) is not str or type(item) not in _PLAIN:
            row = ready(row)
            break
    if not value(row.get("request_id")):
        row["request_id"] = uuid.uuid4().hex
    if not value(row.get("ts")):
        row["ts"] = value(_dt.datetime.now(_dt.timezone.utc))
    return row


def label(row: Dict[str, Any]) -> Dict[str, Any]:
    """A label row; it must name the request it labels."""
    out = ready(row)
    if not out.get("request_id"):
        raise ValueError("a label row needs the request_id of the prediction it labels")
    if "label" not in out:
        raise ValueError(f"a label row needs a label (request {out['request_id']})")
    return out


_ENCODE_AS_IS = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode
_ENCODE_READY = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


def encode(row: Dict[str, Any]) -> str:
    """A row from ``prediction`` or ``label`` as one line of JSON. It is encoded as it is, with no
    Python-level pass over its values; one holding NaN or an infinity, which JSON cannot carry,
    is encoded with those as null."""
    try:
        return _ENCODE_AS_IS(row)
    except ValueError:
        return _ENCODE_READY(ready(row))
