"""A small HTTP/1.1 client for the HTTP transport's own calls: keep-alive sockets, one send each.

Why not httpx or ``http.client`` here: a synchronous ``log_metric`` to a loopback server takes
under a millisecond on the server, and the client libraries added as much again. httpx builds
header and URL objects; ``http.client`` sends the headers and the body in two writes (so the
server wakes twice, and Nagle's algorithm may hold the second) and parses headers with the
``email`` package. Here a request is one bytes object written with one ``sendall`` on a
``TCP_NODELAY`` socket, and a response is parsed from one buffer. A file upload goes out with
``socket.sendfile`` (zero-copy on Linux) after its head.

One connection per thread (the fluent API's background flusher has its own), reused while the
server keeps it open. Errors come out as httpx's, so the transport handles one family:
``ConnectError`` when nothing was sent (any call may be retried), ``RemoteProtocolError`` or
``ReadTimeout`` when the request may have reached the server (only idempotent calls are).
Streamed downloads and injected test clients keep using httpx.
"""

from __future__ import annotations

import os
import select
import socket
import ssl
import threading
from collections.abc import Callable, Mapping
from typing import BinaryIO
from urllib.parse import urlencode, urlsplit

import httpx
import orjson

_RECV_BYTES = 256 * 1024
_MAX_HEAD_BYTES = 64 * 1024
_NO_BODY_STATUS = frozenset({204, 304})


class Reply:
    """A whole response: status, lower-cased headers and the body bytes."""

    __slots__ = ("content", "headers", "status_code")

    def __init__(self, status_code: int, headers: dict[str, str], content: bytes) -> None:
        self.status_code = status_code
        self.headers = headers
        self.content = content

    def json(self) -> object:
        return orjson.loads(self.content)

    def close(self) -> None:
        """Nothing to release (the body is already read); here so callers treat replies alike."""


class _Connection:
    """One socket and the bytes read from it but not yet consumed."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = bytearray()

    def closed_by_peer(self) -> bool:
        """An idle keep-alive socket that is readable has been closed (or reset) by the server."""
        readable, _, _ = select.select([self.sock], [], [], 0)
        return bool(readable)

    def close(self) -> None:
        self.sock.close()

    def _fill(self) -> None:
        chunk = self.sock.recv(_RECV_BYTES)
        if not chunk:
            raise ConnectionError("the server closed the connection mid-response")
        self.buffer += chunk

    def _take(self, n: int) -> bytes:
        while len(self.buffer) < n:
            self._fill()
        data = bytes(self.buffer[:n])
        del self.buffer[:n]
        return data

    def _line(self) -> bytes:
        while (end := self.buffer.find(b"\r\n")) < 0:
            if len(self.buffer) > _MAX_HEAD_BYTES:
                raise ConnectionError("response line too long")
            self._fill()
        return self._take(end + 2)[:-2]

    def read_reply(self, method: str) -> tuple[Reply, bool]:
        """The next response, and whether the connection may be reused after it."""
        while (end := self.buffer.find(b"\r\n\r\n")) < 0:
            if len(self.buffer) > _MAX_HEAD_BYTES:
                raise ConnectionError("response head too long")
            self._fill()
        head = self._take(end + 4)[:-4].decode("latin-1").split("\r\n")
        version, _, rest = head[0].partition(" ")
        status = int(rest[:3])
        headers: dict[str, str] = {}
        for line in head[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        connection = headers.get("connection", "").lower()
        reusable = (
            "close" not in connection if version == "HTTP/1.1" else "keep-alive" in connection
        )
        if method == "HEAD" or status in _NO_BODY_STATUS or status < 200:
            body = b""
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            body = self._chunked()
        elif "content-length" in headers:
            body = self._take(int(headers["content-length"]))
        else:  # delimited by the end of the connection
            body = self._until_closed()
            reusable = False
        return Reply(status, headers, body), reusable

    def _chunked(self) -> bytes:
        parts = []
        while size := int(self._line().split(b";", 1)[0], 16):
            parts.append(self._take(size + 2)[:-2])
        while self._line():  # trailers, up to the blank line
            pass
        return b"".join(parts)

    def _until_closed(self) -> bytes:
        while chunk := self.sock.recv(_RECV_BYTES):
            self.buffer += chunk
        data = bytes(self.buffer)
        self.buffer.clear()
        return data


class WireClient:
    """Sends one request at a time per thread over a kept-alive connection.

    Args:
        base_url: ``http://host:port[/prefix]`` or ``https://…``.
        timeout: seconds for connecting and for each socket read or write.
    """

    def __init__(self, base_url: str, timeout: float) -> None:
        parts = urlsplit(base_url)
        self._https = parts.scheme == "https"
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or (443 if self._https else 80)
        default_port = 443 if self._https else 80
        host = f"[{self._host}]" if ":" in self._host else self._host
        self._host_header = host if self._port == default_port else f"{host}:{self._port}"
        self._prefix = parts.path.rstrip("/")
        self._timeout = timeout
        self._local = threading.local()
        self._tls = ssl.create_default_context() if self._https else None

    def _connection(self) -> _Connection:
        conn: _Connection | None = getattr(self._local, "conn", None)
        if conn is not None and conn.closed_by_peer():
            conn.close()
            conn = None
        if conn is None:
            try:
                sock = socket.create_connection((self._host, self._port), timeout=self._timeout)
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                if self._tls is not None:
                    sock = self._tls.wrap_socket(sock, server_hostname=self._host)
            except OSError as exc:
                raise httpx.ConnectError(f"{type(exc).__name__}: {exc}") from exc
            conn = self._local.conn = _Connection(sock)
        return conn

    def _head(
        self,
        method: str,
        path: str,
        params: Mapping[str, object] | None,
        headers: Mapping[str, str] | None,
        length: int | None,
    ) -> bytes:
        target = self._prefix + path + (f"?{urlencode(params, doseq=True)}" if params else "")
        if not target.isprintable() or " " in target:
            # Callers quote every path segment; a raw space or CR/LF here would split the
            # request line (header injection), so it never goes out.
            raise ValueError(f"unquoted request target: {target!r}")
        lines = [f"{method} {target} HTTP/1.1", f"Host: {self._host_header}"]
        for name, value in (headers or {}).items():
            if name.lower() != "content-length":
                lines.append(f"{name}: {value}")
        if length is not None:
            lines.append(f"Content-Length: {length}")
        lines.append("\r\n")
        return "\r\n".join(lines).encode("latin-1")

    def request(
        self,
        method: str,
        path: str,
        *,
        content: bytes | None,
        headers: Mapping[str, str] | None,
        params: Mapping[str, object] | None,
    ) -> Reply:
        """Send ``content`` (or nothing) and return the whole response."""
        length = len(content) if content is not None else (0 if method != "GET" else None)
        data = self._head(method, path, params, headers, length) + (content or b"")
        return self._exchange(method, lambda sock: sock.sendall(data))

    def send_file(
        self,
        method: str,
        path: str,
        *,
        stream: BinaryIO,
        offset: int,
        count: int,
        headers: Mapping[str, str] | None,
    ) -> Reply:
        """Send ``count`` bytes of an open file from ``offset`` as the body, with sendfile."""
        head = self._head(method, path, None, headers, count)

        def send(sock: socket.socket) -> None:
            sock.sendall(head)
            if count:
                sent = sock.sendfile(stream, offset, count)
                if sent != count:
                    raise ConnectionError(f"the file shrank while it was sent ({sent} of {count})")

        return self._exchange(method, send)

    def _exchange(self, method: str, send: Callable[[socket.socket], None]) -> Reply:
        conn = self._connection()
        try:
            try:
                send(conn.sock)
            except OSError:
                # The server may have answered early (413 before the body ended) and closed:
                # its reply, if any, is more useful than the broken pipe.
                reply, _ = conn.read_reply(method)
                self._drop(conn)
                return reply
            reply, reusable = conn.read_reply(method)
        except TimeoutError as exc:
            self._drop(conn)
            raise httpx.ReadTimeout(f"no response within {self._timeout} s") from exc
        except (OSError, ValueError) as exc:
            self._drop(conn)
            raise httpx.RemoteProtocolError(f"{type(exc).__name__}: {exc}") from exc
        if not reusable:
            self._drop(conn)
        return reply

    def _drop(self, conn: _Connection) -> None:
        conn.close()
        if getattr(self._local, "conn", None) is conn:
            self._local.conn = None

    def close(self) -> None:
        conn: _Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            self._drop(conn)


def file_span(stream: BinaryIO) -> tuple[int, int] | None:
    """``(offset, count)`` when ``stream`` is a regular file sendfile can read, else ``None``."""
    try:
        fd = stream.fileno()
        offset = stream.tell()
        size = os.fstat(fd).st_size
    except (AttributeError, OSError, ValueError):
        return None
    return offset, max(0, size - offset)
