"""The `flama` command run as a real process: start it, wait until it serves, stop it with SIGTERM."""

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

__all__ = ["Served", "free_port", "serving"]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Served:
    """A running ``flama`` process; ``status`` and ``stderr`` are set once it has stopped."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        self.status: int | None = None
        self.stderr = ""


@contextmanager
def serving(
    arguments: Sequence[str],
    probe: str,
    *,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    seconds: float = 180,
) -> Iterator[Served]:
    """Run ``flama ARGUMENTS`` until ``probe`` (a URL) answers 200; on the way out, SIGTERM and wait."""
    command = [sys.executable, "-m", "flama.cli.main", *arguments]
    process = subprocess.Popen(command, cwd=cwd, env={**os.environ, **(env or {})}, stderr=subprocess.PIPE, text=True)
    served = Served(process)
    try:
        deadline = time.monotonic() + seconds
        while True:
            try:
                if httpx.get(probe, timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None:
                raise AssertionError(f"the server exited with {process.returncode}: {process.communicate()[1]}")
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        yield served
    finally:
        process.send_signal(signal.SIGTERM)
        _, served.stderr = process.communicate(timeout=30)
        served.status = process.returncode
