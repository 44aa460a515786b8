"""The README's main command serves the demo app: run it for real and talk to it over loopback."""

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def demo_url() -> Iterator[str]:
    port = free_port()
    environment = {**os.environ, "FLAMA_PORT": str(port)}
    server = subprocess.Popen([sys.executable, "examples/hello.py"], cwd=ROOT, env=environment)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(url + "/", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None, "the demo exited"
                assert time.monotonic() < deadline, "the demo did not start"
                time.sleep(0.1)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)


class TestCaseDemo:
    def test_routes(self, demo_url: str) -> None:
        index = httpx.get(demo_url + "/")
        assert index.status_code == 200
        assert index.json() == {"flama": "ready", "routes": ["/items/42", "/hello/you", "/ticks", "/docs/"]}
        assert httpx.get(demo_url + "/items/7").json() == {"id": 7, "name": "item-7"}
        assert httpx.get(demo_url + "/hello/Ada%20L?greeting=Hi").json() == {"message": "Hi, Ada L!"}
        assert httpx.get(demo_url + "/schema/").json()["info"]["title"] == "Flama demo"

    def test_stream(self, demo_url: str) -> None:
        with httpx.stream("GET", demo_url + "/ticks?count=2", headers={"accept-encoding": "gzip"}) as response:
            assert response.headers["content-type"].startswith("text/event-stream")
            assert response.headers["content-encoding"] == "gzip"
            body = b"".join(response.iter_bytes())
        assert body == b'event: tick\nid: 0\ndata: {"tick":0}\n\nevent: tick\nid: 1\ndata: {"tick":1}\n\n'

    def test_errors(self, demo_url: str) -> None:
        missing = httpx.get(demo_url + "/items/seven")
        assert missing.status_code == 404
        assert missing.json() == {"detail": "Not Found", "error": "Not Found", "status_code": 404}
        wrong = httpx.post(demo_url + "/items/7")
        assert wrong.status_code == 405
        assert wrong.headers["allow"] == "GET, HEAD"
