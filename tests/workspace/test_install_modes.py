"""The `flama` namespace works from built wheels: all of them in one venv, and `flama-core` alone.

The editable workspace is covered by test_layout.py; these tests build every wheel from the working tree.
"""

import subprocess
import sys
import textwrap
import zipfile
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.slow


def run(*args: str | Path, cwd: Path | None = None) -> str:
    result = subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="session")
def wheels(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("dist")
    run("uv", "build", "--all-packages", "--wheel", "--out-dir", out, cwd=ROOT)
    found = {path.name.split("-")[0].replace("_", "-"): path for path in out.glob("*.whl")}
    assert len(found) == 9, sorted(found)
    return found


@pytest.fixture
def venv_factory(tmp_path: Path) -> Callable[[list[Path]], Path]:
    def make(install: list[Path]) -> Path:
        venv = tmp_path / f"venv{len(list(tmp_path.iterdir()))}"
        run("uv", "venv", "--quiet", "--python", sys.executable, venv)
        python = venv / "bin" / "python"
        run("uv", "pip", "install", "--quiet", "--python", python, *install)
        return python

    return make


class TestCaseWheels:
    def test_only_the_metapackage_ships_flama_init(self, wheels: dict[str, Path]) -> None:
        for dist, wheel in wheels.items():
            names = zipfile.ZipFile(wheel).namelist()
            has_init = "flama/__init__.py" in names
            assert has_init == (dist == "flama"), f"{wheel.name}: flama/__init__.py present={has_init}"

    def test_each_wheel_ships_its_portion_and_marker(self, wheels: dict[str, Path]) -> None:
        for dist, wheel in wheels.items():
            portion = "flama" if dist == "flama" else "flama/" + dist.removeprefix("flama-").replace("-", "_")
            names = zipfile.ZipFile(wheel).namelist()
            assert f"{portion}/py.typed" in names, wheel.name

    def test_http_wheel_ships_the_docs_assets(self, wheels: dict[str, Path]) -> None:
        from flama.http.schemas import ASSETS

        names = set(zipfile.ZipFile(wheels["flama-http"]).namelist())
        assert {f"flama/http/schemas/static/{name}" for name in ASSETS} <= names

    def test_core_wheel_is_native_per_python_version(self, wheels: dict[str, Path]) -> None:
        tag = f"cp{sys.version_info.major}{sys.version_info.minor}"
        assert f"-{tag}-{tag}-" in wheels["flama-core"].name
        assert "abi3" not in wheels["flama-core"].name


class TestCaseInstallModes:
    def test_all_wheels_in_one_venv(self, wheels: dict[str, Path], venv_factory: Callable[[list[Path]], Path]) -> None:
        python = venv_factory(list(wheels.values()))
        script = textwrap.dedent(
            """
            import importlib, sys, flama
            portions = ["core", "http", "middleware", "models", "llm", "mcp", "cli", "chat_ui"]
            for name in portions:
                module = importlib.import_module("flama." + name)
                assert "site-packages" in module.__file__, module.__file__
            assert flama.__file__.endswith("site-packages/flama/__init__.py"), flama.__file__
            print(flama.__version__)
            """
        )
        assert run(python, "-c", script).strip() == "3.0.0a0"
        versions = run(python.parent / "flama", "--version")
        assert "flama-core 0.1.0" in versions
        assert "flama-chat-ui 0.1.0" in versions

    def test_core_alone_in_a_bare_venv(
        self, wheels: dict[str, Path], venv_factory: Callable[[list[Path]], Path]
    ) -> None:
        python = venv_factory([wheels["flama-core"]])
        script = textwrap.dedent(
            """
            import importlib.util, flama, flama.core
            from flama.core import Router, RouteMatch, json_decode, json_encode, parse_urlencoded, compress, decompress
            assert flama.__file__ is None  # a bare namespace: no metapackage installed
            assert importlib.util.find_spec("flama.http") is None
            router = Router()
            router.add_route("/items/{id:int}", methods=["GET"], name="item")
            match = router.match("http", "GET", "/items/42")
            assert type(match) is RouteMatch and match.params == {"id": 42}, match
            assert json_decode(json_encode({"a": [1, 2.5, None]})) == {"a": [1, 2.5, None]}
            assert parse_urlencoded(b"a=1&a=2&b=x+y") == [("a", "1"), ("a", "2"), ("b", "x y")]
            assert decompress(compress(b"hello" * 100, "zstd"), "zstd") == b"hello" * 100
            print("ok")
            """
        )
        assert run(python, "-c", script).strip() == "ok"
        installed = run("uv", "pip", "list", "--python", python)
        assert "flama-http" not in installed


MCP_APPS = {
    "starlette": """
        from contextlib import asynccontextmanager
        from flama.mcp import MCPServer
        from starlette.applications import Starlette
        from starlette.routing import Mount

        server = MCPServer("alone")

        @server.tool()
        def add(a: int, b: int) -> int:
            \"\"\"Add two integers.\"\"\"
            return a + b

        @asynccontextmanager
        async def lifespan(app):
            async with server.lifespan():
                yield

        app = Starlette(routes=[Mount("/mcp", app=server)], lifespan=lifespan)
    """,
    "fastapi": """
        from contextlib import asynccontextmanager
        from fastapi import FastAPI
        from flama.mcp import MCPServer

        server = MCPServer("alone")

        @server.tool()
        def add(a: int, b: int) -> int:
            \"\"\"Add two integers.\"\"\"
            return a + b

        @asynccontextmanager
        async def lifespan(app):
            async with server.lifespan():
                yield

        app = FastAPI(lifespan=lifespan)
        app.mount("/mcp", server)
    """,
}


class TestCaseMCPAlone:
    """flama-mcp with only its own wheel set (flama-core, flama-http), mounted in Starlette and in FastAPI."""

    @pytest.mark.parametrize("framework", ["starlette", "fastapi"])
    async def test_mounted(
        self, framework: str, wheels: dict[str, Path], venv_factory: Callable[[list[Path]], Path], tmp_path: Path
    ) -> None:
        import socket
        import time

        from mcp import Client

        own = [wheels["flama-core"], wheels["flama-http"], wheels["flama-mcp"]]
        python = venv_factory([*own, framework, "uvicorn"])  # type: ignore[list-item]
        listed = run("uv", "pip", "list", "--python", python).splitlines()[2:]
        installed = {line.split()[0] for line in listed if line.strip()}
        assert {"flama-core", "flama-http", "flama-mcp", framework} <= installed
        assert not installed & {"flama", "flama-models", "flama-llm", "flama-middleware", "flama-cli", "mcp"}
        (tmp_path / "mcp_app.py").write_text(textwrap.dedent(MCP_APPS[framework]))
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        command = [python, "-m", "uvicorn", "mcp_app:app", "--port", str(port), "--log-level", "warning"]
        server = subprocess.Popen([str(part) for part in command], cwd=tmp_path)
        try:
            deadline = time.monotonic() + 30
            while True:
                with socket.socket() as attempt:
                    if attempt.connect_ex(("127.0.0.1", port)) == 0:
                        break
                assert time.monotonic() < deadline, "the server did not start"
                assert server.poll() is None, "the server exited"
                time.sleep(0.1)
            for mode in ("2026-07-28", "legacy"):
                async with Client(f"http://127.0.0.1:{port}/mcp/", mode=mode) as client:
                    assert [tool.name for tool in (await client.list_tools()).tools] == ["add"]
                    assert (await client.call_tool("add", {"a": 2, "b": 3})).structured_content == {"result": 5}
        finally:
            server.terminate()
            server.wait(timeout=10)
