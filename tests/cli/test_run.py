"""`flama run module:app` and `flama start CONFIG`, as in Flama 2.x: config files, and the real commands."""

import httpx
import pytest
import yaml  # type: ignore[import-untyped,unused-ignore]  # no stubs in the dev group, as in flama.cli
from flama.cli.config import Config, ConfigError
from flama.cli.main import main
from flama.cli.options import AppOptions
from flama.cli.specs import ModelSpec

from tests.cli.processes import free_port, serving

APP = """\
from flama.http import Flama

app = Flama()


@app.route("/hello/")
async def hello() -> dict[str, str]:
    return {"hello": "world"}
"""


class TestCaseConfig:
    @pytest.mark.parametrize("suffix", [".json", ".yaml", ".toml"])
    @pytest.mark.parametrize("mode", ["simple", "full"])
    def test_examples_read_back(self, tmp_path, capsys, mode, suffix):
        path = tmp_path / f"flama{suffix}"
        assert main(["start", str(path), "--create-config", mode]) == 0
        text = path.read_text()
        if suffix != ".json":
            assert text.startswith("# The API's title")
            assert max(len(line) for line in text.splitlines()) <= 80
        config = Config.load(path)
        assert config.app == AppOptions()
        assert config.models == (ModelSpec("model.flm", "/model/", "model"),)
        assert (config.server["host"], config.server["port"]) == ("127.0.0.1", 8000)
        assert ("backlog" in config.server) is (mode == "full")

    def test_existing_file_is_kept(self, tmp_path, capsys):
        (tmp_path / "flama.json").write_text("{}")
        assert main(["start", str(tmp_path / "flama.json"), "--create-config", "simple"]) == 1
        assert (tmp_path / "flama.json").read_text() == "{}"

    def test_flama2_config(self):
        data = {
            "app": {"title": "T", "models": [{"path": "m.flm", "url": "/m/", "name": "m", "tool_parser": None}]},
            "server": {"host": "0.0.0.0", "port": 1},
        }
        config = Config.from_dict(data)
        assert config.models == (ModelSpec("m.flm", "/m/", "m"),)
        assert config.app == AppOptions(title="T")

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            pytest.param({"apps": {}}, "unknown section 'apps'", id="section"),
            pytest.param({"server": {"prot": 1}}, "unknown server setting 'prot'", id="server"),
            pytest.param({"app": {"heading": "x"}}, "app: unknown app setting 'heading'", id="app"),
            pytest.param({"app": {"models": [{"url": "/"}]}}, "app.models[0]: file=PATH is required", id="model"),
        ],
    )
    def test_bad_config(self, data, message):
        with pytest.raises(ConfigError, match=message.replace("[", r"\[").replace("]", r"\]")):
            Config.from_dict(data)

    def test_bad_file_is_a_clean_error(self, tmp_path, capsys):
        (tmp_path / "flama.yaml").write_text("app: [\n")
        assert main(["start", str(tmp_path / "flama.yaml")]) == 1
        assert "is not valid YAML" in capsys.readouterr().err


class TestCaseCommands:
    def test_run_module_app(self, tmp_path):
        (tmp_path / "main.py").write_text(APP)
        port = free_port()
        url = f"http://127.0.0.1:{port}/hello/"
        with serving(["run", "main:app", "--server-port", str(port)], url, cwd=tmp_path) as served:
            assert httpx.get(url).json() == {"hello": "world"}
        assert served.status == 0, served.stderr

    def test_start_config_with_app_import_string(self, tmp_path):
        (tmp_path / "main.py").write_text(APP)
        port = free_port()
        (tmp_path / "flama.yaml").write_text(yaml.safe_dump({"app": "main:app", "server": {"port": port}}))
        url = f"http://127.0.0.1:{port}/hello/"
        with serving(["start", "flama.yaml"], url, cwd=tmp_path) as served:
            assert httpx.get(url).json() == {"hello": "world"}
        assert served.status == 0, served.stderr

    def test_run_needs_module_and_attribute(self, capsys):
        assert main(["run", "main"]) == 2
        assert "expected MODULE:ATTRIBUTE, got 'main'" in capsys.readouterr().err

    def test_run_reads_flama_app(self, tmp_path):
        (tmp_path / "main.py").write_text(APP)
        port = free_port()
        url = f"http://127.0.0.1:{port}/hello/"
        environment = {"FLAMA_APP": "main:app", "FLAMA_SERVER_PORT": str(port)}
        with serving(["run"], url, cwd=tmp_path, env=environment) as served:
            assert httpx.get(url).json() == {"hello": "world"}
        assert served.status == 0, served.stderr
