"""Every ```python block of a distribution's README runs as written."""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
READMES = [ROOT / "crates" / "flama-core" / "README.md"]
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)


def examples() -> list[object]:
    return [
        pytest.param(code, id=f"{readme.parent.name}-{number}")
        for readme in READMES
        for number, code in enumerate(BLOCK.findall(readme.read_text()))
    ]


class TestCaseReadmeExamples:
    def test_every_readme_has_examples(self):
        assert all(BLOCK.search(readme.read_text()) for readme in READMES)

    @pytest.mark.parametrize("code", examples())
    def test_example_runs(self, code):
        exec(compile(code, "<README>", "exec"), {})
