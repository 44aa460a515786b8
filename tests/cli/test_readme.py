"""The flama-cli README's commands that need no network and no server run as written."""

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
README = ROOT / "packages" / "flama-cli" / "README.md"
LINES = [
    line.split("  #")[0].strip()
    for block in re.findall(r"```bash\n(.*?)```", README.read_text(encoding="utf-8"), re.DOTALL)
    for line in block.splitlines()
]
RUNNABLE = [
    "flama model examples/models/assistant.flm inspect --pretty",
    "flama start --create-config simple",
    "flama upgrade --list src/",
]


@pytest.mark.parametrize("line", RUNNABLE)
def test_command_runs(line, tmp_path):
    assert line in LINES  # the README still shows it
    (tmp_path / "src").mkdir()
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    arguments = shlex.split(line)[1:]
    result = subprocess.run([sys.executable, "-m", "flama.cli.main", *arguments], cwd=tmp_path, capture_output=True)
    assert result.returncode == 0, result.stderr
