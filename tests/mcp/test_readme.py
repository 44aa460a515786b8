"""Every ```python block of flama-mcp's README runs as written."""

import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[2] / "packages" / "flama-mcp" / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), re.DOTALL)


@pytest.mark.parametrize("code", [pytest.param(code, id=f"block-{index}") for index, code in enumerate(BLOCKS)])
def test_example_runs(code: str) -> None:
    namespace: dict[str, object] = {}
    exec(compile(code, str(README), "exec"), namespace)
    assert "app" in namespace or "server" in namespace
