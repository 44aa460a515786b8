import io
import json
import pathlib
import re
import typing as t
import warnings
import zipfile

import flama
import pytest
from flama.models import CorruptedFile, UnverifiedFileWarning
from flama.models.serializers.payload import decode_base64
from flama.models.serializers.torch import SERIALIZER, TorchSerializer

from tests.libraries import require
from tests.models.fixtures import flama2
from tests.models.fixtures.models import torch_model

if t.TYPE_CHECKING:
    import torch
else:
    torch = require("torch")

FLAMA2 = flama2.HERE


class Convolution(torch.nn.Module):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.conv = torch.nn.Conv2d(1, 2, kernel_size=3, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x).mean(dim=(2, 3))


class TwoInputs(torch.nn.Module):  # type: ignore[misc]
    example_inputs = (torch.zeros(3, 2), torch.zeros(3, 2, dtype=torch.int64))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        return x * 2, y + 1


class Parameterless(torch.nn.Module):  # type: ignore[misc]
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + 1


class Dropout(torch.nn.Module):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.linear = torch.nn.Linear(4, 4)
        self.dropout = torch.nn.Dropout(0.9)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout(self.linear(x))


def round_trip(model: t.Any, directory: pathlib.Path, **options: t.Any) -> t.Any:
    path = directory / "payload"
    SERIALIZER.dump(model, path, **options)
    return SERIALIZER.load(path)


class TestCaseTorchSerializer:
    def test_attributes(self):
        assert isinstance(SERIALIZER, TorchSerializer)
        assert (SERIALIZER.lib, SERIALIZER.distribution, SERIALIZER.bundle) == ("torch", "torch", False)
        assert SERIALIZER.version() == torch.__version__.split("+")[0] or SERIALIZER.version() == torch.__version__

    @pytest.mark.parametrize(
        ("obj", "accepted"),
        [
            pytest.param(torch.nn.Linear(2, 2), True, id="module"),
            pytest.param(Parameterless(), True, id="subclass"),
            pytest.param(object(), False, id="object"),
            pytest.param([1, 2], False, id="list"),
        ],
    )
    def test_accepts(self, obj, accepted):
        assert TorchSerializer.accepts(obj) is accepted

    def test_family(self):
        assert SERIALIZER.family(torch_model()) == "ml"

    def test_round_trip_infers_inputs_from_linear(self, tmp_path):
        model = torch_model()
        x = torch.randn(5, 4)

        loaded = round_trip(model, tmp_path)

        assert torch.equal(loaded(x), model(x))
        assert loaded(torch.randn(1, 4)).shape == (1, 3)

    def test_round_trip_infers_inputs_from_convolution(self, tmp_path):
        model = Convolution().eval()
        x = torch.randn(3, 1, 5, 7)

        loaded = round_trip(model, tmp_path)

        assert torch.equal(loaded(x), model(x))

    def test_round_trip_with_example_inputs_attribute(self, tmp_path):
        model = TwoInputs()
        x, y = torch.ones(4, 2), torch.ones(4, 2, dtype=torch.int64)

        doubled, incremented = round_trip(model, tmp_path)(x, y)

        assert torch.equal(doubled, x * 2)
        assert torch.equal(incremented, y + 1)

    def test_round_trip_with_example_inputs_option(self, tmp_path):
        loaded = round_trip(Parameterless(), tmp_path, example_inputs=torch.zeros(2, 3))

        assert torch.equal(loaded(torch.zeros(6, 3)), torch.ones(6, 3))

    def test_round_trip_exported_program(self, tmp_path):
        model = torch_model()
        x = torch.randn(2, 4)
        program = torch.export.export(model, (x,))

        assert torch.equal(round_trip(program, tmp_path)(x), model(x))

    def test_dump_exports_in_eval_mode_and_restores_mode(self, tmp_path):
        model = Dropout().train()
        x = torch.randn(3, 4)

        loaded = round_trip(model, tmp_path)

        assert model.training is True
        assert torch.equal(loaded(x), model.linear(x))

    def test_dump_without_inferable_inputs(self, tmp_path):
        with pytest.raises(ValueError, match=r"^Cannot infer example inputs of Parameterless: pass example_inputs="):
            SERIALIZER.dump(Parameterless(), tmp_path / "payload")

    def test_dump_wrong_inputs(self, tmp_path):
        with pytest.raises(ValueError, match=r"^Cannot export Perceptron with torch.export: "):
            SERIALIZER.dump(torch_model(), tmp_path / "payload", example_inputs=torch.zeros(2, 5))

    def test_dump_bare_archive(self, tmp_path):
        model = torch_model()
        x = torch.randn(2, 4)
        path = tmp_path / "payload"

        SERIALIZER.dump(model, path, flama2=False)

        assert "archive/archive_format" in zipfile.ZipFile(path).namelist()
        assert torch.equal(SERIALIZER.load(path)(x), model(x))

    def test_dump_flama2_by_default(self, tmp_path):
        model = torch_model()
        x = torch.randn(2, 4)
        path = tmp_path / "payload"

        SERIALIZER.dump(model, path)

        decoded = decode_base64(path)
        assert decoded is not None
        assert decoded.startswith(b"PK\x03\x04")
        assert max(len(line) for line in path.read_bytes().splitlines()) == 76
        assert torch.equal(SERIALIZER.load(path)(x), model(x))

    def test_load_flama2_payload(self):
        model = torch_model()
        x = torch.randn(3, 4)

        loaded = SERIALIZER.load(FLAMA2 / "torch.payload")

        assert torch.equal(loaded(x), model(x))

    def test_load_torchscript(self, tmp_path):
        model = torch_model()
        x = torch.randn(3, 4)
        with warnings.catch_warnings():
            # Flama 1.x wrote TorchScript; torch now deprecates writing it, which is why only loading is supported.
            warnings.simplefilter("ignore", DeprecationWarning)
            buffer = io.BytesIO()
            torch.jit.save(torch.jit.script(model.layers), buffer)
        (tmp_path / "payload").write_bytes(buffer.getvalue())

        loaded = SERIALIZER.load(tmp_path / "payload")

        assert isinstance(loaded, torch.jit.ScriptModule)
        assert torch.equal(loaded(x), model(x))

    @pytest.mark.parametrize(
        ("content", "message"),
        [
            pytest.param(
                b"\x00\x01not a zip",
                "Corrupted .flm file: torch payload 'payload': not a zip archive (.pt2 or TorchScript)",
                id="garbage",
            ),
            pytest.param(
                b"", "Corrupted .flm file: torch payload 'payload': not a zip archive (.pt2 or TorchScript)", id="empty"
            ),
            pytest.param(
                None,
                "Corrupted .flm file: torch payload 'payload': a zip archive but neither .pt2 nor TorchScript",
                id="zip",
            ),
        ],
    )
    def test_load_unsupported(self, tmp_path, content, message):
        path = tmp_path / "payload"
        if content is None:
            with zipfile.ZipFile(path, "w") as archive:
                archive.writestr("archive/readme.txt", "hello")
        else:
            path.write_bytes(content)

        with pytest.raises(CorruptedFile, match=f"^{re.escape(message)}$"):
            SERIALIZER.load(path)

    def test_describe(self):
        assert SERIALIZER.describe(torch_model()) == {
            "obj": "tests.models.fixtures.models.torch_model.<locals>.Perceptron",
            "info": {
                "input": {
                    "type": "array",
                    "items": {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4},
                    "x-dtype": "float32",
                    "x-shape": [None, 4],
                },
                "output": {
                    "type": "array",
                    "items": {"type": "array", "items": {"type": "number"}, "minItems": 3, "maxItems": 3},
                    "x-dtype": "float32",
                    "x-shape": [None, 3],
                },
            },
        }

    def test_describe_several_inputs(self):
        info = SERIALIZER.describe(TwoInputs())["info"]

        assert info["input"]["prefixItems"][1] == {
            "type": "array",
            "items": {"type": "array", "items": {"type": "integer"}, "minItems": 2, "maxItems": 2},
            "x-dtype": "int64",
            "x-shape": [None, 2],
        }
        assert info["output"]["items"] is False
        assert [schema["x-dtype"] for schema in info["output"]["prefixItems"]] == ["float32", "int64"]

    def test_describe_exported_program(self):
        program = torch.export.export(torch_model(), (torch.randn(2, 4),))

        description = SERIALIZER.describe(program)

        assert description["obj"] == "torch.export.exported_program.ExportedProgram"
        assert description["info"]["output"]["x-shape"] == [None, 3]

    def test_describe_without_inputs(self):
        assert SERIALIZER.describe(Parameterless()) == {"obj": "tests.models.test_serializer_torch.Parameterless"}

    @pytest.mark.parametrize(
        "obj",
        [pytest.param(object(), id="object"), pytest.param(torch.zeros(2), id="tensor")],
    )
    def test_dump_unsupported(self, tmp_path, obj):
        name = type(obj).__name__
        message = f"Cannot export {name}: a torch.nn.Module or an ExportedProgram is expected"

        with pytest.raises(TypeError, match=f"^{re.escape(message)}$"):
            SERIALIZER.dump(obj, tmp_path / "payload")

        assert not (tmp_path / "payload").exists()


class TestCaseTorchArtifact:
    def test_round_trip(self, tmp_path):
        model = torch_model()
        x = torch.randn(4, 4)

        meta = flama.dump(model, tmp_path / "model.flm")

        assert (meta.family, meta.framework.lib, meta.framework.version) == ("ml", "torch", SERIALIZER.version())
        assert meta.framework.config is None
        assert meta.model.obj == "tests.models.fixtures.models.torch_model.<locals>.Perceptron"
        assert meta.model.info is not None
        assert meta.model.info["output"]["x-shape"] == [None, 3]
        with flama.load(tmp_path / "model.flm") as artifact:
            assert artifact.meta == meta
            assert torch.equal(artifact.model(x), model(x))

    def test_load_flama2_file(self):
        model = torch_model()
        x = torch.randn(4, 4)

        # Flama 2.x wrote no checksums; a .pt2 archive runs no code, so it needs no trust.
        with pytest.warns(UnverifiedFileWarning):
            artifact = flama.load(FLAMA2 / "torch.flm")
        with artifact:
            assert (artifact.meta.family, artifact.meta.framework.lib) == ("ml", "torch")
            assert torch.equal(artifact.model(x), model(x))


@pytest.mark.slow
class TestCaseTorchInFlama2:
    def test_load_in_flama2(self, tmp_path):
        model = torch_model()
        flama.dump(model, tmp_path / "model.flm")

        run = flama2.check(tmp_path / "model.flm")

        assert run.returncode == 0, run.stderr
        assert json.loads(run.stdout) == {"lib": "torch", "output": model(torch.tensor(flama2.INPUT)).tolist()}
