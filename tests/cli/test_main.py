"""The `flama` group: --version, help of every command in 80 columns, FLAMA_ environment variables."""

import importlib.metadata
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from flama.cli.main import _COMMANDS, DISTRIBUTIONS, cli, main

DEMO = str(Path(__file__).resolve().parents[2] / "examples" / "models" / "assistant.flm")
COMMANDS = [[], *([name] for name in _COMMANDS), *(["model", DEMO, name] for name in ("inspect", "run", "stream"))]


class TestCaseVersion:
    def test_names_the_metapackage_and_each_distribution(self, capsys):
        assert main(["--version"]) == 0
        lines = capsys.readouterr().out.splitlines()
        assert lines[0] == f"Flama {importlib.metadata.version('flama')}"
        assert lines[1:] == [f"  {name} {importlib.metadata.version(name)}" for name in DISTRIBUTIONS]


class TestCaseHelp:
    @pytest.mark.parametrize("command", [pytest.param(c, id=" ".join(c[:1] + c[2:]) or "flama") for c in COMMANDS])
    def test_fits_80_columns_without_markup(self, command):
        result = CliRunner().invoke(cli, [*command, "--help"], prog_name="flama", terminal_width=80)
        assert result.exit_code == 0, result.output
        assert max(len(line) for line in result.output.splitlines()) <= 80
        # No reST/Markdown roles, backslash escapes or backspace markers leak into the text.
        assert not re.search(r"``|:[a-z]+:`|\\b|\x08", result.output)


class TestCaseEnvironment:
    def test_options_read_flama_variables(self, tmp_path):
        (tmp_path / "x.py").write_text("from flama.routing import Route\n")
        result = CliRunner().invoke(cli, ["upgrade", str(tmp_path)], env={"FLAMA_SKIP": "move-module:flama.routing"})
        assert result.exit_code == 0, result.output
