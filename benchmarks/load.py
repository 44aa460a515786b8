"""Loopback load test: uvicorn (uvloop + httptools, one worker) serving an app, wrk as the client.

Only 127.0.0.1 is ever targeted; the run is bounded by ``seconds`` and stops by itself.
"""

import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RATE = re.compile(r"Requests/sec:\s+([\d.]+)")


def wrk_rate(url: str, seconds: int, connections: int, script: Path | None = None) -> float:
    """Requests per second ``wrk`` (one thread, ``connections`` connections, an optional Lua ``script``) reaches."""
    command = ["wrk", "-t1", f"-c{connections}", f"-d{seconds}s", *(["-s", str(script)] if script else []), url]
    output = subprocess.run(command, check=True, capture_output=True, text=True, timeout=seconds + 30).stdout
    found = RATE.search(output)
    if found is None:
        raise RuntimeError(f"wrk printed no rate:\n{output}")
    return float(found.group(1))


def free_port() -> int:
    """A TCP port nobody listens on."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def resident_bytes(pid: int) -> int:
    """The resident memory (the kernel's ``VmRSS``) of process ``pid``, in bytes; Linux only (``/proc``)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS in /proc/{pid}/status: the memory figures need Linux")


def wait_until_up(url: str, timeout: float = 30.0) -> None:
    """Poll ``url`` until the server answers."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def load_test(
    app: str, path: str = "/", *, seconds: int = 10, connections: int = 64, python: Path | None = None
) -> float:
    """Requests per second wrk reaches against ``app`` served by uvicorn on loopback, run by ``python``."""
    port = free_port()
    server = subprocess.Popen(
        [
            str(python or sys.executable),
            "-m",
            "uvicorn",
            app,
            "--port",
            str(port),
            "--loop",
            "uvloop",
            "--http",
            "httptools",
            "--no-access-log",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
    )
    try:
        url = f"http://127.0.0.1:{port}{path}"
        wait_until_up(url)
        return wrk_rate(url, seconds, connections)
    finally:
        server.terminate()
        server.wait(timeout=10)
