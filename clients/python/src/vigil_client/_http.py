"""HTTP with the standard library: bearer token, JSON errors, timeouts."""

from __future__ import annotations

import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any, Dict, Mapping, Optional

from ._errors import VigilError


@dataclass
class Answer:
    """A response: its status, headers (lower-case names) and body."""

    status: int
    headers: Dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def json(self) -> Any:
        return json.loads(self.body.decode("utf-8")) if self.body else None


class Transport:
    """Sends requests to one Vigil server with one token."""

    def __init__(self, url: str, token: str, timeout: float) -> None:
        parsed = urllib.parse.urlparse(url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(f"url must be http(s)://host[:port], found {url!r}")
        self.base = url.rstrip("/")
        self.token = token
        self.timeout = timeout

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Optional[Mapping[str, Any]] = None,
        body: Optional[bytes] = None,
        content_type: Optional[str] = None,
        headers: Optional[Mapping[str, str]] = None,
        timeout: Optional[float] = None,
    ) -> Answer:
        """The server's answer, for any status; raises ``VigilError`` (status ``None``) only when
        the server cannot be reached or does not answer in time."""
        url = self.base + path
        if query:
            pairs = {k: ("true" if v is True else "false" if v is False else str(v)) for k, v in query.items() if v is not None}
            if pairs:
                url += "?" + urllib.parse.urlencode(pairs)
        request = urllib.request.Request(url, data=body, method=method)
        request.add_header("Authorization", f"Bearer {self.token}")
        request.add_header("Accept", "application/json")
        request.add_header("User-Agent", "vigil-client-python/0.1")
        if content_type:
            request.add_header("Content-Type", content_type)
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=timeout or self.timeout) as response:
                return Answer(response.status, {k.lower(): v for k, v in response.headers.items()}, response.read())
        except urllib.error.HTTPError as error:
            return Answer(error.code, {k.lower(): v for k, v in (error.headers or {}).items()}, error.read() or b"")
        except (urllib.error.URLError, OSError, ValueError) as error:
            reason = getattr(error, "reason", error)
            raise VigilError(f"Vigil at {self.base} could not be reached: {reason}") from error

    def json(self, method: str, path: str, **kwargs: Any) -> Any:
        """The JSON body of a 2xx answer; a ``VigilError`` with Vigil's message otherwise."""
        answer = self.request(method, path, **kwargs)
        if 200 <= answer.status < 300:
            return answer.json()
        raise error_of(answer)


def error_of(answer: Answer) -> VigilError:
    """Vigil's JSON error (``{"error": {"code", "message"}}``) as a ``VigilError``."""
    try:
        detail = (answer.json() or {}).get("error", {})
        return VigilError(str(detail.get("message", "")) or f"HTTP {answer.status}", answer.status, detail.get("code"))
    except (ValueError, AttributeError):
        return VigilError(answer.body[:200].decode("utf-8", "replace") or f"HTTP {answer.status}", answer.status)
