"""The README's main command (`make demo`: `flama serve` on the bundled demo LLM) and the hello example, run for real
and talked to over loopback."""

import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from examples.models.build_demo_model import EXPECT_NAME

ROOT = Path(__file__).resolve().parents[2]


MAKEFILE = ROOT / "Makefile"
README = ROOT / "README.md"
EXPECT = ROOT / "examples" / "models" / EXPECT_NAME


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def serve(
    command: list[str], probe: str, environment: dict[str, str], seconds: float, cwd: Path = ROOT
) -> Iterator[str]:
    """Start ``command`` (a server on ``environment``'s or the command's port); yield its URL once ``probe`` is 200."""
    port = command[command.index("--server-port") + 1] if "--server-port" in command else environment["FLAMA_PORT"]
    server = subprocess.Popen(command, cwd=cwd, env={**os.environ, **environment})
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + seconds
        while True:
            try:
                if httpx.get(url + probe, timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert server.poll() is None, "the server exited"
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def demo_arguments() -> list[str]:
    """The arguments `make demo` gives `flama serve` (the Makefile's DEMO_SERVE), so the test runs what users run."""
    makefile = MAKEFILE.read_text(encoding="utf-8")
    assert "\t./scripts/demo $(DEMO_SERVE)\n" in makefile
    assert 'exec "$env_dir/bin/flama" serve "$@"' in (ROOT / "scripts" / "demo").read_text(encoding="utf-8")
    (line,) = [line for line in makefile.splitlines() if line.startswith("DEMO_SERVE := ")]
    return line.removeprefix("DEMO_SERVE := ").split()


@pytest.fixture
def demo_url() -> Iterator[str]:
    yield from serve([sys.executable, "examples/hello.py"], "/", {"FLAMA_PORT": str(free_port())}, 30)


@pytest.fixture
def main_command_url() -> Iterator[str]:
    command = [sys.executable, "-m", "flama.cli.main", "serve", *demo_arguments(), "--server-port", str(free_port())]
    yield from serve(command, "/health", {}, 180)


class TestCaseMainCommand:
    def test_demo_model_answers(self, main_command_url: str) -> None:
        conversations = {c["id"]: c for c in json.loads(EXPECT.read_text(encoding="utf-8"))["conversations"]}
        plain = conversations["plain"]
        body = {"messages": plain["messages"], "params": {"temperature": 0}}
        response = httpx.post(main_command_url + "/llm/query/", json=body, timeout=60)
        assert response.status_code == 200, response.text
        answer = response.json()
        assert answer["blocks"] == [{"type": "text", "text": plain["reply"]}]
        assert answer["stop_reason"] == "end"
        inspect = httpx.get(main_command_url + "/llm/").json()
        assert inspect["name"] == "assistant"


@pytest.fixture
def readme_app_url(tmp_path: Path) -> Iterator[str]:
    """The README's Python example, run as written but on a free port, in a directory where it may write its model."""
    (code,) = [
        block for block in re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL) if "add_model" in block
    ]
    port = free_port()
    assert "server_port=8000" in code
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    script = tmp_path / "readme_app.py"
    script.write_text(code.replace("server_port=8000", f"server_port={port}"), encoding="utf-8")
    yield from serve([sys.executable, str(script)], "/health", {"FLAMA_PORT": str(port)}, 180, cwd=tmp_path)


class TestCaseReadmeExample:
    def test_both_models_answer(self, readme_app_url: str) -> None:
        predicted = httpx.post(readme_app_url + "/classifier/predict/", json={"input": [[0.0], [1.0]]}, timeout=30)
        assert predicted.status_code == 200, predicted.text
        assert predicted.json() == {"output": [0, 1]}
        body = {"messages": [{"role": "user", "content": "Hello! Who are you?"}], "params": {"temperature": 0}}
        answer = httpx.post(readme_app_url + "/llm/query/", json=body, timeout=60)
        assert answer.json()["blocks"] == [{"type": "text", "text": "Hello! I am the tiny demo assistant of Flama."}]


class TestCaseHelloExample:
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
        assert missing.json() == {"detail": "Not Found", "error": "HTTPException", "status_code": 404}
        wrong = httpx.post(demo_url + "/items/7")
        assert wrong.status_code == 405
        assert wrong.headers["allow"] == "GET, HEAD"
