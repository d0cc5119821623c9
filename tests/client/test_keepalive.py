"""The HTTP transport's keep-alive path for small JSON calls, against a real socket server."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

from clew.client.keepalive import KeepAliveJson


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    served = 0

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["content-length"]))
        type(self).served += 1
        reply = b'{"echo": ' + body + b"}"
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(reply)))
        if type(self).served % 2 == 0:  # every other response closes the connection
            self.send_header("connection", "close")
            self.close_connection = True
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[ThreadingHTTPServer]:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield srv
    srv.shutdown()
    srv.server_close()


def test_reconnects_when_the_server_closes_the_connection(server: ThreadingHTTPServer) -> None:
    client = KeepAliveJson(f"http://127.0.0.1:{server.server_address[1]}", timeout=5)
    for i in range(6):
        response = client.request(
            "POST",
            "/x",
            content=str(i).encode(),
            headers={"content-type": "application/json"},
            params=None,
        )
        assert response.status_code == 200
        assert response.json() == {"echo": i}
    client.close()


def test_nothing_listening_is_a_connect_error() -> None:
    srv = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    port = srv.server_address[1]
    srv.server_close()
    client = KeepAliveJson(f"http://127.0.0.1:{port}", timeout=2)
    with pytest.raises(httpx.ConnectError):
        client.request("POST", "/x", content=b"1", headers=None, params=None)
