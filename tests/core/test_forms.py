import asyncio
import os
import tempfile
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest
from flama.core import ClientDisconnected, MalformedBody, MissingBoundary, PayloadTooLarge, parse_urlencoded
from flama.core.forms import FormData, FormLimits, UploadedFile, parse_form

Receive = Callable[[], Awaitable[Mapping[str, Any]]]

BOUNDARY = "xYzZY"
MULTIPART = f"multipart/form-data; boundary={BOUNDARY}"
URLENCODED = "application/x-www-form-urlencoded"


def receiver(chunks: list[bytes], *, disconnect: bool = False) -> Receive:
    """An ASGI receive giving ``chunks`` as http.request messages, then either the end or a disconnect."""
    messages: list[dict[str, Any]] = [{"type": "http.request", "body": chunk, "more_body": True} for chunk in chunks]
    if disconnect:
        messages.append({"type": "http.disconnect"})
    else:
        messages.append({"type": "http.request", "body": b"", "more_body": False})
    iterator = iter(messages)

    async def receive() -> Mapping[str, Any]:
        return next(iterator)

    return receive


def field(name: str, value: bytes) -> bytes:
    return f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'.encode() + value + b"\r\n"


def upload(name: str, filename: str, data: bytes, content_type: str = "application/octet-stream") -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"; filename="{filename}"\r\n'
        f"Content-Type: {content_type}\r\n\r\n".encode()
        + data
        + b"\r\n"
    )


END = f"--{BOUNDARY}--\r\n".encode()


@pytest.fixture
def spooled(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[Any]:
    """Record every spooled file parse_form opens, with temporary files created under ``tmp_path``."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    created: list[Any] = []
    original = tempfile.SpooledTemporaryFile

    def recording(*args: Any, **kwargs: Any) -> Any:
        file = original(*args, **kwargs)
        created.append(file)
        return file

    monkeypatch.setattr(tempfile, "SpooledTemporaryFile", recording)
    return created


def open_descriptors_under(directory: Path) -> list[str]:
    """Targets of this process's open file descriptors that lie in ``directory`` (deleted files included)."""
    targets = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith(str(directory)):
            targets.append(target)
    return targets


class TestCaseParseUrlencoded:
    @pytest.mark.parametrize(
        ("data", "expected"),
        [
            pytest.param(b"", [], id="empty"),
            pytest.param(b"a=1", [("a", "1")], id="one"),
            pytest.param(b"a=1&b=2&a=3", [("a", "1"), ("b", "2"), ("a", "3")], id="order-and-repeats"),
            pytest.param(b"&&a=1&&&b=2&", [("a", "1"), ("b", "2")], id="empty-pairs"),
            pytest.param(b"a&b=", [("a", ""), ("b", "")], id="no-value"),
            pytest.param(b"=v", [("", "v")], id="no-name"),
            pytest.param(b"a=b=c", [("a", "b=c")], id="first-equals"),
            pytest.param(b"a=1;b=2", [("a", "1;b=2")], id="semicolon-is-not-a-separator"),
            pytest.param(b"a+b=c+d", [("a b", "c d")], id="plus"),
            pytest.param(b"p=%2B%26%3D%25", [("p", "+&=%")], id="escapes"),
            pytest.param(b"e=%E2%82%AC%e2%82%ac", [("e", "\u20ac\u20ac")], id="utf8-any-case"),
            pytest.param(b"bad=%zz%4%&x=%", [("bad", "%zz%4%"), ("x", "%")], id="invalid-escapes-kept"),
            pytest.param(b"u=%FF%FE\xff", [("u", "\ufffd\ufffd\ufffd")], id="invalid-utf8"),
            pytest.param("caf\xe9=na\xefve".encode(), [("caf\xe9", "na\xefve")], id="raw-utf8"),
        ],
    )
    def test_parse(self, data, expected):
        assert parse_urlencoded(data) == expected

    def test_max_fields(self):
        assert parse_urlencoded(b"a=1&&b=2", max_fields=2) == [("a", "1"), ("b", "2")]

        with pytest.raises(PayloadTooLarge) as info:
            parse_urlencoded(b"a=1&b=2&c=3", max_fields=2)

        assert (str(info.value), info.value.limit, info.value.maximum) == (
            "payload too large: max_fields exceeds 2",
            "max_fields",
            2,
        )


class TestCaseParseFormUrlencoded:
    async def test_fields(self):
        form = await parse_form(receiver([b"a=1&b=x", b"+y&a=2"]), URLENCODED)

        assert dict(form) == {"a": "1", "b": "x y"}
        assert form.getlist("a") == ["1", "2"]
        assert form.multi_items() == [("a", "1"), ("b", "x y"), ("a", "2")]

    async def test_content_type_parameters_and_case(self):
        form = await parse_form(receiver([b"a=1"]), "Application/X-WWW-Form-Urlencoded; charset=utf-8")

        assert dict(form) == {"a": "1"}

    @pytest.mark.parametrize(
        ("chunks", "limits", "limit", "maximum"),
        [
            pytest.param([b"a=1&b=2"], FormLimits(max_fields=1), "max_fields", 1, id="max_fields"),
            pytest.param([b"a=12345"], FormLimits(max_field_size=4), "max_field_size", 4, id="max_field_size"),
            pytest.param(
                ["a=\u20ac\u20ac".encode()], FormLimits(max_field_size=5), "max_field_size", 5, id="max_field_size-utf8"
            ),
            pytest.param([b"a=1", b"&b=2"], FormLimits(max_total_size=6), "max_total_size", 6, id="max_total_size"),
        ],
    )
    async def test_limits(self, chunks, limits, limit, maximum):
        with pytest.raises(PayloadTooLarge) as info:
            await parse_form(receiver(chunks), URLENCODED, limits=limits)

        assert (info.value.limit, info.value.maximum) == (limit, maximum)
        assert str(info.value) == f"payload too large: {limit} exceeds {maximum}"

    async def test_within_limits(self):
        limits = FormLimits(max_fields=2, max_field_size=6, max_total_size=14)

        form = await parse_form(receiver([b"a=\xe2\x82\xac\xe2\x82", b"\xac&b=2"]), URLENCODED, limits=limits)

        assert dict(form) == {"a": "\u20ac\u20ac", "b": "2"}

    async def test_disconnect(self):
        with pytest.raises(ClientDisconnected) as info:
            await parse_form(receiver([b"a=1"], disconnect=True), URLENCODED)

        assert str(info.value) == "client disconnected before the body was complete"


class TestCaseParseFormMultipart:
    async def test_fields_and_files(self, spooled):
        body = field("title", b"Hello") + upload("doc", "a.txt", b"abc", "text/plain") + field("title", b"again") + END

        with await parse_form(receiver([body]), MULTIPART) as form:
            assert list(form) == ["title", "doc"]
            assert len(form) == 2
            assert form["title"] == "Hello"
            assert form.getlist("title") == ["Hello", "again"]
            assert form.getlist("missing") == []
            doc = form["doc"]
            assert isinstance(doc, UploadedFile)
            assert (doc.filename, doc.content_type, doc.size) == ("a.txt", "text/plain", 3)
            assert doc.headers == [
                ("content-disposition", 'form-data; name="doc"; filename="a.txt"'),
                ("content-type", "text/plain"),
            ]
            assert doc.read() == b"abc"
            assert doc.seek(1) == 1
            assert doc.read(1) == b"b"
            assert repr(doc) == "UploadedFile(filename='a.txt', content_type='text/plain', size=3)"
            assert [name for name, _ in form.multi_items()] == ["title", "doc", "title"]

        assert len(spooled) == 1
        assert spooled[0].closed

    async def test_filename_star(self):
        body = (
            f'--{BOUNDARY}\r\nContent-Disposition: form-data; name=f; filename="x.txt"; '
            f"filename*=UTF-8''%E2%82%AC.txt\r\n\r\ndata\r\n".encode()
            + END
        )

        with await parse_form(receiver([body]), MULTIPART) as form:
            file = form["f"]
            assert isinstance(file, UploadedFile)
            assert file.filename == "\u20ac.txt"

    @pytest.mark.parametrize("size", [1, 2, 3, 7, 64])
    async def test_chunked(self, size):
        body = field("a", "caf\xe9".encode()) + upload("f", "x", b"\r\n--xYzZ\r\n" * 5) + field("b", b"") + END
        chunks = [body[i : i + size] for i in range(0, len(body), size)]

        with await parse_form(receiver(chunks), MULTIPART) as form:
            file = form["f"]
            assert isinstance(file, UploadedFile)
            assert (form["a"], form["b"], file.read()) == ("caf\xe9", "", b"\r\n--xYzZ\r\n" * 5)

    async def test_invalid_utf8_field_is_replaced(self):
        form = await parse_form(receiver([field("a", b"\xff ok") + END]), MULTIPART)

        assert form["a"] == "\ufffd ok"

    async def test_empty_filename_is_a_file(self):
        with await parse_form(receiver([upload("f", "", b"") + END]), MULTIPART) as form:
            file = form["f"]
            assert isinstance(file, UploadedFile)
            assert (file.filename, file.size, file.read()) == ("", 0, b"")

    async def test_spooled_to_disk(self, spooled, tmp_path):
        big = bytes(range(256)) * 64
        body = upload("big", "big.bin", big) + upload("small", "small.bin", b"tiny") + END

        form = await parse_form(receiver([body]), MULTIPART, limits=FormLimits(spool_max_size=1024))

        big_file, small_file = form["big"], form["small"]
        assert isinstance(big_file, UploadedFile)
        assert isinstance(small_file, UploadedFile)
        assert big_file.file._rolled  # type: ignore[attr-defined]
        assert not small_file.file._rolled  # type: ignore[attr-defined]
        assert big_file.file.fileno() >= 0
        assert open_descriptors_under(tmp_path) != []
        assert big_file.read() == big
        form.close()
        assert all(file.closed for file in spooled)
        assert open_descriptors_under(tmp_path) == []

    async def test_never_suspends(self):
        body = field("a", b"1") + upload("f", "x", b"data") + END
        coroutine = parse_form(receiver([body[:10], body[10:]]), MULTIPART)

        with pytest.raises(StopIteration) as done:
            coroutine.send(None)

        form = done.value.value
        assert isinstance(form, FormData)
        assert form["a"] == "1"
        form.close()

    async def test_browser_like_body(self, spooled):
        request = httpx.Request(
            "POST",
            "http://testserver/upload",
            data={"name": "Ada Lovelace", "tags": ["a", "b"]},
            files={"report": ("r\xe9sum\xe9.pdf", b"%PDF-1.4\r\n" + bytes(range(256)) * 8, "application/pdf")},
        )
        body = request.read()

        with await parse_form(receiver([body[:100], body[100:]]), request.headers["content-type"]) as form:
            report = form["report"]
            assert isinstance(report, UploadedFile)
            assert (form["name"], form.getlist("tags")) == ("Ada Lovelace", ["a", "b"])
            assert (report.filename, report.content_type) == ("r\xe9sum\xe9.pdf", "application/pdf")
            assert report.read() == b"%PDF-1.4\r\n" + bytes(range(256)) * 8

        assert all(file.closed for file in spooled)

    @pytest.mark.parametrize(
        ("body", "limits", "limit", "maximum"),
        [
            pytest.param(
                field("a", b"1") + field("b", b"2") + END, FormLimits(max_fields=1), "max_fields", 1, id="fields"
            ),
            pytest.param(
                upload("a", "1", b"") + upload("b", "2", b"") + END, FormLimits(max_files=1), "max_files", 1, id="files"
            ),
            pytest.param(
                field("a", b"12345") + END, FormLimits(max_field_size=4), "max_field_size", 4, id="field-size"
            ),
            pytest.param(
                upload("a", "x", b"12345") + END, FormLimits(max_file_size=4), "max_file_size", 4, id="file-size"
            ),
            pytest.param(
                upload("a", "x", b"12345") + END, FormLimits(max_total_size=50), "max_total_size", 50, id="total-size"
            ),
            pytest.param(
                upload("a", "x", b"1") + END,
                FormLimits(max_part_header_size=20),
                "max_part_header_size",
                20,
                id="part-header-size",
            ),
        ],
    )
    async def test_limits(self, spooled, body, limits, limit, maximum):
        with pytest.raises(PayloadTooLarge) as info:
            await parse_form(receiver([body[:40], body[40:]]), MULTIPART, limits=limits)

        assert (info.value.limit, info.value.maximum) == (limit, maximum)
        assert str(info.value) == f"payload too large: {limit} exceeds {maximum}"
        assert all(file.closed for file in spooled)

    async def test_exact_limits_pass(self):
        body = field("a", b"1234") + upload("f", "x", b"5678") + END
        limits = FormLimits(max_fields=1, max_files=1, max_field_size=4, max_file_size=4, max_total_size=len(body))

        with await parse_form(receiver([body]), MULTIPART, limits=limits) as form:
            assert form["a"] == "1234"

    @pytest.mark.parametrize(
        ("content_type", "body", "error", "message"),
        [
            pytest.param(
                "text/plain", b"a=1", MalformedBody, "malformed body: unsupported content type 'text/plain'", id="type"
            ),
            pytest.param(
                "multipart/form-data",
                END,
                MissingBoundary,
                "multipart content type without a valid boundary parameter",
                id="no-boundary",
            ),
            pytest.param(
                MULTIPART,
                field("a", b"1"),
                MalformedBody,
                "malformed body: the body ended before the closing boundary",
                id="truncated",
            ),
            pytest.param(
                MULTIPART,
                b"--xYzZY\r\nContent-Type: text/plain\r\n\r\n1\r\n" + END,
                MalformedBody,
                "malformed body: a part has no Content-Disposition header",
                id="no-disposition",
            ),
            pytest.param(
                MULTIPART,
                b"garbage",
                MalformedBody,
                "malformed body: no multipart boundary found in the body",
                id="none",
            ),
        ],
    )
    async def test_malformed(self, spooled, content_type, body, error, message):
        with pytest.raises(error) as info:
            await parse_form(receiver([body]), content_type)

        assert type(info.value) is error
        assert str(info.value) == message
        assert all(file.closed for file in spooled)

    async def test_malformed_after_a_file_closes_it(self, spooled, tmp_path):
        chunks = [upload("f", "x", b"0123456789" * 200), b"--xYzZY\r\nbroken header\r\n\r\n"]

        with pytest.raises(MalformedBody):
            await parse_form(receiver(chunks), MULTIPART, limits=FormLimits(spool_max_size=100))

        assert len(spooled) == 1
        assert spooled[0].closed
        assert open_descriptors_under(tmp_path) == []

    async def test_disconnect_mid_body_closes_files(self, spooled, tmp_path):
        body = upload("a", "a.bin", b"x" * 5000) + upload("b", "b.bin", b"y" * 10)

        with pytest.raises(ClientDisconnected):
            await parse_form(receiver([body], disconnect=True), MULTIPART, limits=FormLimits(spool_max_size=100))

        assert len(spooled) == 2
        assert spooled[0]._rolled
        assert all(file.closed for file in spooled)
        assert open_descriptors_under(tmp_path) == []
        assert os.listdir(tmp_path) == []

    async def test_cancellation_closes_files(self, spooled, tmp_path):
        started = asyncio.Event()
        body = upload("a", "a.bin", b"x" * 5000)
        sent = False

        async def receive() -> Mapping[str, Any]:
            nonlocal sent
            if not sent:
                sent = True
                return {"type": "http.request", "body": body, "more_body": True}
            started.set()
            await asyncio.sleep(3600)
            raise AssertionError("not cancelled")

        task = asyncio.create_task(parse_form(receive, MULTIPART, limits=FormLimits(spool_max_size=100)))
        await started.wait()
        task.cancel()

        with pytest.raises(asyncio.CancelledError):
            await task

        assert len(spooled) == 1
        assert spooled[0].closed
        assert open_descriptors_under(tmp_path) == []


class TestCaseFormData:
    def test_mapping(self):
        form = FormData([("a", "1"), ("b", "2"), ("a", "3")])

        assert dict(form) == {"a": "1", "b": "2"}
        assert "a" in form
        assert "c" not in form
        assert form.get("c") is None
        assert repr(form) == "FormData([('a', '1'), ('b', '2'), ('a', '3')])"
        with pytest.raises(KeyError):
            form["c"]

    def test_empty(self):
        assert len(FormData()) == 0
        assert FormData().multi_items() == []

    def test_close(self):
        file = UploadedFile("x", None, [], tempfile.SpooledTemporaryFile())  # noqa: SIM115 (closed by the form)
        form = FormData([("f", file), ("g", "text")])

        with form:
            assert not file.file.closed

        assert file.file.closed


def lazy_receiver(parts: int, part_size: int, chunk_size: int = 64 * 1024) -> Receive:
    """An ASGI receive streaming ``parts`` uploads of ``part_size`` bytes each, generated as they are read."""

    def messages() -> Any:
        for index in range(parts):
            yield upload(f"f{index}", f"{index}.bin", b"")[:-2]
            chunk = b"x" * chunk_size
            for _ in range(part_size // chunk_size):
                yield chunk
            yield b"\r\n"
        yield END

    iterator = messages()

    async def receive() -> Mapping[str, Any]:
        body = next(iterator, None)
        if body is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        return {"type": "http.request", "body": body, "more_body": True}

    return receive


class TestCaseHardenedDefaults:
    """Issue 9, items 6 and 12: the default limits bound memory, and urlencoded names are limited like values."""

    def test_defaults(self) -> None:
        limits = FormLimits()
        assert (limits.max_fields, limits.max_files, limits.max_total_size) == (1000, 100, 16 * 1024 * 1024)
        assert limits.spool_max_size == 256 * 1024

    async def test_urlencoded_name_size(self) -> None:
        body = b"k" * (1024 * 1024 + 1) + b"=v"
        with pytest.raises(PayloadTooLarge) as info:
            await parse_form(receiver([body]), URLENCODED)
        assert (info.value.limit, info.value.maximum) == ("max_field_size", 1024 * 1024)

    async def test_many_large_parts_stop_at_the_total_size(self, spooled: list[Any]) -> None:
        # The attack: 400 uploads of 1 MB each. The default total (16 MiB) stops it after 16 of them.
        import tracemalloc

        tracemalloc.start()
        try:
            with pytest.raises(PayloadTooLarge) as info:
                await parse_form(lazy_receiver(400, 1024 * 1024), MULTIPART)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert info.value.limit == "max_total_size"
        assert len(spooled) <= 17
        assert all(file.closed for file in spooled)
        # What stays in memory is one file's spool and a chunk or two, never the parts received.
        assert peak < 4 * 1024 * 1024, peak

    async def test_many_files_memory_is_bounded_by_the_spool(self, spooled: list[Any]) -> None:
        import tracemalloc

        limits = FormLimits(max_total_size=None)
        tracemalloc.start()
        try:
            form = await parse_form(lazy_receiver(100, 1024 * 1024), MULTIPART, limits=limits)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        with form:
            assert len(form) == 100
            assert all(file.size == 1024 * 1024 for file in form.values() if isinstance(file, UploadedFile))
        # 100 MB went through; each file moved to disk once past the spool size.
        assert peak < 8 * 1024 * 1024, peak

    async def test_the_101st_file_is_refused(self, spooled: list[Any]) -> None:
        with pytest.raises(PayloadTooLarge) as info:
            await parse_form(lazy_receiver(101, 0), MULTIPART)
        assert (info.value.limit, info.value.maximum) == ("max_files", 100)

    @pytest.mark.parametrize(
        ("disposition", "expected"),
        [
            pytest.param("filename*=UTF-8''%2F..%2F..%2Fetc%2Fpasswd%00", "passwd", id="traversal-and-nul"),
            pytest.param('filename="..\\\\..\\\\win.ini"', "win.ini", id="backslashes"),
            pytest.param("filename*=UTF-8''..", "", id="dot-dot"),
        ],
    )
    async def test_file_names_are_base_names(self, disposition: str, expected: str) -> None:
        head = f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="f"; {disposition}\r\n\r\n'.encode()
        form = await parse_form(receiver([head + b"data\r\n" + END]), MULTIPART)
        with form:
            file = form["f"]
            assert isinstance(file, UploadedFile)
            assert file.filename == expected
            # The raw header stays available to whoever needs what the client sent.
            assert dict(file.headers)["content-disposition"].endswith(disposition)
