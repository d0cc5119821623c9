"""Keep-alive ``http.client`` connections for the HTTP transport's small JSON calls.

httpx costs about half a millisecond a call on this path, a quarter of a synchronous
``log_metric`` round trip. Small JSON requests go through plain ``http.client`` instead: one
persistent connection per thread (the fluent API's background flusher has its own). Streams
and injected test clients keep using httpx.
"""

from __future__ import annotations

import http.client
import select
import threading
from collections.abc import Mapping
from urllib.parse import urlencode, urlsplit

import httpx


class KeepAliveJson:
    """Sends one request and returns an ``httpx.Response`` so callers see one response type.

    Errors come out as httpx's: ``ConnectError`` when nothing was sent (safe to retry any
    call), ``RemoteProtocolError`` when the request may have reached the server.
    """

    def __init__(self, base_url: str, timeout: float) -> None:
        parts = urlsplit(base_url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or (443 if self._https else 80)
        self._prefix = parts.path.rstrip("/")
        self._timeout = timeout
        self._local = threading.local()

    def _connection(self) -> http.client.HTTPConnection:
        conn: http.client.HTTPConnection | None = getattr(self._local, "conn", None)
        if conn is not None and _closed_by_peer(conn):
            conn.close()
            conn = None
        if conn is None:
            cls = http.client.HTTPSConnection if self._https else http.client.HTTPConnection
            conn = cls(self._host, self._port, timeout=self._timeout)
            try:
                conn.connect()
            except OSError as exc:
                raise httpx.ConnectError(str(exc)) from exc
            self._local.conn = conn
        return conn

    def request(
        self,
        method: str,
        path: str,
        *,
        content: bytes | None,
        headers: Mapping[str, str] | None,
        params: Mapping[str, object] | None,
    ) -> httpx.Response:
        target = self._prefix + path + (f"?{urlencode(params, doseq=True)}" if params else "")
        conn = self._connection()
        try:
            conn.request(method, target, body=content, headers=dict(headers or {}))
            raw = conn.getresponse()
            data = raw.read()
        except (OSError, http.client.HTTPException) as exc:
            conn.close()
            self._local.conn = None
            raise httpx.RemoteProtocolError(f"{type(exc).__name__}: {exc}") from exc
        if raw.will_close:
            conn.close()
            self._local.conn = None
        return httpx.Response(raw.status, headers=raw.getheaders(), content=data)

    def close(self) -> None:
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()


def _closed_by_peer(conn: http.client.HTTPConnection) -> bool:
    """An idle keep-alive socket that is readable has been closed by the server."""
    sock = conn.sock
    if sock is None:
        return True
    readable, _, _ = select.select([sock], [], [], 0)
    return bool(readable)
