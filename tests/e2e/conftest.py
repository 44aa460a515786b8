"""Real servers for end-to-end tests: uvicorn on a loopback port, in a thread of the test process."""

import socket
import threading
import time
from collections.abc import Callable, Iterator

import pytest
import uvicorn


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server_factory() -> Iterator[Callable[..., str]]:
    """``server_factory(app)`` serves ``app`` with uvicorn until the test ends and returns its base URL."""
    running: list[tuple[uvicorn.Server, threading.Thread]] = []

    def serve(app: object, **options: object) -> str:
        port = free_port()
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", **options)  # type: ignore[arg-type]
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 30
        while not server.started:
            assert thread.is_alive(), "the server exited"
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.05)
        running.append((server, thread))
        return f"http://127.0.0.1:{port}"

    yield serve
    for server, thread in running:
        server.should_exit = True
        thread.join(timeout=10)
