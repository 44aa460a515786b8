import json
import logging
import re
from pathlib import Path

import pytest
from flama.cli.main import JSONLogFormatter, build_app, main, parse_model


class TestCaseParseModel:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            pytest.param("file=m.flm,url=/,name=llm", {"file": "m.flm", "url": "/", "name": "llm"}, id="full"),
            pytest.param("file=dir/fish.flm", {"file": "dir/fish.flm", "url": "/fish/", "name": "fish"}, id="defaults"),
            pytest.param("file=m.flm,url=/llm", {"file": "m.flm", "url": "/llm/", "name": "m"}, id="slash-added"),
            pytest.param(" file = m.flm , name = x ", {"file": "m.flm", "url": "/x/", "name": "x"}, id="spaces"),
        ],
    )
    def test_valid(self, value, expected):
        assert parse_model(value) == expected

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            pytest.param(
                "m.flm",
                "expected key=value pairs separated by commas (file=PATH,url=/,name=NAME), got 'm.flm'",
                id="bare",
            ),
            pytest.param("file=a,path=/", "unknown key 'path': use file, url, name", id="unknown"),
            pytest.param("file=a,file=b", "'file' is given twice", id="twice"),
            pytest.param("url=/x/", "file=PATH is required", id="no-file"),
            pytest.param("file=a,url=x", "url must start with '/', got 'x'", id="relative-url"),
        ],
    )
    def test_invalid(self, value, message):
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            parse_model(value)


class TestCaseServeCommand:
    def test_bad_model_syntax_is_a_usage_error(self, capsys):
        assert main(["serve", "--model", "m.flm"]) == 2
        err = capsys.readouterr().err
        assert "Invalid value for '--model': expected key=value pairs separated by commas" in err

    def test_model_is_required(self, capsys):
        assert main(["serve"]) == 2
        assert "Missing option '--model'" in capsys.readouterr().err

    def test_missing_file(self, capsys, tmp_path):
        missing = tmp_path / "nope.flm"
        assert main(["serve", "--model", f"file={missing},url=/,name=x"]) == 1
        assert capsys.readouterr().err == f"Error: model file not found: {missing}\n"

    def test_version(self, capsys):
        assert main(["--version"]) == 0
        out = capsys.readouterr().out
        assert "flama.cli 0.1.0\n" in out
        assert "flama.llm 0.1.0\n" in out


class TestCaseJSONLogFormatter:
    def test_extra_fields_become_fields(self):
        record = logging.makeLogRecord(
            {"name": "flama.llm", "levelname": "INFO", "msg": "done: %s", "args": ("end",), "request_id": "abc"}
        )
        data = json.loads(JSONLogFormatter().format(record))
        assert {key: data[key] for key in ("level", "logger", "message", "request_id")} == {
            "level": "INFO",
            "logger": "flama.llm",
            "message": "done: end",
            "request_id": "abc",
        }
        assert set(data) == {"time", "level", "logger", "message", "request_id"}

    def test_exceptions_are_kept(self):
        try:
            raise RuntimeError("boom")
        except RuntimeError as exc:
            record = logging.makeLogRecord({"msg": "failed", "exc_info": (type(exc), exc, exc.__traceback__)})
        data = json.loads(JSONLogFormatter().format(record))
        assert data["exception"].endswith("RuntimeError: boom")


class TestCaseBuildApp:
    async def test_routes_keys_and_request_ids(self, client_factory):
        demo = Path(__file__).resolve().parents[2] / "examples" / "models" / "assistant.flm"
        app = build_app([parse_model(f"file={demo},url=/llm/,name=assistant")], api_keys=["k1"])
        # No lifespan here: the model is not loaded, which is all these routes need.
        async with client_factory(app) as client:
            denied = await client.get("/llm/")
            allowed = await client.get("/llm/", headers={"Authorization": "Bearer k1", "X-Request-ID": "r1"})
            health = await client.get("/health")
            metrics = await client.get("/metrics")
        assert denied.status_code == 401
        info = allowed.json()
        assert (allowed.status_code, info["name"], info["ready"], info["backend"]) == (200, "assistant", False, None)
        assert info["meta"]["framework"]["family"] == "llm"
        assert info["capabilities"]["tools"] is True
        assert allowed.headers["x-request-id"] == "r1"
        assert (health.status_code, health.json()["status"]) == (503, "loading")
        assert metrics.status_code == 200
