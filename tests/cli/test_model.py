"""`flama model FILE inspect|run|stream` with the demo model and a scikit-learn model."""

import json
import os
import pty
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from flama.cli.main import main

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "examples" / "models" / "assistant.flm"
EXPECT = json.loads((ROOT / "examples" / "models" / "assistant.expect.json").read_text(encoding="utf-8"))
PLAIN = next(c for c in EXPECT["conversations"] if c["id"] == "plain")


@pytest.fixture
def sklearn_model(tmp_path: Path) -> Path:
    from flama.models import dump
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression().fit([[0.0], [1.0], [2.0], [3.0]], [0, 0, 1, 1])
    path = tmp_path / "classifier.flm"
    dump(model, path)
    return path


class TestCaseInspect:
    def test_llm_header_only(self, capsys):
        assert main(["model", str(DEMO), "inspect", "--pretty"]) == 0
        info = json.loads(capsys.readouterr().out)
        assert (info["name"], info["family"], info["ready"]) == ("assistant", "llm", False)

    def test_not_a_model_file(self, tmp_path, capsys):
        (tmp_path / "x.flm").write_bytes(b"nope")
        assert main(["model", str(tmp_path / "x.flm"), "inspect"]) == 1
        assert capsys.readouterr().err.startswith(f"Error: {tmp_path / 'x.flm'}: ")


class TestCaseRun:
    def test_predictive_json_in_and_out(self, sklearn_model, tmp_path, capsys):
        rows = tmp_path / "rows.json"
        rows.write_text("[[0.0], [3.0]]")
        assert main(["model", str(sklearn_model), "run", "--input", str(rows)]) == 0
        assert json.loads(capsys.readouterr().out) == [0, 1]

    def test_predictive_bad_input(self, sklearn_model, tmp_path, capsys):
        rows = tmp_path / "rows.json"
        rows.write_text("not json")
        assert main(["model", str(sklearn_model), "run", "-i", str(rows)]) == 1
        assert "a predictive model reads a JSON list of input rows" in capsys.readouterr().err

    def test_llm_answer_and_blocks(self, tmp_path, capsys):
        prompt = tmp_path / "prompt.txt"
        prompt.write_text(PLAIN["messages"][0]["content"])
        arguments = ["model", str(DEMO), "run", "-i", str(prompt), "--param", "temperature=0", "--channel", "all"]
        assert main(arguments) == 0
        assert json.loads(capsys.readouterr().out) == [{"type": "text", "text": PLAIN["reply"]}]

    def test_llm_bad_param(self, tmp_path, capsys):
        prompt = tmp_path / "prompt.txt"
        prompt.write_text("Hi")
        assert main(["model", str(DEMO), "run", "-i", str(prompt), "--param", "temperature=-3"]) == 1
        assert "temperature" in capsys.readouterr().err


class TestCaseStreamOptions:
    def test_reasoning_only_buffered_with_flama2_spellings(self, tmp_path, capsys):
        thinking = next(c for c in EXPECT["conversations"] if c["id"] == "thinking")
        (tmp_path / "prompt.txt").write_text(thinking["prompt"])  # the raw prompt opens the reasoning block
        arguments = ["model", "--channel-scanner", "auto", str(DEMO), "stream", "-i", str(tmp_path / "prompt.txt")]
        options = ["--prompt-kind", "raw", "--channel", "thinking", "--buffer", "--param", "temperature=0"]
        assert main([*arguments, *options]) == 0
        assert capsys.readouterr().out.strip() == thinking["reply"].split("\n</think>")[0]

    def test_named_flama2_decoder_points_at_decoder(self, capsys):
        assert main(["model", "--tool-parser", "qwen", str(DEMO), "inspect"]) == 2
        assert "'qwen': pick the model's decoder with --decoder NAME" in capsys.readouterr().err


class TestCasePickles:
    def test_need_trust_in_another_process(self, sklearn_model, tmp_path):
        """A pickle runs code when it loads: a file this process did not write needs --trust."""
        (tmp_path / "rows.json").write_text("[[3.0]]")
        command = [sys.executable, "-m", "flama.cli.main", "model", str(sklearn_model)]
        refused = subprocess.run([*command, "run", "-i", "rows.json"], cwd=tmp_path, capture_output=True, text=True)
        assert refused.returncode == 1
        assert refused.stderr.startswith("Error: Refusing to load this sklearn model")
        trusted = [*command, "run", "--trust", "-i", "rows.json"]
        accepted = subprocess.run(trusted, cwd=tmp_path, capture_output=True, text=True)
        assert (accepted.returncode, accepted.stdout) == (0, "[1]\n"), accepted.stderr


def _stream_in_terminal(prompt: str, interrupt_after: bytes | None = None) -> tuple[int, str]:
    """Run `flama model DEMO stream` in a pseudo-terminal; send Ctrl-C (SIGINT) once ``interrupt_after`` is shown."""
    primary, secondary = pty.openpty()
    command = [sys.executable, "-m", "flama.cli.main", "model", str(DEMO), "stream", "--param", "temperature=0"]
    process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=secondary, stderr=secondary, env=os.environ)
    os.close(secondary)
    assert process.stdin is not None
    process.stdin.write(prompt.encode())
    process.stdin.close()
    output = b""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            chunk = os.read(primary, 1024)
        except OSError:  # the terminal closed: the command ended
            break
        if not chunk:
            break
        output += chunk
        if interrupt_after is not None and interrupt_after in output:
            process.send_signal(signal.SIGINT)
            interrupt_after = None
    os.close(primary)
    return process.wait(timeout=60), output.decode().replace("\r\n", "\n")


class TestCaseStreamInTerminal:
    def test_tokens_are_printed_under_a_pty(self):
        """`flama model … stream` in a pseudo-terminal, as a user runs it."""
        status, output = _stream_in_terminal(PLAIN["messages"][0]["content"])
        assert status == 0
        assert output.strip().endswith(PLAIN["reply"])

    def test_ctrl_c_stops_the_generation(self):
        story = next(c for c in EXPECT["conversations"] if c["id"] == "story")
        status, output = _stream_in_terminal(story["messages"][-1]["content"], interrupt_after=b"Once")
        assert status == 130
        assert output.endswith("Stopped.\n")
        assert "Traceback" not in output
        # It stopped early: the story was cut.
        assert story["reply"] not in output
