import dataclasses
import datetime
import decimal
import enum
import json
import math
import pathlib
import random
import struct
import sys
import threading
import types
import typing
import uuid
from collections import OrderedDict
from collections.abc import Callable

import numpy as np
import pytest
from flama.core import JSONDecodeError, JSONEncodeError, NonFiniteFloatError, json_decode, json_encode


def _nested(levels: int) -> list[typing.Any]:
    """Empty lists inside one another, ``levels`` of them (Python's own parser stops at 200)."""
    value: list[typing.Any] = []
    for _ in range(levels - 1):
        value = [value]
    return value


class Color(enum.Enum):
    RED = "red"
    NESTED = (1, 2)


class Level(enum.IntEnum):
    HIGH = 3


@dataclasses.dataclass
class Point:
    x: int
    y: float
    label: str = "p"
    tags: list[str] = dataclasses.field(default_factory=list)
    scale: typing.ClassVar[int] = 10


@dataclasses.dataclass
class Box:
    corner: Point
    when: datetime.date


class Text(str):
    pass


class Number(int):
    def __repr__(self) -> str:
        return "Number(...)"


class Real(float):
    pass


class Mapping(dict):  # type: ignore[type-arg]
    pass


class Unsupported:
    pass


UTC_PLUS_0530 = datetime.timezone(datetime.timedelta(hours=5, minutes=30))


class TestCaseEncodeTypes:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            pytest.param(None, b"null", id="none"),
            pytest.param(True, b"true", id="true"),
            pytest.param(False, b"false", id="false"),
            pytest.param(0, b"0", id="zero"),
            pytest.param(-42, b"-42", id="negative"),
            pytest.param(2**63 - 1, b"9223372036854775807", id="i64-max"),
            pytest.param(-(2**63), b"-9223372036854775808", id="i64-min"),
            pytest.param(2**64 - 1, b"18446744073709551615", id="u64-max"),
            pytest.param(2**64, b"18446744073709551616", id="beyond-u64"),
            pytest.param(-(10**40), b"-1" + b"0" * 40, id="big-negative"),
            pytest.param(Number(7), b"7", id="int-subclass"),
            pytest.param(Number(2**70), str(2**70).encode(), id="big-int-subclass-ignores-repr"),
            pytest.param(1.5, b"1.5", id="float"),
            pytest.param(1.0, b"1.0", id="float-integral"),
            pytest.param(-0.0, b"-0.0", id="negative-zero"),
            pytest.param(0.1, b"0.1", id="float-shortest"),
            pytest.param(1e16, b"1e+16", id="float-exponent"),
            pytest.param(1e-7, b"1e-07", id="float-small"),
            pytest.param(Real(2.5), b"2.5", id="float-subclass"),
            pytest.param("", b'""', id="empty-str"),
            pytest.param('a"b\\c\n\t\x00\x1f', b'"a\\"b\\\\c\\n\\t\\u0000\\u001f"', id="escapes"),
            pytest.param("ñ€😀</script>", '"ñ€😀</script>"'.encode(), id="unicode-kept"),
            pytest.param(Text("sub"), b'"sub"', id="str-subclass"),
            pytest.param([], b"[]", id="empty-list"),
            pytest.param([1, [2, []]], b"[1,[2,[]]]", id="nested-list"),
            pytest.param((1, "a"), b'[1,"a"]', id="tuple"),
            pytest.param({}, b"{}", id="empty-dict"),
            pytest.param({"a": 1, "b": [True]}, b'{"a":1,"b":[true]}', id="dict"),
            pytest.param(OrderedDict([("z", 1), ("a", 2)]), b'{"z":1,"a":2}', id="ordered-dict"),
            pytest.param(Mapping(k=1), b'{"k":1}', id="dict-subclass"),
            pytest.param(
                {1: "i", 2.5: "f", False: "t", None: "n", 2**70: "big"},
                b'{"1":"i","2.5":"f","false":"t","null":"n","1180591620717411303424":"big"}',
                id="non-str-keys",
            ),
            pytest.param({1, 2, 3}, b"[1,2,3]", id="set"),
            pytest.param(frozenset(), b"[]", id="frozenset"),
            pytest.param(b"", b'""', id="bytes-empty"),
            pytest.param(b"hello?", b'"aGVsbG8/"', id="bytes"),
            pytest.param(bytearray(b"\xfb\xff"), b'"+/8="', id="bytearray"),
            pytest.param(memoryview(b"ab"), b'"YWI="', id="memoryview"),
            pytest.param(datetime.date(2024, 2, 29), b'"2024-02-29"', id="date"),
            pytest.param(datetime.date(5, 1, 9), b'"0005-01-09"', id="date-small-year"),
            pytest.param(datetime.datetime(2024, 1, 2, 3, 4, 5), b'"2024-01-02T03:04:05"', id="datetime"),
            pytest.param(
                datetime.datetime(2024, 1, 2, 3, 4, 5, 60), b'"2024-01-02T03:04:05.000060"', id="datetime-micro"
            ),
            pytest.param(
                datetime.datetime(2024, 1, 2, tzinfo=datetime.timezone.utc),
                b'"2024-01-02T00:00:00+00:00"',
                id="datetime-utc",
            ),
            pytest.param(
                datetime.datetime(2024, 1, 2, 3, 4, tzinfo=UTC_PLUS_0530),
                b'"2024-01-02T03:04:00+05:30"',
                id="datetime-offset",
            ),
            pytest.param(datetime.time(1, 2, 3), b'"01:02:03"', id="time"),
            pytest.param(datetime.time(1, 2, 3, 4), b'"01:02:03.000004"', id="time-micro"),
            pytest.param(datetime.time(1, 2, tzinfo=UTC_PLUS_0530), b'"01:02:00+05:30"', id="time-aware"),
            pytest.param(datetime.timedelta(), b'"PT0S"', id="timedelta-zero"),
            pytest.param(
                datetime.timedelta(days=1, hours=2, minutes=3, seconds=4.5), b'"P1DT2H3M4.5S"', id="timedelta"
            ),
            pytest.param(datetime.timedelta(days=3), b'"P3D"', id="timedelta-days"),
            pytest.param(datetime.timedelta(minutes=90), b'"PT1H30M"', id="timedelta-minutes"),
            pytest.param(datetime.timedelta(seconds=-1), b'"-PT1S"', id="timedelta-negative"),
            pytest.param(datetime.timedelta(days=-1, hours=-2), b'"-P1DT2H"', id="timedelta-negative-days"),
            pytest.param(
                uuid.UUID("12345678-1234-5678-1234-56781234abcd"),
                b'"12345678-1234-5678-1234-56781234abcd"',
                id="uuid",
            ),
            pytest.param(decimal.Decimal("3.14"), b"3.14", id="decimal"),
            pytest.param(decimal.Decimal("-1E+3"), b"-1E+3", id="decimal-exponent"),
            pytest.param(Color.RED, b'"red"', id="enum"),
            pytest.param(Color.NESTED, b"[1,2]", id="enum-tuple-value"),
            pytest.param(Level.HIGH, b"3", id="int-enum"),
            pytest.param(Point(1, 2.5), b'{"x":1,"y":2.5,"label":"p","tags":[]}', id="dataclass"),
            pytest.param(
                Box(Point(0, 0.0, tags=["a"]), datetime.date(2020, 1, 1)),
                b'{"corner":{"x":0,"y":0.0,"label":"p","tags":["a"]},"when":"2020-01-01"}',
                id="nested-dataclass",
            ),
            pytest.param(pathlib.PurePosixPath("/tmp/a b"), b'"/tmp/a b"', id="path"),
        ],
    )
    def test_encode(self, value: object, expected: bytes) -> None:
        assert json_encode(value) == expected

    def test_result_is_bytes(self) -> None:
        assert type(json_encode([1])) is bytes

    def test_dataclass_fields_are_read_not_copied(self) -> None:
        point = Point(1, 2.0, tags=["x"])
        assert json_encode(point) == b'{"x":1,"y":2.0,"label":"p","tags":["x"]}'
        assert point.tags == ["x"]

    def test_dataclass_class_is_not_an_instance(self) -> None:
        with pytest.raises(JSONEncodeError, match=r"^cannot encode \$: unsupported type 'type'$"):
            json_encode(Point)


class TestCaseEncodeNumpy:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            pytest.param(np.bool_(True), b"true", id="bool"),
            pytest.param(np.int8(-5), b"-5", id="int8"),
            pytest.param(np.int64(-(2**63)), b"-9223372036854775808", id="int64"),
            pytest.param(np.uint64(2**64 - 1), b"18446744073709551615", id="uint64"),
            pytest.param(np.float64(0.1), b"0.1", id="float64"),
            pytest.param(np.float32(0.1), b"0.1", id="float32-shortest"),
            pytest.param(np.float16(0.5), b"0.5", id="float16"),
            pytest.param(np.array([[1, 2], [3, 4]]), b"[[1,2],[3,4]]", id="ndarray-2d"),
            pytest.param(np.array([1.5, 2.0]), b"[1.5,2.0]", id="ndarray-float"),
            pytest.param(np.array([], dtype=np.int32), b"[]", id="ndarray-empty"),
            pytest.param({"v": np.arange(3)}, b'{"v":[0,1,2]}', id="ndarray-in-dict"),
        ],
    )
    def test_encode(self, value: object, expected: bytes) -> None:
        assert json_encode(value) == expected

    @pytest.mark.parametrize(
        "value",
        [
            pytest.param(np.float64("nan"), id="float64-nan"),
            pytest.param(np.float32("inf"), id="float32-inf"),
            pytest.param(np.array([1.0, np.nan]), id="ndarray-nan"),
        ],
    )
    def test_non_finite(self, value: object) -> None:
        with pytest.raises(NonFiniteFloatError):
            json_encode(value)
        assert json_encode([value], non_finite="null").replace(b"null", b"") != b""

    def test_unsupported_numpy_scalar(self) -> None:
        with pytest.raises(JSONEncodeError, match=r"^cannot encode \$: unsupported type 'complex128'$"):
            json_encode(np.complex128(1 + 2j))


class TestCaseEncodeOptions:
    @pytest.mark.parametrize(
        ("value", "indent", "expected"),
        [
            pytest.param({"a": [1, 2], "b": {}}, 2, b'{\n  "a": [\n    1,\n    2\n  ],\n  "b": {}\n}', id="two"),
            pytest.param([1, [2]], 0, b"[\n1,\n[\n2\n]\n]", id="zero"),
            pytest.param([], 4, b"[]", id="empty"),
            pytest.param("x", 4, b'"x"', id="scalar"),
        ],
    )
    def test_indent(self, value: object, indent: int, expected: bytes) -> None:
        assert json_encode(value, indent=indent) == expected

    def test_indent_matches_stdlib(self) -> None:
        value = {"a": [1, {"b": None, "c": [True, "x"]}], "d": {}, "e": []}
        assert json_encode(value, indent=3) == json.dumps(value, indent=3).encode()

    @pytest.mark.parametrize("indent", [pytest.param(-1, id="negative"), pytest.param(1025, id="too-wide")])
    def test_bad_indent(self, indent: int) -> None:
        with pytest.raises(ValueError, match=r"^indent must be None or between 0 and 1024, got "):
            json_encode([], indent=indent)

    def test_sort_keys(self) -> None:
        value = {"b": 1, "a": {"d": 1, "c": 2}, "é": 0, "Z": 3, 10: "ten", 9: "nine"}
        assert (
            json_encode(value, sort_keys=True) == '{"10":"ten","9":"nine","Z":3,"a":{"c":2,"d":1},"b":1,"é":0}'.encode()
        )

    def test_unsorted_keep_insertion_order(self) -> None:
        assert json_encode({"b": 1, "a": 2}) == b'{"b":1,"a":2}'

    def test_sort_sets(self) -> None:
        assert json_encode({3, 1, 2}, sort_keys=True) == b"[1,2,3]"
        assert json_encode(frozenset({"b", "a"}), sort_keys=True) == b'["a","b"]'

    def test_incomparable_set_is_not_sorted(self) -> None:
        assert sorted(json.loads(json_encode({1, "a"}, sort_keys=True)), key=str) == [1, "a"]

    def test_default(self) -> None:
        def default(obj: object) -> object:
            if isinstance(obj, Unsupported):
                return {"unsupported": True}
            raise TypeError("no")

        assert json_encode([Unsupported()], default=default) == b'[{"unsupported":true}]'

    def test_default_exception_propagates(self) -> None:
        def default(obj: object) -> object:
            raise KeyError("boom")

        with pytest.raises(KeyError, match="boom"):
            json_encode([Unsupported()], default=default)

    def test_default_must_be_callable(self) -> None:
        with pytest.raises(TypeError, match=r"^default must be callable or None$"):
            json_encode(1, default=1)  # type: ignore[arg-type]

    def test_default_returning_itself_is_circular(self) -> None:
        with pytest.raises(JSONEncodeError, match=r"^cannot encode \$\.a: circular reference$"):
            json_encode({"a": Unsupported()}, default=lambda obj: obj)

    def test_default_never_ending_chain_is_too_deep(self) -> None:
        with pytest.raises(JSONEncodeError, match=r"^cannot encode \$: nesting deeper than 512 levels$"):
            json_encode(Unsupported(), default=lambda obj: Unsupported())

    def test_bad_non_finite(self) -> None:
        with pytest.raises(ValueError, match=r"^non_finite must be 'error' or 'null', got \"nan\"$"):
            json_encode(1.0, non_finite="nan")  # type: ignore[arg-type]


class TestCaseEncodeErrors:
    @pytest.mark.parametrize(
        ("value", "message"),
        [
            pytest.param(object(), r"^cannot encode \$: unsupported type 'object'$", id="root"),
            pytest.param(
                {"items": [0, 1, 2, {"when": object()}]},
                r"^cannot encode \$\.items\[3\]\.when: unsupported type 'object'$",
                id="nested",
            ),
            pytest.param(
                {"a b": [Unsupported()]},
                r"^cannot encode \$\[\"a b\"\]\[0\]: unsupported type 'Unsupported'$",
                id="quoted-key",
            ),
            pytest.param(
                {1: {2.5: [complex(1, 2)]}},
                r"^cannot encode \$\[\"1\"\]\[\"2.5\"\]\[0\]: unsupported type 'complex'$",
                id="non-str-keys",
            ),
            pytest.param(
                Box(Point(1, 2.0, tags=[Unsupported()]), datetime.date(2020, 1, 1)),  # type: ignore[list-item]
                r"^cannot encode \$\.corner\.tags\[0\]: unsupported type 'Unsupported'$",
                id="dataclass-path",
            ),
            pytest.param(
                {"k": {(1, 2): 1}},
                r"^cannot encode \$\.k: unsupported key type 'tuple' \(keys must be str, int, float, bool or None\)$",
                id="tuple-key",
            ),
            pytest.param(
                ["ok", "\ud800"],
                r"^cannot encode \$\[1\]: string contains a lone surrogate, which UTF-8 cannot encode$",
                id="lone-surrogate",
            ),
            pytest.param(
                {"\udfff": 1},
                r"^cannot encode \$: string contains a lone surrogate, which UTF-8 cannot encode$",
                id="lone-surrogate-key",
            ),
        ],
    )
    def test_error(self, value: object, message: str) -> None:
        with pytest.raises(JSONEncodeError, match=message) as info:
            json_encode(value)
        assert isinstance(info.value, TypeError)

    @pytest.mark.parametrize(
        ("value", "path"),
        [
            pytest.param(math.nan, "$", id="nan"),
            pytest.param([1.0, math.inf], "$[1]", id="inf"),
            pytest.param({"x": {"y": -math.inf}}, "$.x.y", id="negative-inf"),
            pytest.param({math.nan: 1}, "$", id="nan-key"),
            pytest.param([decimal.Decimal("NaN")], "$[0]", id="decimal-nan"),
            pytest.param([decimal.Decimal("-Infinity")], "$[0]", id="decimal-inf"),
        ],
    )
    def test_non_finite_error(self, value: object, path: str) -> None:
        with pytest.raises(NonFiniteFloatError) as info:
            json_encode(value)
        assert str(info.value) == (
            f'cannot encode {path}: NaN and infinities are not JSON (pass non_finite="null" to encode them as null)'
        )
        assert isinstance(info.value, ValueError)
        assert isinstance(info.value, JSONEncodeError)

    def test_non_finite_null(self) -> None:
        value = [math.nan, math.inf, -math.inf, decimal.Decimal("NaN"), {math.inf: 1}]
        assert json_encode(value, non_finite="null") == b'[null,null,null,null,{"null":1}]'

    def test_circular_list(self) -> None:
        value: list[object] = [1]
        value.append(value)
        with pytest.raises(JSONEncodeError, match=r"^cannot encode \$\[1\]: circular reference$"):
            json_encode(value)

    def test_circular_dict(self) -> None:
        inner: dict[str, object] = {}
        value = {"a": [inner]}
        inner["back"] = value
        with pytest.raises(JSONEncodeError, match=r"^cannot encode \$\.a\[0\]\.back: circular reference$"):
            json_encode(value)

    def test_too_deep(self) -> None:
        value: list[object] = []
        for _ in range(600):
            value = [value]
        with pytest.raises(JSONEncodeError, match=r"nesting deeper than 512 levels$"):
            json_encode(value)

    def test_deepest_allowed(self) -> None:
        value: list[object] = []
        for _ in range(511):
            value = [value]
        assert json_encode(value) == b"[" * 512 + b"]" * 512

    def test_dict_mutated_by_default(self) -> None:
        data: dict[str, object] = {"a": Unsupported(), "b": 2}

        def default(obj: object) -> object:
            data["c"] = 3
            return None

        with pytest.raises(
            JSONEncodeError, match=r"^cannot encode \$: container changed size while it was being encoded$"
        ):
            json_encode(data, default=default)

    def test_list_shrunk_by_default(self) -> None:
        data: list[object] = [Unsupported(), 1, 2]

        def default(obj: object) -> object:
            data.clear()
            return None

        assert json_encode(data, default=default) == b"[null]"


@pytest.mark.parametrize("yield_gil", [False, True], ids=["attached", "detached"])
class TestCaseDecode:
    """Every case both ways: under the interpreter lock (jiter's own builder) and with ``yield_gil=True``."""

    @pytest.mark.parametrize(
        ("data", "expected"),
        [
            pytest.param(
                b'{"a": [1, 2.5, "x", null, true, false]}', {"a": [1, 2.5, "x", None, True, False]}, id="bytes"
            ),
            pytest.param('{"é": "😀"}', {"é": "😀"}, id="str"),
            pytest.param(bytearray(b"[1]"), [1], id="bytearray"),
            pytest.param(memoryview(b'"m"'), "m", id="memoryview"),
            pytest.param(b"123456789012345678901234567890", 123456789012345678901234567890, id="big-int"),
            pytest.param(b"-0.0", -0.0, id="negative-zero"),
            pytest.param(b"1e-400", 0.0, id="float-underflow"),
            pytest.param(b'["1e400", 1e99]', ["1e400", 1e99], id="large-but-finite"),
            pytest.param(b' \n\t"\\u00e9\\n" ', "é\n", id="escapes-and-whitespace"),
            pytest.param(b'{"a": 1, "b": 2, "a": [3]}', {"a": [3], "b": 2}, id="duplicate-key-last-wins"),
            pytest.param(b"[" * 200 + b"]" * 200, eval("[" * 200 + "]" * 200), id="200-levels"),
            pytest.param(b"[" * 201 + b"]" * 201, _nested(201), id="201"),
            pytest.param(b'{"a": 1e400, "a": 1}', {"a": 1}, id="overflow-in-a-replaced-key"),
        ],
    )
    def test_decode(self, data: bytes | bytearray | memoryview | str, expected: object, yield_gil: bool) -> None:
        decoded = json_decode(data, yield_gil=yield_gil)
        assert decoded == expected
        if isinstance(expected, dict):
            assert list(decoded) == list(expected)  # keys in the order they first came

    @pytest.mark.parametrize(
        ("data", "message"),
        [
            pytest.param(b"", r"^invalid JSON: EOF while parsing a value at line 1 column 0$", id="empty"),
            pytest.param(b'{"a": 1,}', r"^invalid JSON: trailing comma at line 1 column 9$", id="trailing-comma"),
            pytest.param(b"[1]\n x", r"^invalid JSON: trailing characters at line 2 column 2$", id="trailing"),
            pytest.param(b"NaN", r"^invalid JSON: expected value at line 1 column 1$", id="nan"),
            pytest.param(b"[Infinity]", r"^invalid JSON: expected value at line 1 column 2$", id="infinity"),
            pytest.param(b"\xef\xbb\xbf[]", r"^invalid JSON: expected value at line 1 column 1$", id="bom"),
            pytest.param(b'"\xff"', r"^invalid JSON: invalid unicode code point at line 1 column 2$", id="bad-utf8"),
            pytest.param(b"1" * 4301, r"^invalid JSON: number out of range at line 1 column 4301$", id="huge-int"),
            pytest.param("\ud800", r"lone surrogate", id="surrogate-str"),
            # Issue 9, item 8: a number beyond f64 used to decode to infinity, which no answer could encode (500).
            pytest.param(b"1e400", r"^invalid JSON: number out of range at \$: ", id="float-overflow"),
            pytest.param(b'{"a": [1, -1E+400]}', r"out of range at \$\.a\[1\]", id="nested-overflow"),
            pytest.param(("[" + "9" * 400 + ".5]").encode(), r"out of range at \$\[0\]", id="long-mantissa"),
            pytest.param(
                b"[" * 202 + b"]" * 202, r"^invalid JSON: recursion limit exceeded at line 1 column 202$", id="deep"
            ),
        ],
    )
    def test_invalid(self, data: bytes | str, message: str, yield_gil: bool) -> None:
        with pytest.raises(JSONDecodeError, match=message) as info:
            json_decode(data, yield_gil=yield_gil)
        assert isinstance(info.value, ValueError)

    def test_wrong_type(self, yield_gil: bool) -> None:
        with pytest.raises(TypeError, match=r"^json_decode\(\) takes bytes, bytearray, memoryview or str, not 'int'$"):
            json_decode(1, yield_gil=yield_gil)  # type: ignore[arg-type]


def _count_switch_points(calls: list[int]) -> Callable[[types.FrameType, str, object], None]:
    """A profile function counting, in ``calls[0]``, the calls of `json_decode`'s switch point (a ``<lambda>``)."""

    def profile(frame: types.FrameType, event: str, argument: object) -> None:
        if event == "call" and frame.f_code.co_name == "<lambda>":
            calls[0] += 1

    return profile


class TestCaseDecodeYieldingTheGIL:
    BODY = json_encode({"rows": [[index * 0.37 for index in range(1000)] for _ in range(200)]})  # 200,202 values

    def test_a_switch_point_every_16384_values(self) -> None:
        # The interpreter hands the lock to a thread that asked for it when Python code runs: the decode runs some
        # every 16,384 values (the floats, the 200 rows, the list of rows and the object), and none by default.
        calls = [0]
        sys.setprofile(_count_switch_points(calls))
        try:
            json_decode(self.BODY, yield_gil=True)
            json_decode(self.BODY)
        finally:
            sys.setprofile(None)
        assert calls[0] == 200_202 // 16_384

    def test_a_waiting_thread_runs_in_the_middle_of_a_decode(self) -> None:
        # The main thread spins while a worker decodes, noting how many switch points the worker had passed each time
        # it runs: it must run between the first and the last, that is while the decode is under way.
        calls = [0]
        seen: set[int] = set()
        finished = threading.Event()

        def decode() -> None:
            sys.setprofile(_count_switch_points(calls))
            try:
                json_decode(self.BODY, yield_gil=True)
            finally:
                sys.setprofile(None)
                finished.set()

        interval = sys.getswitchinterval()
        sys.setswitchinterval(0.0005)
        try:
            worker = threading.Thread(target=decode)
            worker.start()
            while not finished.is_set():
                seen.add(calls[0])
            worker.join()
        finally:
            sys.setswitchinterval(interval)
        total = 200_202 // 16_384
        assert calls[0] == total
        assert any(0 < count < total for count in seen), sorted(seen)


def random_value(rng: random.Random, depth: int = 0) -> object:
    kind = rng.randrange(9 if depth < 4 else 6)
    if kind == 0:
        return rng.choice([None, True, False])
    if kind == 1:
        return rng.randint(-(2**70), 2**70) if rng.random() < 0.2 else rng.randint(-1000, 1000)
    if kind == 2:
        return rng.choice([rng.uniform(-1e6, 1e6), rng.random() * 10 ** rng.randint(-320, 308), 0.0])
    if kind in (3, 4, 5):
        alphabet = 'ab"\\\n\t\x00\x1f/é€😀 '
        return "".join(rng.choice(alphabet) for _ in range(rng.randrange(8)))
    if kind in (6, 7):
        return [random_value(rng, depth + 1) for _ in range(rng.randrange(5))]
    return {str(random_value(rng, 4)): random_value(rng, depth + 1) for _ in range(rng.randrange(5))}


class TestCaseRoundTrip:
    @pytest.mark.parametrize("seed", [pytest.param(seed, id=f"seed-{seed}") for seed in range(20)])
    def test_random_corpus_matches_stdlib(self, seed: int) -> None:
        rng = random.Random(seed)
        values = [random_value(rng) for _ in range(50)]
        encoded = json_encode(values)
        assert json.loads(encoded) == values
        assert json_decode(encoded) == values
        assert encoded == json.dumps(values, ensure_ascii=False, separators=(",", ":")).encode()
        indented = json_encode(values, indent=2, sort_keys=True)
        assert indented == json.dumps(values, ensure_ascii=False, indent=2, sort_keys=True).encode()
        stdlib = json.dumps(values).encode()
        assert json_decode(stdlib) == json.loads(stdlib)
        assert json_decode(encoded, yield_gil=True) == values
        assert json_decode(stdlib, yield_gil=True) == json.loads(stdlib)

    @pytest.mark.parametrize("seed", [pytest.param(seed, id=f"seed-{seed}") for seed in range(5)])
    def test_mutated_documents_decode_alike_both_ways(self, seed: int) -> None:
        # Valid and broken documents alike: the same value or the same error, with or without yield_gil.
        rng = random.Random(seed)
        document = json_encode([random_value(rng) for _ in range(20)])
        pieces = b'[]{}",:\\ 0123456789eE.-+tfnu\xff'
        for _ in range(300):
            mutated = bytearray(document)
            for _ in range(rng.randint(1, 3)):
                at = rng.randrange(len(mutated) + 1)
                if rng.random() < 0.5 and at < len(mutated):
                    del mutated[at]
                else:
                    mutated[at:at] = bytes([rng.choice(pieces)])
            outcomes = []
            for yield_gil in (False, True):
                try:
                    outcomes.append(("value", json_decode(bytes(mutated), yield_gil=yield_gil)))
                except JSONDecodeError as exc:
                    outcomes.append(("error", str(exc)))
            assert outcomes[0] == outcomes[1], bytes(mutated)

    def test_floats_round_trip(self) -> None:
        rng = random.Random(7)
        values = [rng.uniform(-1, 1) * 10 ** rng.randint(-300, 300) for _ in range(2000)]
        assert json_encode(values) == json.dumps(values, separators=(",", ":")).encode()
        assert json_decode(json_encode(values)) == values

    def test_every_float_layout_matches_repr(self) -> None:
        rng = random.Random(11)
        bit_patterns = [struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0] for _ in range(20000)]
        integral = [float(rng.randint(-(2**60), 2**60)) for _ in range(2000)]
        boundaries = [10.0**k for k in range(-8, 20)] + [-(10.0**k) for k in range(-8, 20)]
        values = [v for v in bit_patterns + integral + boundaries if math.isfinite(v)]
        assert json_encode(values) == ("[" + ",".join(repr(v) for v in values) + "]").encode()

    def test_shared_and_colliding_keys_match_stdlib(self) -> None:
        keys = [f'key-{i}\n"{"é" * (i % 3)}' for i in range(3000)] + ["x" * 100]
        records = [dict.fromkeys(keys[i % 7 :: 7], i) for i in range(50)]
        records.append({str(i): i for i in range(2000)})
        assert json_encode(records) == json.dumps(records, ensure_ascii=False, separators=(",", ":")).encode()
