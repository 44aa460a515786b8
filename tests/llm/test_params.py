import math

import pytest
from flama.llm.backends import PARAMETERS, GenerationParams
from flama.llm.exceptions import InvalidParameter


class TestCaseGenerationParams:
    def test_defaults(self):
        params = GenerationParams.parse({})

        assert params == GenerationParams()
        assert params.given() == {}

    def test_every_parameter(self):
        params = GenerationParams.parse(
            {
                "max_tokens": 12,
                "temperature": 0,
                "top_p": 0.9,
                "top_k": 40,
                "min_p": 0.05,
                "repetition_penalty": 1.1,
                "frequency_penalty": -0.5,
                "presence_penalty": 2,
                "seed": 7,
                "stop": ["\n\n", "END"],
                "logit_bias": {"17": 5, 3: -100},
            }
        )

        assert params == GenerationParams(
            max_tokens=12,
            temperature=0.0,
            top_p=0.9,
            top_k=40,
            min_p=0.05,
            repetition_penalty=1.1,
            frequency_penalty=-0.5,
            presence_penalty=2.0,
            seed=7,
            stop=("\n\n", "END"),
            logit_bias={17: 5.0, 3: -100.0},
        )
        assert set(params.given()) == PARAMETERS
        assert type(params.temperature) is float

    def test_stop_string(self):
        assert GenerationParams.parse({"stop": "END"}).stop == ("END",)

    def test_defaults_under_values(self):
        params = GenerationParams.parse(
            {"temperature": 0.2, "top_k": None}, defaults={"temperature": 0.7, "top_k": 5, "seed": 1}
        )

        assert params.given() == {"temperature": 0.2, "top_k": 5, "seed": 1}

    def test_defaults_checked(self):
        with pytest.raises(InvalidParameter) as error:
            GenerationParams.parse({}, defaults={"top_p": 2})

        assert error.value.name == "top_p"

    @pytest.mark.parametrize(
        ("values", "name", "message"),
        [
            pytest.param({"max_tokens": 0}, "max_tokens", "must be >= 1, got 0", id="max_tokens-zero"),
            pytest.param({"max_tokens": 1.5}, "max_tokens", "must be an integer", id="max_tokens-float"),
            pytest.param({"max_tokens": True}, "max_tokens", "must be an integer", id="max_tokens-bool"),
            pytest.param({"temperature": -0.1}, "temperature", "must be >= 0, got -0.1", id="temperature-negative"),
            pytest.param({"temperature": "hot"}, "temperature", "must be a finite number", id="temperature-string"),
            pytest.param({"temperature": math.nan}, "temperature", "must be a finite number", id="temperature-nan"),
            pytest.param({"top_p": 0}, "top_p", "must be > 0 and <= 1, got 0", id="top_p-zero"),
            pytest.param({"top_p": 1.5}, "top_p", "must be > 0 and <= 1, got 1.5", id="top_p-above"),
            pytest.param({"top_k": 0}, "top_k", "must be >= 1, got 0", id="top_k-zero"),
            pytest.param({"min_p": 1.01}, "min_p", "must be >= 0 and <= 1, got 1.01", id="min_p-above"),
            pytest.param({"repetition_penalty": 0}, "repetition_penalty", "must be > 0, got 0", id="repetition-zero"),
            pytest.param(
                {"frequency_penalty": 2.5}, "frequency_penalty", "must be >= -2 and <= 2, got 2.5", id="frequency"
            ),
            pytest.param({"presence_penalty": -3}, "presence_penalty", "must be >= -2 and <= 2, got -3", id="presence"),
            pytest.param({"seed": -1}, "seed", "must be between 0 and 9223372036854775807, got -1", id="seed-negative"),
            pytest.param({"seed": "1"}, "seed", "must be an integer", id="seed-string"),
            pytest.param({"stop": ""}, "stop", "a stop sequence must not be empty", id="stop-empty"),
            pytest.param({"stop": ["a", 1]}, "stop", "must be a string or a list of strings", id="stop-not-string"),
            pytest.param({"stop": ["x"] * 17}, "stop", "at most 16 sequences, got 17", id="stop-too-many"),
            pytest.param({"logit_bias": [1]}, "logit_bias", "must be an object mapping token ids to biases", id="bias"),
            pytest.param(
                {"logit_bias": {"a": 1}},
                "logit_bias",
                "keys must be token ids (non-negative integers), got 'a'",
                id="bias-key",
            ),
            pytest.param(
                {"logit_bias": {"-1": 1}},
                "logit_bias",
                "keys must be token ids (non-negative integers), got '-1'",
                id="bias-negative-key",
            ),
            pytest.param(
                {"logit_bias": {"1": 101}}, "logit_bias", "must be >= -100 and <= 100, got 101", id="bias-value"
            ),
            pytest.param({"best_of": 2}, "best_of", "unknown generation parameter", id="unknown"),
        ],
    )
    def test_invalid(self, values, name, message):
        with pytest.raises(InvalidParameter) as error:
            GenerationParams.parse(values)

        assert isinstance(error.value, ValueError)
        assert error.value.name == name
        assert error.value.reason == message
        assert str(error.value) == f"Invalid parameter '{name}': {message}"
