"""`flama upgrade` on a small Flama 1.x style project: diff, --write, idempotence, markers, ids."""

# ruff: noqa: E501 - the expected markers are long lines, as the command writes them

from pathlib import Path

import pytest
from flama.cli.main import main
from flama.cli.upgrade import MIGRATIONS, operations_for, upgrade_source

APP = """\
# An app written for Flama 1.x.
from flama import Flama, BackgroundTask  # the application
from flama.routing import Route, Mount
from flama.middleware import GZipMiddleware, CORSMiddleware, Middleware
from flama.http import JSONResponse, HTMLFileResponse
from flama.asgi import HeadersComponent
from flama.pagination import paginator

app = Flama(middleware=[Middleware(GZipMiddleware, minimum_size=500)])


def home() -> JSONResponse:
    return JSONResponse({"hello": "world"})  # unchanged
"""

UPGRADED = """\
# An app written for Flama 1.x.
from flama import Flama  # the application
from flama.http import BackgroundTask
from flama.http import Route, Mount
from flama.middleware import CompressionMiddleware, CORSMiddleware
from flama.http import Middleware
from flama.http import JSONResponse, HTMLFileResponse  # flama-upgrade: HTMLFileResponse: use FileResponse or HTMLResponse
from flama.http.injection import HeadersComponent  # flama-upgrade: HeadersComponent: request parts are injected from type hints now: take a Request, Header, Query or Cookie parameter
from flama.pagination import paginator  # flama-upgrade: flama.pagination is gone: paginate in your endpoint

app = Flama(middleware=[Middleware(CompressionMiddleware, minimum_size=500)])


def home() -> JSONResponse:
    return JSONResponse({"hello": "world"})  # unchanged
"""

MODELS = """\
import flama.serialize
from flama.models.modules import ModelsModule
from flama.types.http import Headers, Method

model = flama.serialize.load("model.flm")
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "src" / "pkg").mkdir(parents=True)
    (tmp_path / "src" / "pkg" / "app.py").write_text(APP)
    (tmp_path / "src" / "pkg" / "models.py").write_text(MODELS)
    (tmp_path / "src" / "pkg" / "clean.py").write_text("from flama.http import Flama\n")
    return tmp_path / "src"


class TestCaseUpgradeCommand:
    def test_diff_lists_changes_and_exits_1(self, project, capsys):
        assert main(["upgrade", str(project)]) == 1
        out, err = capsys.readouterr()
        assert f"--- {project}/pkg/app.py\n+++ {project}/pkg/app.py\n" in out
        assert "\n-from flama.routing import Route, Mount\n" in out
        assert "\n+from flama.http import Route, Mount\n" in out
        assert "clean.py" not in out
        assert (project / "pkg" / "app.py").read_text() == APP  # nothing written
        assert "Manual follow-ups:" in err
        assert f"{project}/pkg/app.py:5: [remove-symbol:flama.http.HTMLFileResponse]" in err
        assert f"{project}/pkg/app.py:7: [flag-module:flama.pagination]" in err
        assert err.endswith("2 file(s) would change, 3 checked.\n")

    def test_write_then_idempotent(self, project, capsys):
        assert main(["upgrade", "--write", str(project)]) == 0
        assert (project / "pkg" / "app.py").read_text() == UPGRADED
        assert (project / "pkg" / "models.py").read_text() == (
            "import flama.models\n"
            "from flama.models.module import ModelsModule\n"
            "from flama.http import Headers\n"
            "from flama.types.http import Method  # flama-upgrade: flama.types.http is gone: the HTTP data structures"
            " are in flama.http\n"
            "\n"
            'model = flama.models.load("model.flm")\n'
        )
        capsys.readouterr()
        # A second run changes nothing: the diff is empty and the exit status 0; the markers stay listed.
        assert main(["upgrade", str(project)]) == 0
        out, err = capsys.readouterr()
        assert out == ""
        assert "[remove-symbol:flama.http.HTMLFileResponse]" in err
        assert err.endswith("0 file(s) would change, 3 checked.\n")

    def test_from_a_version_already_reached(self, project, capsys):
        assert main(["upgrade", "--from", "2.0", str(project)]) == 0
        assert capsys.readouterr().err.endswith("0 file(s) would change, 3 checked.\n")

    def test_skip_and_select(self, project, capsys):
        assert main(["upgrade", "--to", "2.0", "--skip", "move-module:flama.routing", str(project)]) == 1
        assert "\n-from flama.routing import" not in capsys.readouterr().out
        assert main(["upgrade", "--select", "move-symbol:flama.middleware.GZipMiddleware", str(project)]) == 1
        out = capsys.readouterr().out
        assert "+from flama.middleware import CompressionMiddleware, CORSMiddleware, Middleware\n" in out
        assert "\n-from flama.routing" not in out

    @pytest.mark.parametrize(
        ("arguments", "message"),
        [
            pytest.param(
                ["--skip", "move-module:flama.nope"], "unknown operation id 'move-module:flama.nope'", id="id"
            ),
            pytest.param(["--to", "1.5"], "no migration leads to 1.5", id="old-target"),
            pytest.param(["--to", "two"], "a version is numbers separated by dots", id="bad-target"),
        ],
    )
    def test_bad_options(self, project, capsys, arguments, message):
        assert main(["upgrade", *arguments, str(project)]) == 2
        assert message in capsys.readouterr().err

    def test_unparsable_file_is_reported(self, tmp_path, capsys):
        (tmp_path / "broken.py").write_text("def (:\n")
        assert main(["upgrade", str(tmp_path)]) == 1
        assert "broken.py: not upgraded:" in capsys.readouterr().err


class TestCaseOperations:
    def test_ids_are_unique(self):
        ids = [op.id for migration in MIGRATIONS for op in migration.operations]
        assert len(ids) == len(set(ids))

    def test_uses_through_a_whole_module_import(self):
        source = (
            "import flama.middleware\n"
            "import flama.http\n"
            "\n"
            "x = flama.middleware.GZipMiddleware\n"
            "m = flama.middleware.Middleware\n"
            "if flama.http.HTMLFileResponse:\n"
            "    pass\n"
        )
        upgraded, todos = upgrade_source(source, operations_for())
        assert upgraded == (
            "import flama.middleware\n"
            "import flama.http\n"
            "\n"
            "x = flama.middleware.CompressionMiddleware\n"
            "m = flama.middleware.Middleware  # flama-upgrade: flama.middleware.Middleware: use flama.http.Middleware"
            " (import flama.http)\n"
            "if flama.http.HTMLFileResponse:\n"
            "    pass\n"
        )
        assert [(todo.line, todo.operation) for todo in todos] == [
            (5, "move-symbol:flama.middleware.Middleware"),
            (6, "remove-symbol:flama.http.HTMLFileResponse"),
        ]
        assert upgrade_source(upgraded, operations_for())[0] == upgraded

    def test_comments_and_formatting_kept(self):
        source = "from flama.routing import (\n    Route,  # the route\n    Mount,\n)\n"
        upgraded, todos = upgrade_source(source, operations_for())
        assert upgraded == "from flama.http import (\n    Route,  # the route\n    Mount,\n)\n"
        assert todos == ()
