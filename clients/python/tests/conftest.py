"""The server under test: `scripts/test` (through the Swift suite's PythonClientTests) starts a
real `vigil serve` on a fresh database, seeds it, and passes its address and tokens here."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest


@dataclass(frozen=True)
class Server:
    url: str
    #: operator: starts runs, reads everything.
    token: str
    #: ingest: may only log and read routing.
    ingest_token: str
    #: a stored workflow that finishes in about a second.
    workflow: str
    #: the vigil serve process, for the test that stops it.
    pid: int


@pytest.fixture(scope="session")
def server() -> Server:
    url = os.environ.get("VIGIL_URL")
    if not url:
        pytest.skip("needs a running vigil serve (VIGIL_URL, VIGIL_TOKEN, VIGIL_INGEST_TOKEN): run scripts/test")
    return Server(
        url=url, token=os.environ["VIGIL_TOKEN"], ingest_token=os.environ["VIGIL_INGEST_TOKEN"],
        workflow=os.environ.get("VIGIL_WORKFLOW", "quick"), pid=int(os.environ.get("VIGIL_PID", "0")),
    )
