"""A model whose library is not installed fails to load with the command that installs it, never a bare ImportError.

The library is hidden from a fresh interpreter by a meta-path finder, as in an environment installed without it
(`make demo`'s, which has no scikit-learn).
"""

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import flama
from sklearn.linear_model import LogisticRegression

HIDE_SKLEARN = textwrap.dedent(
    """
    import sys
    from importlib.abc import MetaPathFinder

    class Hide(MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "sklearn" or name.startswith("sklearn."):
                raise ModuleNotFoundError(f"No module named {name!r}", name=name)
            return None

    sys.meta_path.insert(0, Hide())
    """
)


def run(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", HIDE_SKLEARN + textwrap.dedent(code)], capture_output=True, text=True)


class TestCaseMissingLibrary:
    def test_load_names_the_install_command(self, tmp_path: Path) -> None:
        path = tmp_path / "classifier.flm"
        flama.dump(LogisticRegression().fit([[0.0], [1.0]], [0, 1]), path)
        result = run(
            f"""
            import json, warnings
            import flama
            from flama.models import MissingLibrary
            warnings.simplefilter("ignore")
            try:
                flama.load({str(path)!r}, trusted=True).model
            except MissingLibrary as exc:
                print(json.dumps({{"lib": exc.lib, "install": exc.install, "message": str(exc)}}))
            """
        )
        assert result.returncode == 0, result.stderr
        error = json.loads(result.stdout)
        assert error["lib"] == "sklearn"
        assert error["install"] == "pip install 'flama[sklearn]'"
        assert error["message"].startswith("This model needs sklearn, which is not installed")
