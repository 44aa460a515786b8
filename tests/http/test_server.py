"""The server defaults of ``flama.run`` against slow and oversized clients, over real loopback connections.

Issue 9, item 15: a client trickling its headers held its connection for as long as it liked, and a 64 MB header line
was buffered whole. Each test starts uvicorn with ``ServerLimits(...).uvicorn_options()`` for both HTTP parsers.
"""

import contextlib
import json
import socket
import time
from typing import Any

import httpx
import pytest
import uvicorn
from flama.http import Flama, ServerLimits, server_defaults
from flama.http.protocols import GuardedH11Protocol, GuardedHttpToolsProtocol

PARSERS = [pytest.param(GuardedH11Protocol, id="h11"), pytest.param(GuardedHttpToolsProtocol, id="httptools")]


def make_app() -> Flama:
    app = Flama(schema=None, docs=None, discover_modules=False)

    @app.route("/")
    async def hello() -> dict[str, str]:
        return {"hello": "world"}

    return app


def start(server_factory: Any, protocol: type, **limits: Any) -> tuple[str, int]:
    options = ServerLimits(**limits).uvicorn_options()
    options["http"] = type(protocol.__name__, (protocol,), {"header_timeout": limits.get("header_timeout", 10.0)})
    url = server_factory(make_app(), **options)
    host, port = url.removeprefix("http://").split(":")
    return host, int(port)


def read_response(sock: socket.socket, deadline: float) -> tuple[int, bytes]:
    """The status and body the server sent before closing (0 when it closed without answering)."""
    data = b""
    sock.settimeout(max(deadline - time.monotonic(), 0.1))
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except ConnectionResetError:
        pass
    if not data:
        return 0, b""
    return int(data.split(b" ", 2)[1]), data.partition(b"\r\n\r\n")[2]


class TestCaseServerLimits:
    def test_defaults(self):
        options = server_defaults()
        assert options["timeout_keep_alive"] == 5
        assert options["h11_max_incomplete_event_size"] == 16 * 1024
        assert options["limit_concurrency"] == 1024
        assert options["http"] == "flama.http.protocols:GuardedHttpToolsProtocol"
        assert uvicorn.importer.import_from_string(options["http"]) is GuardedHttpToolsProtocol

    def test_custom_timeout_is_a_subclass(self):
        protocol = ServerLimits(header_timeout=2.5).uvicorn_options()["http"]
        assert issubclass(protocol, GuardedHttpToolsProtocol)
        assert protocol.header_timeout == 2.5

    @pytest.mark.parametrize(
        "limits",
        [{"header_timeout": 0}, {"max_header_size": 10}, {"keep_alive_timeout": -1}, {"max_concurrency": 0}],
    )
    def test_invalid(self, limits):
        with pytest.raises(ValueError, match=next(iter(limits))):
            ServerLimits(**limits)

    def test_run_applies_them(self, monkeypatch):
        from flama.http import run

        calls: list[dict[str, Any]] = []
        monkeypatch.setattr(uvicorn, "run", lambda app, **options: calls.append(options))

        run("pkg:app", limits=ServerLimits(max_concurrency=7), log_level="warning", timeout_keep_alive=9)

        assert calls[0]["limit_concurrency"] == 7
        assert calls[0]["timeout_keep_alive"] == 9
        assert calls[0]["h11_max_incomplete_event_size"] == 16 * 1024
        assert calls[0]["log_level"] == "warning"


@pytest.mark.parametrize("protocol", PARSERS)
class TestCaseSlowAndLargeClients:
    def test_normal_requests_and_keep_alive(self, server_factory, protocol):
        host, port = start(server_factory, protocol, header_timeout=1)
        with httpx.Client(base_url=f"http://{host}:{port}") as client:
            first = client.get("/")
            time.sleep(1.5)  # longer than the header timeout, shorter than keep-alive: the connection stays usable
            second = client.get("/")
        assert (first.status_code, second.status_code) == (200, 200)
        assert second.json() == {"hello": "world"}

    def test_slow_headers_are_dropped(self, server_factory, protocol):
        host, port = start(server_factory, protocol, header_timeout=1)
        clients = [socket.create_connection((host, port)) for _ in range(20)]
        started = time.monotonic()
        try:
            # A byte every 100 ms: never idle long enough for keep-alive, never finishing the headers.
            for byte in b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: aaaaaa":
                for sock in clients:
                    with contextlib.suppress(OSError):
                        sock.send(bytes([byte]))
                time.sleep(0.1)
                if time.monotonic() - started > 3:
                    break
            statuses = [read_response(sock, started + 4) for sock in clients]
        finally:
            for sock in clients:
                sock.close()
        elapsed = time.monotonic() - started
        assert all(status == 408 for status, _ in statuses), statuses
        body = json.loads(statuses[0][1])
        assert body["status_code"] == 408
        assert "header_timeout" in body["detail"]
        assert elapsed < 4

    def test_silent_connection_is_dropped(self, server_factory, protocol):
        host, port = start(server_factory, protocol, header_timeout=1)
        started = time.monotonic()
        with socket.create_connection((host, port)) as sock:
            status, _ = read_response(sock, started + 3)
        assert status == 408
        assert time.monotonic() - started < 3

    def test_long_header_line_is_refused(self, server_factory, protocol):
        host, port = start(server_factory, protocol)
        started = time.monotonic()
        sent = 0
        with socket.create_connection((host, port)) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Long: ")
            chunk = b"a" * 65536
            try:
                # Up to 64 MB, as in the attack; the server must stop it long before.
                while sent < 64 * 1024 * 1024:
                    sock.sendall(chunk)
                    sent += len(chunk)
            except OSError:
                pass
            status, _ = read_response(sock, time.monotonic() + 3)
        # h11 refuses with its own 400 before Flama's guard sees the bytes; httptools gets the guard's 431.
        assert status in (400, 431)
        assert status == 431 or protocol is GuardedH11Protocol
        assert sent < 8 * 1024 * 1024
        assert time.monotonic() - started < 3
