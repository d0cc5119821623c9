"""A real ``clew server`` on a loopback port: where the wire matters (uvicorn, several workers,
several servers on one database, raw request targets no HTTP client would send)."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from clew.client.http import HttpTransport
from clew.tracking.model import Metric

from ..conftest import PostgresDatabases, require

pytestmark = pytest.mark.server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_healthy(url: str, proc: subprocess.Popen[bytes], timeout_s: float) -> bool:
    """Poll ``url + "/health"`` until it answers 200 (True), or the process exits or the time
    runs out (False)."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            return False
        time.sleep(0.1)


class Server:
    def __init__(
        self,
        home: Path,
        database_url: str = "",
        workers: int = 1,
        extra_env: dict[str, str] | None = None,
        start_timeout_s: float = 30,
    ) -> None:
        self.home = home
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {k: v for k, v in os.environ.items() if not k.startswith("CLEW_")}
        env.update(CLEW_HOME=str(home), CLEW_DATABASE_URL=database_url, **(extra_env or {}))
        self.log = (home.parent / f"server-{self.port}.log").open("wb")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "clew.server.main",
                "--port",
                str(self.port),
                "--workers",
                str(workers),
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        if not wait_healthy(self.url, self.proc, start_timeout_s):
            self.stop()
            raise RuntimeError((home.parent / f"server-{self.port}.log").read_text())

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()

    def rss_kib(self) -> int:
        """Resident memory of the server and its worker processes."""
        pids = [self.proc.pid]
        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children")
        if children.exists():
            pids += [int(p) for p in children.read_text().split()]
        total = 0
        for pid in pids:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        return total


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    srv = Server(tmp_path / "home")
    yield srv
    srv.stop()


def raw_request(port: int, target: str, method: str = "GET") -> bytes:
    """Send a request line byte for byte (no client-side normalization of ``..``)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(
            f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 0\r\n"
            "Connection: close\r\n\r\n".encode()
        )
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def test_round_trip(server: Server, tmp_path: Path) -> None:
    http = HttpTransport(server.url)
    eid = http.create_experiment("wire")
    run = http.create_run(eid, run_name="r")
    http.log_batch(run.run_id, [Metric("loss", 0.5, 1, 0)], {"lr": "0.1"}, {"t": "v"})
    found = http.search_runs([eid], "params.lr = '0.1' AND metrics.loss < 1")
    assert [r.run_id for r in found] == [run.run_id]
    for name in ("dog%step%100%timestamp%100", "a b/\u00fc.txt"):
        http.log_artifact_stream(run.run_id, name, io.BytesIO(name.encode()))
        with http.open_artifact(run.run_id, name) as chunks:
            assert b"".join(chunks) == name.encode()
    out = http.download_artifacts(run.run_id, "", tmp_path / "out")
    assert (out / "a b" / "\u00fc.txt").read_text() == "a b/\u00fc.txt"
    for target in (
        "../../../../etc/passwd",
        "%2E%2E%2F%2E%2E%2Fetc%2Fpasswd",
        "%252E%252E%252Fetc",
        "%2%0952e%2%0952e/x",
    ):
        response = raw_request(server.port, f"/api/v1/runs/{run.run_id}/artifacts/{target}")
        assert response.startswith(b"HTTP/1.1 400"), response[:200]
        assert b"INVALID_PATH" in response and b"root:" not in response
    assert http.verify_audit().ok
    http.close()


def test_upload_streams_without_buffering(server: Server) -> None:
    http = HttpTransport(server.url)
    run = http.create_run()
    size = 200 * 1024 * 1024
    before = server.rss_kib()

    class Zeros(io.RawIOBase):
        def __init__(self) -> None:
            self.left = size

        def readable(self) -> bool:
            return True

        def readinto(self, b: memoryview) -> int:  # type: ignore[override]
            n = min(len(b), self.left)
            b[:n] = bytes(n)
            self.left -= n
            return n

    info = http.log_artifact_stream(run.run_id, "zeros.bin", Zeros())  # type: ignore[arg-type]
    assert info.size == size
    assert server.rss_kib() - before < 100 * 1024, "the server held the upload in memory"
    total = 0
    with http.open_artifact(run.run_id, "zeros.bin") as chunks:
        for chunk in chunks:
            total += len(chunk)
    assert total == size
    http.close()


def test_many_single_metric_round_trips_all_land(server: Server) -> None:
    """Latency is measured by bench/, never asserted here: the machine is shared."""
    http = HttpTransport(server.url)
    run = http.create_run()
    for i in range(300):
        http.log_batch(run.run_id, [Metric("m", float(i), 1, i)])
    assert len(http.get_metric_history(run.run_id, "m")) == 300
    http.close()


def _hammer(urls: list[str], run_id: str, per_thread: int) -> list[BaseException]:
    errors: list[BaseException] = []

    def work(t: int) -> None:
        http = HttpTransport(urls[t % len(urls)])
        try:
            for i in range(per_thread):
                http.log_batch(run_id, [Metric("m", float(i), 1, t * per_thread + i)])
        except BaseException as exc:
            errors.append(exc)
        finally:
            http.close()

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def test_two_workers_on_one_sqlite_file(tmp_path: Path) -> None:
    srv = Server(tmp_path / "home", workers=2)
    try:
        http = HttpTransport(srv.url)
        run = http.create_run()
        assert _hammer([srv.url], run.run_id, 25) == []
        assert len(http.get_metric_history(run.run_id, "m")) == 200
        assert http.verify_audit().ok and http.verify_audit().head_seq == 201
        http.close()
    finally:
        srv.stop()


def test_two_servers_on_one_postgres(
    tmp_path: Path, postgres_databases: PostgresDatabases | None
) -> None:
    require(postgres_databases is not None, "PostgreSQL: set CLEW_TEST_POSTGRES_URL")
    assert postgres_databases is not None
    url = postgres_databases.new()
    servers = [Server(tmp_path / f"home{i}", database_url=url) for i in range(2)]
    try:
        a, b = (HttpTransport(s.url) for s in servers)
        run = a.create_run()
        assert b.get_run(run.run_id).info.run_id == run.run_id
        assert _hammer([s.url for s in servers], run.run_id, 25) == []
        assert len(b.get_metric_history(run.run_id, "m")) == 200
        assert a.verify_audit().ok and b.verify_audit().head_seq == 201
        a.close()
        b.close()
    finally:
        for srv in servers:
            srv.stop()
        postgres_databases.drop(url)
