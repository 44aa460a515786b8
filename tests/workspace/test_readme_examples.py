"""Every ```python block of a distribution's README runs as written, and no README calls its package a skeleton.

A README's blocks run in order in one namespace (a later block may use what an earlier one built), in a temporary
working directory where ``examples/`` is the checkout's. READMEs whose examples need a served model or files they do
not create are listed in ``NOT_RUNNABLE`` with the reason, so the list shrinks as they are made runnable.
"""

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
READMES = sorted([*ROOT.glob("packages/*/README.md"), ROOT / "crates" / "flama-core" / "README.md"])
BLOCK = re.compile(r"```python\n(.*?)```", re.DOTALL)
NOT_RUNNABLE = {
    "flama-llm": "its examples talk to a served model with the vendor SDKs",
    "flama-models": "its examples read .flm files (model.flm, fish.flm) that they do not create",
}
# What an example reads from the environment, as a deployment would set it.
ENVIRONMENT = {"SESSION_SECRET": "a-secret-of-at-least-thirty-two-bytes-long"}


def runnable() -> list[object]:
    return [
        pytest.param(readme, id=readme.parent.name)
        for readme in READMES
        if readme.parent.name not in NOT_RUNNABLE and BLOCK.search(readme.read_text(encoding="utf-8"))
    ]


def has_code(distribution: Path) -> bool:
    """Whether a distribution's package holds code beyond an ``__init__.py`` that only names its version."""
    sources = [path for path in distribution.rglob("*.py") if ".venv" not in path.parts and "tests" not in path.parts]
    return any(path.name != "__init__.py" for path in sources)


class TestCaseReadmeExamples:
    @pytest.mark.parametrize("readme", runnable())
    def test_examples_run(self, readme, tmp_path, monkeypatch):
        for name, value in ENVIRONMENT.items():
            monkeypatch.setenv(name, value)
        (tmp_path / "examples").symlink_to(ROOT / "examples")  # READMEs name the demo model by its checkout path
        monkeypatch.chdir(tmp_path)
        namespace: dict[str, object] = {"__name__": "readme"}
        for number, code in enumerate(BLOCK.findall(readme.read_text(encoding="utf-8"))):
            exec(compile(code, f"{readme.relative_to(ROOT)}#{number}", "exec"), namespace)

    def test_not_runnable_are_known(self):
        assert set(NOT_RUNNABLE) <= {readme.parent.name for readme in READMES}

    @pytest.mark.parametrize("readme", [pytest.param(readme, id=readme.parent.name) for readme in READMES])
    def test_no_skeleton_with_code(self, readme):
        says_skeleton = re.search(r"\bskeleton\b", readme.read_text(encoding="utf-8"), re.IGNORECASE)
        assert not (says_skeleton and has_code(readme.parent)), f"{readme} calls its package a skeleton"
