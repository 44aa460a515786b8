"""Code execution on load (issue 9, item 3): code-carrying payloads load only when trusted."""

import base64
import hashlib
import io
import pathlib
import pickle
import warnings

import numpy as np
import pytest
from flama.http import Flama
from flama.models import CorruptedFile, Limits, UntrustedModel, dump, load
from flama.models.module import ModelsModule
from flama.models.resources.predictive import PredictiveResource
from flama.models.serializers.transformers import SERIALIZER as TRANSFORMERS
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils import shuffle

from tests.libraries import needs

_ran: list[str] = []


def _record(what: str) -> None:
    _ran.append(what)


class Payload:
    """A pickle that runs code when it is loaded (it appends to ``_ran``)."""

    def __reduce__(self) -> tuple[object, tuple[str]]:
        return _record, ("ran",)


class _Forgetful(set[str]):
    def add(self, element: str) -> None:
        pass


@pytest.fixture
def elsewhere(monkeypatch):
    """Files dumped in this test count as written by another process (not trusted by having been written here)."""
    monkeypatch.setattr("flama.models.modelfile._WRITTEN", _Forgetful())


def _pickle_flm(path: pathlib.Path, **options: object) -> pathlib.Path:
    """A sklearn `.flm` whose pickle runs code, as an attacker would build it."""
    payload = path.with_suffix(".payload")
    payload.write_bytes(base64.encodebytes(pickle.dumps(Payload())))
    dump(payload, path, lib="sklearn", **options)  # type: ignore[arg-type]
    return path


class TestCasePickle:
    def test_refused_without_trust(self, tmp_path, elsewhere):
        _ran.clear()
        refused = pytest.raises(UntrustedModel, match=r"sklearn model: its payload is a pickle.*trusted=True")
        with load(_pickle_flm(tmp_path / "m.flm")) as artifact, refused as info:
            _ = artifact.model
        assert _ran == []
        assert "flama serve --trust" in str(info.value)
        assert "sha256:" in str(info.value)

    def test_trusted(self, tmp_path, elsewhere):
        _ran.clear()
        with load(_pickle_flm(tmp_path / "m.flm"), trusted=True) as artifact:
            _ = artifact.model
        assert _ran == ["ran"]

    def test_trusted_file_checksum(self, tmp_path, elsewhere):
        path = _pickle_flm(tmp_path / "m.flm")
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        _ran.clear()
        with load(path, trusted=[f"sha256:{digest}"]) as artifact:
            _ = artifact.model
        with load(io.BytesIO(path.read_bytes()), trusted=[digest.upper()]) as artifact:
            _ = artifact.model
        assert _ran == ["ran", "ran"]
        with load(path, trusted=["sha256:" + "0" * 64]) as artifact, pytest.raises(UntrustedModel):
            _ = artifact.model

    def test_malformed_checksum(self, tmp_path):
        with pytest.raises(ValueError, match="a trusted checksum is 'sha256:' and 64 hex digits"):
            load(tmp_path / "missing.flm", trusted=["md5:abc"])

    def test_dumped_by_this_process(self, sklearn_factory, tmp_path):
        model, inputs = sklearn_factory()
        dump(model, tmp_path / "m.flm")
        with load(tmp_path / "m.flm") as artifact:
            assert artifact.trusted
            assert artifact.model.predict(inputs).tolist() == model.predict(inputs).tolist()

    def test_dumped_here_but_unverified_is_not_trusted(self, sklearn_factory, tmp_path):
        dump(sklearn_factory()[0], tmp_path / "m.flm")
        with load(tmp_path / "m.flm", verify=False) as artifact, pytest.raises(UntrustedModel):
            _ = artifact.model


class TestCaseRecordedFormat:
    def test_skops_needs_no_trust(self, sklearn_factory, tmp_path, elsewhere):
        model, inputs = sklearn_factory()
        dump(model, tmp_path / "m.flm", format="skops")
        with load(tmp_path / "m.flm") as artifact:
            assert not artifact.trusted
            assert artifact.model.predict(inputs).tolist() == model.predict(inputs).tolist()

    def test_recorded_skops_is_not_unpickled(self, tmp_path, elsewhere):
        # The metadata says skops, the bytes are a pickle: the pickle is never run, whatever the trust.
        path = _pickle_flm(tmp_path / "m.flm", config={"format": "skops"})
        _ran.clear()
        for trusted in (False, True):
            refused = pytest.raises(CorruptedFile, match="recorded as skops but not a skops archive")
            with load(path, trusted=trusted) as artifact, refused:
                _ = artifact.model
        assert _ran == []

    def test_unknown_recorded_format(self, sklearn_factory, tmp_path):
        dump(sklearn_factory()[0], tmp_path / "m.flm", config={"format": "joblib"})
        refused = pytest.raises(CorruptedFile, match="unknown recorded format 'joblib'")
        with load(tmp_path / "m.flm", trusted=True) as artifact, refused:
            _ = artifact.model

    def test_skops_refuses_a_helper_function(self, tmp_path, elsewhere):
        # skops's own load refuses a function it does not trust; flama-models no longer trusts "all of sklearn".
        dump(FunctionTransformer(func=shuffle), tmp_path / "m.flm", format="skops")
        name = "sklearn.utils._indexing.shuffle"
        refused = pytest.raises(UntrustedModel, match=rf"outside the trusted list.*{name}.*trusted_types")
        with load(tmp_path / "m.flm") as artifact, refused:
            _ = artifact.model
        with load(tmp_path / "m.flm", trusted_types=[name]) as artifact:
            assert artifact.model.func is shuffle
        with load(tmp_path / "m.flm", trusted=True) as artifact:
            assert artifact.model.func is shuffle

    def test_skops_numpy_function_default(self, tmp_path, elsewhere):
        dump(FunctionTransformer(func=np.log1p), tmp_path / "m.flm", format="skops")
        with load(tmp_path / "m.flm") as artifact:
            assert artifact.model.func is np.log1p


class TestCaseOtherFormats:
    @needs("torch")
    def test_torchscript_needs_trust(self, tmp_path, elsewhere):
        import torch

        script = tmp_path / "script.pt"
        with warnings.catch_warnings():  # TorchScript is deprecated: this is what Flama 1.x files hold
            warnings.simplefilter("ignore", DeprecationWarning)
            torch.jit.save(torch.jit.script(torch.nn.Linear(2, 1)), str(script))
        dump(script, tmp_path / "m.flm", lib="torch")
        refused = pytest.raises(UntrustedModel, match="TorchScript archive, which is code")
        with load(tmp_path / "m.flm") as artifact, refused:
            _ = artifact.model
        with load(tmp_path / "m.flm", trusted=True) as artifact:
            assert artifact.model(torch.ones(1, 2)).shape == (1, 1)

    @needs("torch")
    def test_pt2_needs_none(self, tmp_path, elsewhere):
        import torch

        dump(torch.nn.Linear(3, 1), tmp_path / "m.flm")
        with load(tmp_path / "m.flm") as artifact:
            assert artifact.model(torch.ones(2, 3)).shape == (2, 1)

    def test_transformers_checkpoint(self, tmp_path):
        (tmp_path / "ckpt").mkdir()
        (tmp_path / "ckpt" / "config.json").write_text("{}")
        (tmp_path / "ckpt" / "model.safetensors").write_bytes(b"")
        assert TRANSFORMERS.untrusted(tmp_path / "ckpt") is None
        (tmp_path / "ckpt" / "training_args.bin").write_bytes(b"")
        (tmp_path / "ckpt" / "modeling_custom.py").write_text("")
        reason = TRANSFORMERS.untrusted(tmp_path / "ckpt")
        assert reason is not None
        assert "modeling_custom.py, training_args.bin" in reason


class TestCaseServing:
    async def test_add_model_trusted(self, sklearn_factory, tmp_path, elsewhere):
        model, inputs = sklearn_factory()
        dump(model, tmp_path / "m.flm")
        models = ModelsModule()
        Flama(discover_modules=False, modules=[models], docs=None)
        refused = models.add_model("/refused/", tmp_path / "m.flm", "refused")
        accepted = models.add_model("/accepted/", tmp_path / "m.flm", "accepted", trusted=True)
        with pytest.raises(UntrustedModel):
            await refused.load()
        await accepted.load()
        assert accepted.ready
        assert isinstance(accepted, PredictiveResource)
        assert accepted.model.predict(inputs).tolist() == model.predict(inputs).tolist()
        await accepted.unload()

    def test_add_model_llm(self):
        # The LLM resource (flama-llm) takes no trust keywords yet: they reach it as attributes.
        demo = pathlib.Path(__file__).resolve().parents[2] / "examples" / "models" / "assistant.flm"
        models = ModelsModule()
        Flama(discover_modules=False, modules=[models], docs=None)
        resource = models.add_model("/llm/", demo, "assistant", trusted=True, limits=Limits(max_artifacts=5))
        assert resource.trusted is True
        assert resource.limits == Limits(max_artifacts=5)
