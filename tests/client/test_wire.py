"""The HTTP transport's wire client, against real socket servers that answer in every legal way."""

from __future__ import annotations

import io
import socket
import threading
from collections.abc import Callable, Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest

from clew.client.wire import WireClient, file_span


class _Echo(BaseHTTPRequestHandler):
    """Echoes the body; every other response closes the connection."""

    protocol_version = "HTTP/1.1"
    served = 0

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        type(self).served += 1
        reply = b'{"echo": ' + body + b"}"
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(reply)))
        if type(self).served % 2 == 0:
            self.send_header("connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(reply)

    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        reply = f"{len(body)} {body[:4].decode()} {self.path}".encode()
        self.send_response(200)
        self.send_header("content-length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def echo() -> Iterator[str]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def _scripted(reply: Callable[[bytes], bytes]) -> Iterator[tuple[str, list[bytes]]]:
    """A one-connection-at-a-time server that answers each request head with ``reply(head)``."""
    listener = socket.create_server(("127.0.0.1", 0))
    seen: list[bytes] = []
    stop = threading.Event()

    def serve() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    data += chunk
                if data:
                    seen.append(data)
                    conn.sendall(reply(data))

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}", seen
    stop.set()
    thread.join()
    listener.close()


def test_reuses_and_reconnects_when_the_server_closes(echo: str) -> None:
    client = WireClient(echo, timeout=5)
    for i in range(6):
        reply = client.request(
            "POST", "/x", content=str(i).encode(), headers={"content-type": "x"}, params=None
        )
        assert reply.status_code == 200
        assert reply.json() == {"echo": i}
        assert reply.headers["content-type"] == "application/json"
    client.close()


def test_nothing_listening_is_a_connect_error() -> None:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Echo)
    port = srv.server_address[1]
    srv.server_close()
    client = WireClient(f"http://127.0.0.1:{port}", timeout=2)
    with pytest.raises(httpx.ConnectError):
        client.request("POST", "/x", content=b"1", headers=None, params=None)


@pytest.mark.parametrize(
    ("raw", "body"),
    [
        pytest.param(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", b"hello", id="length"),
        pytest.param(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"3;ext=1\r\nhel\r\n2\r\nlo\r\n0\r\nX-Trailer: t\r\n\r\n",
            b"hello",
            id="chunked-with-trailer",
        ),
        pytest.param(b"HTTP/1.0 200 OK\r\n\r\nuntil close", b"until close", id="until-close"),
        pytest.param(b"HTTP/1.1 204 No Content\r\n\r\n", b"", id="no-content"),
    ],
)
def test_response_framings(raw: bytes, body: bytes) -> None:
    for url, _ in _scripted(lambda _head: raw):
        reply = WireClient(url, timeout=5).request(
            "GET", "/x", content=None, headers={}, params=None
        )
        assert reply.content == body


def test_the_request_is_one_well_formed_message() -> None:
    for url, seen in _scripted(lambda _h: b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"):
        client = WireClient(url + "/prefix", timeout=5)
        client.request(
            "POST", "/a%20b", content=b"{}", headers={"content-type": "j"}, params={"k": "v w"}
        )
        head = seen[0].split(b"\r\n\r\n")[0].split(b"\r\n")
        assert head[0] == b"POST /prefix/a%20b?k=v+w HTTP/1.1"
        assert b"Content-Length: 2" in head
        assert b"content-type: j" in head
        assert seen[0].endswith(b"\r\n\r\n{}")


@pytest.mark.parametrize("path", ["/a b", "/a\r\nX-Injected: 1", "/\x00"])
def test_an_unquoted_target_never_goes_out(path: str) -> None:
    client = WireClient("http://127.0.0.1:9", timeout=1)
    with pytest.raises(ValueError, match="unquoted"):
        client.request("GET", path, content=None, headers=None, params=None)


def test_a_truncated_response_is_a_protocol_error() -> None:
    for url, _ in _scripted(lambda _h: b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort"):
        with pytest.raises(httpx.RemoteProtocolError):
            WireClient(url, timeout=5).request("GET", "/x", content=None, headers={}, params=None)


def test_send_file_sends_the_span_from_its_offset(echo: str, tmp_path: Path) -> None:
    source = tmp_path / "blob"
    source.write_bytes(b"skip" + b"DATA" + b"x" * 1_000_000)
    with source.open("rb") as stream:
        stream.seek(4)
        span = file_span(stream)
        assert span == (4, 1_000_004)
        offset, count = span
        reply = WireClient(echo, timeout=5).send_file(
            "PUT", "/up/a%25b", stream=stream, offset=offset, count=count, headers={}
        )
    assert reply.content == b"1000004 DATA /up/a%25b"


def test_file_span_is_none_for_in_memory_streams() -> None:
    assert file_span(io.BytesIO(b"abc")) is None
