"""`flama serve`: specs, the application they build, and the real command over loopback."""

import json
import logging
import re
from pathlib import Path

import httpx
import openai
import pytest
from flama.cli.logs import JSONLogFormatter
from flama.cli.main import main
from flama.cli.options import AppOptions
from flama.cli.specs import ModelSpec, SpecError, build_app, parse_spec

from tests.cli.processes import free_port, serving

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "models" / "assistant.flm"
EXPECT = json.loads((ROOT / "examples" / "models" / "assistant.expect.json").read_text(encoding="utf-8"))


class TestCaseParseSpec:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            pytest.param("m.flm", ModelSpec("m.flm", "/m/", "m"), id="path"),
            pytest.param("file=m.flm,url=/,name=llm", ModelSpec("m.flm", "/", "llm"), id="full"),
            pytest.param("file=dir/fish.flm", ModelSpec("dir/fish.flm", "/fish/", "fish"), id="defaults"),
            pytest.param("file=m.flm,url=/llm", ModelSpec("m.flm", "/llm/", "m"), id="slash-added"),
            pytest.param(" file = m.flm , name = x ", ModelSpec("m.flm", "/x/", "x"), id="spaces"),
            pytest.param(
                "file=m.flm,params=temperature=0.5:max_tokens=8:stop=END,serving=native,max_running=2,max_queued=null",
                ModelSpec(
                    "m.flm",
                    "/m/",
                    "m",
                    {
                        "params": {"temperature": 0.5, "max_tokens": 8, "stop": "END"},
                        "serving": ["native"],
                        "max_running": 2,
                        "max_queued": None,
                    },
                ),
                id="options",
            ),
            pytest.param(
                "file=m.flm,api-keys=k1:k2", ModelSpec("m.flm", "/m/", "m", {"api_keys": ["k1", "k2"]}), id="keys"
            ),
            pytest.param("file=m.flm,tool_parser=auto", ModelSpec("m.flm", "/m/", "m"), id="flama2-auto-decoder"),
        ],
    )
    def test_valid(self, value, expected):
        assert parse_spec(value) == expected

    @pytest.mark.parametrize(
        ("value", "message"),
        [
            pytest.param("file=a,,name=x", "expected key=value pairs separated by commas", id="empty-part"),
            pytest.param("file=a,file=b", "'file' is given twice", id="twice"),
            pytest.param("url=/x/", "file=PATH is required", id="no-file"),
            pytest.param("file=a,url=x", "url must start with '/', got 'x'", id="relative-url"),
            pytest.param("file=a,params=x", "expected key=value, got 'x'", id="bad-params"),
            pytest.param("file=a,tool_parser=qwen", "pick the model's decoder with decoder=NAME", id="flama2-decoder"),
            pytest.param("@spec.ini", "expected a .json, .yaml, .yml or .toml file", id="file-type"),
            pytest.param("@missing.json", "cannot read 'missing.json'", id="file-missing"),
        ],
    )
    def test_invalid(self, value, message):
        with pytest.raises(SpecError, match=re.escape(message)):
            parse_spec(value)

    @pytest.mark.parametrize(
        ("name", "text"),
        [
            pytest.param(
                "spec.json",
                '{"file": "m.flm", "url": "/llm/", "params": {"max_tokens": 8}, "serving": ["native"]}',
                id="json",
            ),
            pytest.param(
                "spec.yaml", "file: m.flm\nurl: /llm/\nparams:\n  max_tokens: 8\nserving: [native]\n", id="yaml"
            ),
            pytest.param(
                "spec.toml",
                'file = "m.flm"\nurl = "/llm/"\nserving = ["native"]\n[params]\nmax_tokens = 8\n',
                id="toml",
            ),
        ],
    )
    def test_spec_files(self, tmp_path, name, text):
        (tmp_path / name).write_text(text)
        spec = parse_spec(f"@{tmp_path / name}")
        assert spec == ModelSpec("m.flm", "/llm/", "m", {"params": {"max_tokens": 8}, "serving": ["native"]})


class TestCaseBuildApp:
    def test_options_reach_the_resource(self):
        spec = parse_spec(f"file={DEMO},url=/llm/,name=assistant,max_running=2,max_queued=3,heartbeat=2.5")
        app = build_app([spec], AppOptions(title="T"), backend="transformers")
        resource = app.modules.get("models").resources["assistant"]
        assert (resource.heartbeat, resource.backend_name) == (2.5, "transformers")
        assert (resource.scheduler.max_running, resource.scheduler.max_queued) == (2, 3)

    def test_command_line_defaults_reach_every_model(self, tmp_path):
        from flama.models import dump
        from sklearn.linear_model import LogisticRegression

        dump(LogisticRegression().fit([[0.0], [1.0]], [0, 1]), tmp_path / "c.flm")
        specs = [parse_spec(f"file={DEMO},name=llm,backend=mlx"), parse_spec(f"file={tmp_path / 'c.flm'},workers=2")]
        app = build_app(specs, backend="transformers", trusted=True)
        resources = app.modules.get("models").resources
        # A model's own option wins; an option its resource does not take (backend) is not given to it.
        assert resources["llm"].backend_name == "mlx"
        assert resources["c"].trusted is True

    def test_unknown_option_names_the_known_ones(self):
        with pytest.raises(SpecError, match=r"model 'a' \(llm\) has no option 'workerz'; its options: .*max_running"):
            build_app([parse_spec(f"file={DEMO},name=a,workerz=2")])

    @pytest.mark.parametrize(
        ("option", "message"),
        [
            ("prompt_offload_queue=abc", "prompt_offload_queue must be an integer or null, got 'abc'"),
            ("max_running=2.5", "max_running must be an integer, got 2.5"),
            ("max_queued=true", "max_queued must be an integer or null, got True"),
            ("any_model_name=1", "any_model_name must be true or false, got 1"),
            ("heartbeat=soon", "heartbeat must be a number, got 'soon'"),
        ],
    )
    def test_a_mistyped_value_names_what_the_option_takes(self, option, message):
        with pytest.raises(SpecError, match=re.escape(f"model 'a': {message}")):
            build_app([parse_spec(f"file={DEMO},name=a,{option}")])

    def test_values_of_the_types_an_option_takes(self):
        spec = parse_spec(f"file={DEMO},name=a,heartbeat=2,max_queued=null,prompt_offload_queue=3,decoder=qwen3")
        resource = build_app([spec]).modules.get("models").resources["a"]
        assert (resource.heartbeat, resource.scheduler.max_queued, resource.prompt_offload_queue) == (2, None, 3)

    def test_missing_file(self, tmp_path):
        with pytest.raises(SpecError, match="model file not found"):
            build_app([parse_spec(f"file={tmp_path / 'x.flm'}")])

    async def test_routes_keys_and_request_ids(self, client_factory):
        app = build_app([parse_spec(f"file={DEMO},url=/llm/,name=assistant")], api_keys=["k1"])
        # No lifespan here: the model is not loaded, which is all these routes need.
        async with client_factory(app) as client:
            denied = await client.get("/llm/")
            allowed = await client.get("/llm/", headers={"Authorization": "Bearer k1", "X-Request-ID": "r1"})
            health = await client.get("/health")
            docs = await client.get("/docs/")
        assert denied.status_code == 401
        assert (allowed.status_code, allowed.json()["name"]) == (200, "assistant")
        assert allowed.headers["x-request-id"] == "r1"
        assert (health.status_code, health.json()["status"]) == (503, "loading")
        assert docs.status_code == 200


class TestCaseServeCommandErrors:
    def test_bad_spec_is_a_usage_error(self, capsys):
        assert main(["serve", "--model", "file=a,,b"]) == 2
        assert "Invalid value for '--model': expected key=value pairs" in capsys.readouterr().err

    def test_model_is_required(self, capsys):
        assert main(["serve"]) == 2
        assert "Missing option '--model'" in capsys.readouterr().err

    def test_missing_file(self, capsys, tmp_path):
        missing = tmp_path / "nope.flm"
        assert main(["serve", "--model", f"file={missing}"]) == 1
        assert capsys.readouterr().err == f"Error: model file not found: {missing}\n"

    def test_unknown_option(self, capsys):
        assert main(["serve", "--model", f"file={DEMO},bogus=1"]) == 1
        assert "has no option 'bogus'" in capsys.readouterr().err

    def test_mistyped_option(self, capsys, tmp_path):
        from flama.models import dump
        from sklearn.linear_model import LogisticRegression

        dump(LogisticRegression().fit([[0.0], [1.0]], [0, 1]), tmp_path / "c.flm")
        assert main(["serve", "--model", f"file={tmp_path / 'c.flm'},workers=two"]) == 1
        assert capsys.readouterr().err == "Error: model 'c': workers must be an integer or null, got 'two'\n"


class TestCaseWorkerProcesses:
    def test_each_worker_builds_the_same_application(self, monkeypatch):
        """With --server-workers, uvicorn imports the factory in each process: it reads the settings serve left."""
        import flama.http
        from flama.cli import serve

        calls = []
        monkeypatch.setattr(flama.http, "run", lambda target, **options: calls.append((target, options)))
        monkeypatch.setenv("FLAMA_CLI_SERVE_SETTINGS", "")  # restored (removed) when the test ends
        spec = f"file={DEMO},url=/llm/,name=assistant,max_running=3"
        arguments = ["serve", "--model", spec, "--server-workers", "2", "--app-title", "W", "--backend", "mlx"]
        assert main(arguments) == 0
        ((target, options),) = calls
        assert (target, options["workers"], options["factory"]) == ("flama.cli.serve:app_from_environment", 2, True)
        app = serve.app_from_environment()
        resource = app.modules.get("models").resources["assistant"]
        assert (resource.path, resource.scheduler.max_running, resource.backend_name) == ("/llm/", 3, "mlx")
        assert app.openapi_info["title"] == "W"


class TestCaseServerOptions:
    def test_reach_the_server(self, monkeypatch):
        """The --server-* options (and FLAMA_SERVER_* variables) become flama.http.run's arguments and limits."""
        import flama.http

        calls = []
        monkeypatch.setattr(flama.http, "run", lambda target, **options: calls.append((target, options)))
        monkeypatch.setenv("FLAMA_SERVER_PORT", "9001")
        arguments = ["--server-header-timeout", "3", "--server-timeout-keep-alive", "7", "--server-headers", "X-A: b"]
        assert main(["run", "main:app", *arguments, "--server-no-access-log"]) == 0
        ((target, options),) = calls
        assert target == "main:app"
        limits = options.pop("limits")
        assert limits.header_timeout == 3
        assert options == {
            "server_host": "127.0.0.1",
            "server_port": 9001,
            "timeout_keep_alive": 7,
            "headers": [("X-A", "b")],
            "access_log": False,
            "app_dir": ".",
            "log_level": "info",
        }

    def test_bad_header(self, capsys):
        assert main(["run", "main:app", "--server-headers", "nocolon"]) == 2
        assert "expected 'Name: value', got 'nocolon'" in capsys.readouterr().err


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


class TestCaseServeProcess:
    def test_serves_answers_and_stops_on_sigterm(self):
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        arguments = ["serve", "--model", f"file={DEMO},url=/llm/,name=assistant"]
        # Options from FLAMA_ environment variables, as users set them in containers.
        environment = {"FLAMA_SERVER_PORT": str(port), "FLAMA_APP_TITLE": "Demo"}
        with serving(arguments, url + "/health", env=environment) as served:
            plain = next(c for c in EXPECT["conversations"] if c["id"] == "plain")
            body = {"messages": plain["messages"], "params": {"temperature": 0}}
            answer = httpx.post(url + "/llm/query/", json=body, timeout=60).json()
            assert answer["blocks"] == [{"type": "text", "text": plain["reply"]}]
            assert httpx.get(url + "/schema/").json()["info"]["title"] == "Demo"
            # The OpenAI dialect, at the base URL the command printed, through the official SDK.
            client = openai.OpenAI(base_url=f"{url}/llm/openai/v1", api_key="unused")
            completion = client.chat.completions.create(model="assistant", messages=plain["messages"], temperature=0)
            assert completion.choices[0].message.content == plain["reply"]
        assert served.status == 0, served.stderr
        stderr = served.stderr
        assert re.search(rf"^docs +http://127.0.0.1:{port}/docs/$", stderr, re.MULTILINE)
        assert re.search(rf"^  native API +http://127.0.0.1:{port}/llm/$", stderr, re.MULTILINE)
        assert re.search(rf"^  openai API +http://127.0.0.1:{port}/llm/openai/v1$", stderr, re.MULTILINE)
        assert re.search(rf"^  chat UI +http://127.0.0.1:{port}/llm/chat/$", stderr, re.MULTILINE)
