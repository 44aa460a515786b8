import pytest
from flama.llm.stops import StopMatcher


def run(stops: list[str], chunks: list[str]) -> tuple[list[str], str, bool]:
    matcher = StopMatcher(stops)
    out = [matcher.feed(chunk) for chunk in chunks]
    return out, matcher.flush(), matcher.stopped


class TestCaseStopMatcher:
    @pytest.mark.parametrize(
        ("stops", "chunks", "out", "tail", "stopped"),
        [
            pytest.param([], ["ab", "cd"], ["ab", "cd"], "", False, id="no-stops"),
            pytest.param(["END"], ["hello", " world"], ["hello", " world"], "", False, id="no-match"),
            pytest.param(["END"], ["helloEND more"], ["hello"], "", True, id="inside-chunk"),
            pytest.param(["END"], ["hello E", "N", "D!"], ["hello ", "", ""], "", True, id="across-three-chunks"),
            pytest.param(["END"], ["hello E", "nough"], ["hello ", "Enough"], "", False, id="false-start"),
            pytest.param(["END"], ["hello EN"], ["hello "], "EN", False, id="held-at-end"),
            pytest.param(["END"], ["END"], [""], "", True, id="whole-chunk"),
            pytest.param(["ab", "b"], ["xab"], ["x"], "", True, id="earliest-wins"),
            pytest.param(["abc", "bd"], ["a", "b", "d"], ["", "", "a"], "", True, id="overlapping-prefixes"),
            pytest.param(["<|end|>"], ["a<|", "e", "x"], ["a", "", "<|ex"], "", False, id="marker-abandoned"),
            pytest.param(["\n\n"], ["one\n", "\ntwo"], ["one", ""], "", True, id="newlines"),
            pytest.param(["END"], ["END", "more"], ["", ""], "", True, id="nothing-after-stop"),
            pytest.param(["日本"], ["x日", "本y"], ["x", ""], "", True, id="unicode"),
        ],
    )
    def test_feed(self, stops, chunks, out, tail, stopped):
        assert run(stops, chunks) == (out, tail, stopped)

    def test_empty_stop(self):
        with pytest.raises(ValueError, match=r"^A stop sequence must not be empty$"):
            StopMatcher(["ok", ""])

    def test_text_is_preserved(self):
        text = "the quick brown fox jumps over the lazy dog " * 3
        stops = ["lazy cat", "quick fax", "dog x"]
        for size in range(1, 9):
            matcher = StopMatcher(stops)
            chunks = [text[i : i + size] for i in range(0, len(text), size)]

            assert "".join(matcher.feed(chunk) for chunk in chunks) + matcher.flush() == text
