"""`add_model`'s typed options: each family's set equals its resource class's keywords, and mypy checks calls."""

import inspect
import textwrap

import pytest
from flama.models import LanguageModelOptions, ModelOptions, PredictiveOptions
from flama.models.resources.predictive import PredictiveResource

# Given by add_model itself (path, model, name, trusted, limits) or by the module (limiter), not by the caller.
_SET_BY_ADD_MODEL = {"path", "name", "source", "trusted", "limits", "limiter"}


def _keywords(cls: type) -> set[str]:
    parameters = inspect.signature(cls).parameters.values()
    return {p.name for p in parameters if p.kind is p.KEYWORD_ONLY} - _SET_BY_ADD_MODEL


class TestCaseOptions:
    def test_predictive(self):
        assert set(PredictiveOptions.__annotations__) == _keywords(PredictiveResource)

    def test_language_model(self):
        resource = pytest.importorskip("flama.llm.resource")
        assert set(LanguageModelOptions.__annotations__) == _keywords(resource.LLMResource)

    def test_either_family(self):
        assert set(ModelOptions.__annotations__) == {
            *PredictiveOptions.__annotations__,
            *LanguageModelOptions.__annotations__,
        }


class TestCaseTypeChecked:
    def test_mypy_checks_options(self, tmp_path):
        api = pytest.importorskip("mypy.api")
        source = tmp_path / "app.py"
        source.write_text(
            textwrap.dedent(
                """
                from flama import Flama

                app = Flama()
                app.models.add_model("/llm/", "a.flm", "a", family="llm", max_running=4, serving=("openai",))
                app.models.add_model("/ml/", "b.flm", "b", family="ml", workers=2)
                app.models.add_model("/c/", "c.flm", "c", cache_size=8)
                app.models.add_model("/d/", "d.flm", "d", family="llm", max_runing=4)
                app.models.add_model("/e/", "e.flm", "e", family="ml", max_running="4")
                app.models.add_model("/f/", "f.flm", "f", workers="2")
                """
            )
        )
        out, _, status = api.run([str(source), "--no-incremental", "--follow-imports=silent", "--show-error-codes"])
        errors = sorted({int(line.split(":")[1]) for line in out.splitlines() if ": error:" in line})
        assert (status, errors) == (1, [8, 9, 10]), out
