"""Background delivery: a bounded queue, batches by size and time, retries with backoff, and
counts of what was sent and what was dropped. The caller's thread never waits on the network.

Two daemon threads share the work: one takes the next batch off the queue and encodes it while
the other sends the batch before it, so the client's serialising and Vigil's storing overlap.
Batches are still sent one at a time and in order."""

from __future__ import annotations

import logging
import queue
import random
import threading
import time
from collections import deque
from dataclasses import dataclass, replace
from typing import Any, Deque, Dict, List, Optional, Tuple

from ._errors import VigilError
from ._rows import encode
from ._http import Transport, error_of

logger = logging.getLogger("vigil_client")

#: Where a row goes: ("inferences", model, role, version) or ("labels", model, "", "").
Destination = Tuple[str, str, str, str]


@dataclass(frozen=True)
class DeliveryStats:
    """What the client has done with the rows it was given.

    ``queued``: waiting to be sent. ``sent``: rows Vigil took (``loaded`` new ones, ``duplicates``
    it already had, ``quarantined`` it set aside as invalid). ``rejected``: rows of batches Vigil
    refused (4xx; not retried). ``dropped``: rows given up on: the queue was full, Vigil stayed
    unreachable through every retry, or they were still queued when the client closed.
    """

    queued: int = 0
    sent: int = 0
    loaded: int = 0
    duplicates: int = 0
    quarantined: int = 0
    rejected: int = 0
    dropped: int = 0
    last_error: Optional[str] = None


#: A batch ready to send: per destination, its encoded body and its row count.
_Encoded = List[Tuple[Destination, bytes, int]]


class Delivery:
    """Sends queued rows in batches: one daemon thread encodes, another sends."""

    def __init__(
        self, transport: Transport, *, batch_size: int, flush_interval: float, max_queue: int, max_attempts: int, backoff: float
    ) -> None:
        if batch_size < 1 or max_queue < 1 or max_attempts < 1 or flush_interval <= 0 or backoff < 0:
            raise ValueError("batch_size, max_queue and max_attempts must be at least 1; flush_interval positive; backoff not negative")
        self._transport = transport
        self._batch_size = batch_size
        self._flush_interval = flush_interval
        self._max_queue = max_queue
        self._max_attempts = max_attempts
        self._backoff = backoff
        self._queue: Deque[Tuple[Destination, Dict[str, Any]]] = deque()
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._stats = DeliveryStats()
        #: Rows taken off the queue and not yet handled: the batch being encoded and the one being sent.
        self._in_flight = 0
        self._flush_requested = False
        self._closing = False
        self._last_warning = 0.0
        #: At most one encoded batch waits while another is sent.
        self._outbox: "queue.Queue[Optional[_Encoded]]" = queue.Queue(maxsize=1)
        self._thread = threading.Thread(target=self._run, name="vigil-client-delivery", daemon=True)
        self._sender = threading.Thread(target=self._send_loop, name="vigil-client-sender", daemon=True)
        self._thread.start()
        self._sender.start()

    @property
    def stats(self) -> DeliveryStats:
        with self._lock:
            return replace(self._stats, queued=len(self._queue) + self._in_flight)

    def put(self, destination: Destination, rows: List[Dict[str, Any]]) -> int:
        """Queues rows; those that do not fit are dropped and counted. How many were queued."""
        with self._lock:
            if self._closing:
                self._drop_locked(len(rows), "the client is closed")
                return 0
            room = max(0, self._max_queue - len(self._queue))
            taken = rows[:room]
            self._queue.extend((destination, row) for row in taken)
            if len(taken) < len(rows):
                self._drop_locked(len(rows) - len(taken), f"the queue is full ({self._max_queue} rows): Vigil is slow or down")
            if len(self._queue) >= self._batch_size:
                self._wake.notify()
            return len(taken)

    def flush(self, timeout: Optional[float]) -> bool:
        """Sends everything queued now; whether it was all handled (sent, rejected or dropped) in time."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            self._flush_requested = True
            self._wake.notify()
            while self._queue or self._in_flight:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._wake.wait(remaining if remaining is None else min(remaining, 0.1))
            return True

    def close(self, timeout: float) -> DeliveryStats:
        """Flushes for up to ``timeout`` seconds, stops the thread, and counts what is left as dropped."""
        self.flush(timeout)
        with self._lock:
            self._closing = True
            left = len(self._queue)
            self._queue.clear()
            if left:
                self._drop_locked(left, "still queued when the client closed")
            self._wake.notify_all()
        for thread in (self._thread, self._sender):
            thread.join(timeout=max(0.1, self._backoff * 2))
        return self.stats

    # The delivery threads.

    def _run(self) -> None:
        """Takes batches off the queue and encodes them for the sender thread."""
        while True:
            with self._lock:
                deadline = time.monotonic() + self._flush_interval
                while not self._closing and not self._flush_requested and len(self._queue) < self._batch_size:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._wake.wait(remaining)
                done = self._closing and not self._queue
                batch = [] if done else [self._queue.popleft() for _ in range(min(self._batch_size, len(self._queue)))]
                self._in_flight += len(batch)
                if not self._queue:
                    self._flush_requested = False
            if done:
                # Outside the lock: the sender may be holding the outbox's one place and need the lock.
                self._outbox.put(None)
                return
            if not batch:
                continue
            try:
                groups: Dict[Destination, List[Dict[str, Any]]] = {}
                for destination, row in batch:
                    groups.setdefault(destination, []).append(row)
                encoded = [(destination, "\n".join(map(encode, rows)).encode("utf-8"), len(rows)) for destination, rows in groups.items()]
            except Exception as error:  # never let the thread die: count and carry on
                self._handled(len(batch), f"unexpected error: {error!r}")
                continue
            self._outbox.put(encoded)

    def _send_loop(self) -> None:
        """Sends encoded batches one at a time, in order, until the encoder says it is done."""
        while True:
            encoded = self._outbox.get()
            if encoded is None:
                return
            for destination, body, count in encoded:
                try:
                    self._send(destination, body, count)
                except Exception as error:  # never let the thread die: count and carry on
                    self._handled(count, f"unexpected error: {error!r}")
                else:
                    self._handled(count, None)

    def _handled(self, count: int, dropped_because: Optional[str]) -> None:
        """Marks `count` in-flight rows handled (dropped, when a reason is given) and wakes flush()."""
        with self._lock:
            if dropped_because is not None:
                self._drop_locked(count, dropped_because)
            self._in_flight -= count
            self._wake.notify_all()

    def _send(self, destination: Destination, body: bytes, count: int) -> None:
        """Posts one encoded batch of `count` rows, retrying as configured; records the outcome."""
        kind, model, role, version = destination
        path = f"/api/v1/models/{model}/{kind}"
        query = {"role": role, "model_version": version} if kind == "inferences" else None
        for attempt in range(self._max_attempts):
            try:
                answer = self._transport.request("POST", path, query=query, body=body, content_type="application/x-ndjson")
            except VigilError as error:
                problem = error.message
            else:
                if 200 <= answer.status < 300:
                    self._record_sent(count, answer.json() or {})
                    return
                problem = str(error_of(answer))
                if 400 <= answer.status < 500 and answer.status not in (408, 425, 429):
                    with self._lock:
                        self._stats = replace(self._stats, rejected=self._stats.rejected + count, last_error=problem)
                    logger.warning("Vigil refused %d %s rows for %s: %s", count, kind, model, problem)
                    return
            with self._lock:
                closing = self._closing
            if attempt + 1 < self._max_attempts and not closing:
                time.sleep(min(30.0, self._backoff * (2 ** attempt)) * (0.5 + random.random() / 2))
        with self._lock:
            self._drop_locked(count, problem)

    def _record_sent(self, count: int, report: Dict[str, Any]) -> None:
        with self._lock:
            s = self._stats
            loaded = int(report.get("rows_loaded", report.get("labels", 0)) or 0)
            self._stats = replace(
                s, sent=s.sent + count, loaded=s.loaded + loaded, duplicates=s.duplicates + int(report.get("already_present", 0) or 0),
                quarantined=s.quarantined + int(report.get("quarantined", 0) or 0),
            )

    def _drop_locked(self, count: int, reason: str) -> None:
        self._stats = replace(self._stats, dropped=self._stats.dropped + count, last_error=reason)
        now = time.monotonic()
        if now - self._last_warning >= 10:
            self._last_warning = now
            logger.warning("vigil-client dropped %d rows (%d in all): %s", count, self._stats.dropped, reason)
