"""Real servers for end-to-end tests: an ASGI app served by uvicorn on 127.0.0.1, on a free port, in a thread."""

import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import uvicorn
from flama.http.types import ASGIApp

ServerFactory = Callable[..., str]


@pytest.fixture
def server_factory() -> Iterator[ServerFactory]:
    """Serve an ASGI app for the test; returns its base URL (``http://127.0.0.1:<port>``).

    Extra keyword arguments go to :class:`uvicorn.Config`. Every server started is stopped when the test ends.
    """
    running: list[tuple[uvicorn.Server, threading.Thread]] = []

    def start(app: ASGIApp, **options: Any) -> str:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", 0))
        port = listener.getsockname()[1]
        # The sans-I/O WebSocket implementation: the older one relies on APIs the websockets library deprecates.
        options.setdefault("ws", "websockets-sansio")
        options.setdefault("lifespan", "off")
        config = uvicorn.Config(app, log_level="warning", **options)
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
        thread.start()
        running.append((server, thread))
        deadline = time.monotonic() + 10
        while not server.started:
            assert thread.is_alive(), "the server exited while starting"
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.01)
        return f"http://127.0.0.1:{port}"

    yield start
    for server, thread in running:
        server.should_exit = True
        thread.join(timeout=10)
