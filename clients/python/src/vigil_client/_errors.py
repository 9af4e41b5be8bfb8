"""The one error type the client raises."""

from __future__ import annotations

from typing import Optional


class VigilError(Exception):
    """Vigil refused a request or could not be reached.

    ``status`` is the HTTP status (``None`` when Vigil was not reached), ``code`` Vigil's error
    code (``forbidden``, ``not_found``, …) and ``message`` its one-line explanation.
    """

    def __init__(self, message: str, status: Optional[int] = None, code: Optional[str] = None) -> None:
        super().__init__(message if status is None else f"{status} {code or ''}: {message}".replace("  ", " "))
        self.status = status
        self.code = code
        self.message = message
