import email.utils
import os
import re
from pathlib import Path

import pytest
from flama.http import FileResponse

from tests.http.conftest import CallApp, ScopeFactory

DATA = bytes(range(256)) * 4  # 1024 bytes: byte i is i % 256


@pytest.fixture
def data_file(tmp_path: Path) -> Path:
    path = tmp_path / "data.bin"
    path.write_bytes(DATA)
    return path


def validators(path: Path) -> tuple[str, str]:
    info = path.stat()
    return f'"{info.st_mtime_ns:x}-{info.st_size:x}"', email.utils.formatdate(info.st_mtime, usegmt=True)


class TestCaseFileResponse:
    async def test_whole_file(self, call_app: CallApp, data_file: Path):
        etag, modified = validators(data_file)

        sent = await call_app(FileResponse(data_file))

        assert sent.status == 200
        assert sent.raw_headers == [
            (b"content-type", b"application/octet-stream"),
            (b"accept-ranges", b"bytes"),
            (b"etag", etag.encode()),
            (b"last-modified", modified.encode()),
            (b"content-length", b"1024"),
        ]
        assert sent.body == DATA
        assert sent.messages[-1]["more_body"] is False

    async def test_chunks(self, call_app: CallApp, data_file: Path, monkeypatch: pytest.MonkeyPatch):
        monkeypatch.setattr(FileResponse, "chunk_size", 400)

        sent = await call_app(FileResponse(data_file))

        assert [len(body) for body in sent.bodies] == [400, 400, 224]
        assert [message["more_body"] for message in sent.messages[1:]] == [True, True, False]

    async def test_media_type_and_filename(self, call_app: CallApp, tmp_path: Path):
        path = tmp_path / "page.html"
        path.write_text("<p>hi</p>")

        sent = await call_app(FileResponse(path, filename='my "page".html'))

        assert sent.headers["content-type"] == "text/html; charset=utf-8"
        assert sent.headers["content-disposition"] == 'attachment; filename="my \\"page\\".html"'
        assert sent.body == b"<p>hi</p>"

    def test_non_ascii_filename(self, data_file: Path):
        response = FileResponse(data_file, filename="résumé.pdf", content_disposition_type="inline")

        assert response.headers["content-disposition"] == "inline; filename*=utf-8''r%C3%A9sum%C3%A9.pdf"
        assert response.headers["content-type"] == "application/pdf"

    async def test_empty_file(self, call_app: CallApp, tmp_path: Path):
        path = tmp_path / "empty.txt"
        path.write_bytes(b"")

        sent = await call_app(FileResponse(path))

        assert sent.headers["content-length"] == "0"
        assert sent.messages[1:] == [{"type": "http.response.body", "body": b""}]

    async def test_head(self, call_app: CallApp, scope_factory: ScopeFactory, data_file: Path):
        sent = await call_app(FileResponse(data_file), scope_factory(method="HEAD"))

        assert sent.status == 200
        assert sent.headers["content-length"] == "1024"
        assert sent.messages[1:] == [{"type": "http.response.body", "body": b""}]

    async def test_pathsend(self, call_app: CallApp, scope_factory: ScopeFactory, data_file: Path):
        scope = scope_factory(extensions={"http.response.pathsend": {}})

        sent = await call_app(FileResponse(data_file), scope)

        assert sent.headers["content-length"] == "1024"
        assert sent.messages[1:] == [{"type": "http.response.pathsend", "path": str(data_file)}]

    async def test_pathsend_not_used_for_range(self, call_app: CallApp, scope_factory: ScopeFactory, data_file: Path):
        scope = scope_factory(headers=[("range", "bytes=0-1")], extensions={"http.response.pathsend": {}})

        sent = await call_app(FileResponse(data_file), scope)

        assert sent.status == 206
        assert sent.body == b"\x00\x01"

    async def test_missing(self, call_app: CallApp, tmp_path: Path):
        with pytest.raises(FileNotFoundError):
            await call_app(FileResponse(tmp_path / "missing"))

    async def test_directory(self, call_app: CallApp, tmp_path: Path):
        with pytest.raises(FileNotFoundError, match="is not a regular file"):
            await call_app(FileResponse(tmp_path))

    async def test_stat_result_used(self, call_app: CallApp, data_file: Path):
        info = os.stat(data_file)
        data_file.write_bytes(DATA * 2)

        sent = await call_app(FileResponse(data_file, stat_result=info))

        assert sent.headers["content-length"] == "1024"
        assert sent.body == DATA


class TestCaseFileResponseRanges:
    @pytest.mark.parametrize(
        ("header", "content_range", "body"),
        [
            pytest.param("bytes=0-9", "bytes 0-9/1024", DATA[:10], id="first-ten"),
            pytest.param("bytes=1000-", "bytes 1000-1023/1024", DATA[1000:], id="open-ended"),
            pytest.param("bytes=-4", "bytes 1020-1023/1024", DATA[-4:], id="suffix"),
            pytest.param("bytes=-5000", "bytes 0-1023/1024", DATA, id="suffix-longer-than-file"),
            pytest.param("bytes=1020-9999", "bytes 1020-1023/1024", DATA[1020:], id="end-clamped"),
            pytest.param("bytes=0-3, 2-5", "bytes 0-5/1024", DATA[:6], id="overlapping-merged"),
            pytest.param("bytes=0-3,4-7", "bytes 0-7/1024", DATA[:8], id="adjacent-merged"),
            pytest.param("Bytes = 5-5", "bytes 5-5/1024", DATA[5:6], id="unit-case-and-spaces"),
            pytest.param("bytes=2000-3000, 0-0", "bytes 0-0/1024", DATA[:1], id="unsatisfiable-part-dropped"),
        ],
    )
    async def test_single(
        self,
        call_app: CallApp,
        scope_factory: ScopeFactory,
        data_file: Path,
        header: str,
        content_range: str,
        body: bytes,
    ):
        sent = await call_app(FileResponse(data_file), scope_factory(headers=[("range", header)]))

        assert sent.status == 206
        assert sent.headers["content-range"] == content_range
        assert sent.headers["content-length"] == str(len(body))
        assert sent.headers["content-type"] == "application/octet-stream"
        assert sent.body == body
        assert sent.messages[-1]["more_body"] is False

    async def test_multiple(self, call_app: CallApp, scope_factory: ScopeFactory, tmp_path: Path):
        path = tmp_path / "letters.txt"
        path.write_bytes(b"abcdefghijklmnopqrstuvwxyz")

        sent = await call_app(FileResponse(path), scope_factory(headers=[("range", "bytes=20-,0-2, 10-11")]))

        assert sent.status == 206
        match = re.fullmatch(r"multipart/byteranges; boundary=([0-9a-f]{32})", sent.headers["content-type"])
        assert match is not None
        boundary = match.group(1)
        assert "content-range" not in sent.headers
        expected = (
            f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes 0-2/26\r\n\r\nabc\r\n"
            f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes 10-11/26\r\n\r\nkl\r\n"
            f"--{boundary}\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Range: bytes 20-25/26\r\n\r\n"
            f"uvwxyz\r\n--{boundary}--\r\n"
        ).encode()
        assert sent.body == expected
        assert sent.headers["content-length"] == str(len(expected))
        assert sent.messages[-1]["more_body"] is False

    async def test_head_multiple(self, call_app: CallApp, scope_factory: ScopeFactory, data_file: Path):
        scope = scope_factory(method="HEAD", headers=[("range", "bytes=0-1,5-6")])

        sent = await call_app(FileResponse(data_file), scope)

        assert sent.status == 206
        assert sent.headers["content-type"].startswith("multipart/byteranges; boundary=")
        assert sent.messages[1:] == [{"type": "http.response.body", "body": b""}]

    async def test_head_single(self, call_app: CallApp, scope_factory: ScopeFactory, data_file: Path):
        sent = await call_app(FileResponse(data_file), scope_factory(method="HEAD", headers=[("range", "bytes=0-1")]))

        assert sent.status == 206
        assert sent.headers["content-range"] == "bytes 0-1/1024"
        assert sent.headers["content-length"] == "2"
        assert sent.body == b""

    @pytest.mark.parametrize(
        "header",
        [
            pytest.param("bytes=1024-", id="start-past-end"),
            pytest.param("bytes=5-2", id="reversed"),
            pytest.param("bytes=abc", id="no-dash"),
            pytest.param("bytes=x-3", id="not-a-number"),
            pytest.param("bytes=-x", id="suffix-not-a-number"),
            pytest.param("bytes=-0", id="empty-suffix"),
            pytest.param("bytes=", id="no-ranges"),
            pytest.param("bytes=+1-2", id="signed"),
        ],
    )
    async def test_not_satisfiable(self, call_app: CallApp, scope_factory: ScopeFactory, data_file: Path, header: str):
        sent = await call_app(FileResponse(data_file), scope_factory(headers=[("range", header)]))

        assert sent.status == 416
        assert sent.raw_headers == [(b"accept-ranges", b"bytes"), (b"content-range", b"bytes */1024")]
        assert sent.body == b""

    async def test_other_unit_ignored(self, call_app: CallApp, scope_factory: ScopeFactory, data_file: Path):
        sent = await call_app(FileResponse(data_file), scope_factory(headers=[("range", "items=0-1")]))

        assert sent.status == 200
        assert sent.body == DATA

    async def test_not_for_other_statuses(self, call_app: CallApp, scope_factory: ScopeFactory, data_file: Path):
        sent = await call_app(FileResponse(data_file, status_code=404), scope_factory(headers=[("range", "bytes=0-1")]))

        assert sent.status == 404
        assert sent.body == DATA

    @pytest.mark.parametrize(
        ("if_range", "status"),
        [
            pytest.param("etag", 206, id="etag-matches"),
            pytest.param('"other"', 200, id="etag-differs"),
            pytest.param('W/"weak"', 200, id="weak-etag-never-matches"),
            pytest.param("date", 206, id="date-matches"),
            pytest.param("Mon, 01 Jan 2001 00:00:00 GMT", 200, id="date-differs"),
            pytest.param("garbage", 200, id="unparsable"),
        ],
    )
    async def test_if_range(
        self, call_app: CallApp, scope_factory: ScopeFactory, data_file: Path, if_range: str, status: int
    ):
        etag, modified = validators(data_file)
        value = {"etag": etag, "date": modified}.get(if_range, if_range)
        scope = scope_factory(headers=[("range", "bytes=0-1"), ("if-range", value)])

        sent = await call_app(FileResponse(data_file), scope)

        assert sent.status == status
        assert sent.body == (DATA[:2] if status == 206 else DATA)


class TestCaseFileResponseConditional:
    @pytest.mark.parametrize(
        ("headers", "status"),
        [
            pytest.param({"if-none-match": "{etag}"}, 304, id="etag"),
            pytest.param({"if-none-match": '"a", {etag}'}, 304, id="etag-in-list"),
            pytest.param({"if-none-match": "W/{etag}"}, 304, id="weak-comparison"),
            pytest.param({"if-none-match": "*"}, 304, id="star"),
            pytest.param({"if-none-match": '"other"'}, 200, id="etag-differs"),
            pytest.param({"if-modified-since": "{modified}"}, 304, id="not-modified-since"),
            pytest.param({"if-modified-since": "Mon, 01 Jan 2001 00:00:00 GMT"}, 200, id="modified-since"),
            pytest.param({"if-modified-since": "garbage"}, 200, id="unparsable-date"),
            pytest.param({"if-none-match": '"other"', "if-modified-since": "{modified}"}, 200, id="etag-wins"),
            pytest.param({"if-none-match": "{etag}", "range": "bytes=0-1"}, 304, id="before-range"),
        ],
    )
    async def test_not_modified(
        self, call_app: CallApp, scope_factory: ScopeFactory, data_file: Path, headers: dict[str, str], status: int
    ):
        etag, modified = validators(data_file)
        request_headers = [(key, value.format(etag=etag, modified=modified)) for key, value in headers.items()]

        sent = await call_app(
            FileResponse(data_file, headers={"cache-control": "max-age=60"}), scope_factory(headers=request_headers)
        )

        assert sent.status == status
        if status == 304:
            assert sent.raw_headers == [
                (b"cache-control", b"max-age=60"),
                (b"accept-ranges", b"bytes"),
                (b"etag", etag.encode()),
                (b"last-modified", modified.encode()),
            ]
            assert sent.body == b""
        else:
            assert sent.body == DATA

    async def test_post_ignores_conditions(self, call_app: CallApp, scope_factory: ScopeFactory, data_file: Path):
        etag, _ = validators(data_file)
        scope = scope_factory(method="POST", headers=[("if-none-match", etag), ("range", "bytes=0-1")])

        sent = await call_app(FileResponse(data_file), scope)

        assert sent.status == 200
        assert sent.body == DATA


class TestCaseRangeAttacks:
    """Issue 9, items 7 and 8: many ranges and absurd offsets are bounded answers, never a 500 or a CPU sink."""

    async def test_many_ranges_are_ignored(self, call_app: CallApp, scope_factory: ScopeFactory, data_file: Path):
        header = "bytes=" + ",".join(f"{offset}-{offset}" for offset in range(0, 50_000 * 2, 2))
        scope = scope_factory(headers=[("range", header)])

        sent = await call_app(FileResponse(data_file), scope)

        assert sent.status == 200
        assert sent.body == DATA

    async def test_up_to_max_ranges_are_served(self, call_app: CallApp, scope_factory: ScopeFactory, data_file: Path):
        header = "bytes=" + ",".join(f"{offset}-{offset}" for offset in range(0, 32, 2))
        assert header.count(",") + 1 == FileResponse.max_ranges

        sent = await call_app(FileResponse(data_file), scope_factory(headers=[("range", header)]))

        assert sent.status == 206
        assert sent.body.count(b"Content-Range: bytes") == 16

    async def test_max_ranges_is_configurable(self, call_app: CallApp, scope_factory: ScopeFactory, data_file: Path):
        class TwoRanges(FileResponse):
            max_ranges = 2

        scope = scope_factory(headers=[("range", "bytes=0-0,2-2,4-4")])

        sent = await call_app(TwoRanges(data_file), scope)

        assert sent.status == 200

    async def test_overlapping_ranges_are_merged(self, call_app: CallApp, scope_factory: ScopeFactory, data_file: Path):
        scope = scope_factory(headers=[("range", "bytes=0-99," + ",".join(["10-20"] * 14) + ",50-")])

        sent = await call_app(FileResponse(data_file), scope)

        assert sent.status == 206
        assert sent.headers["content-range"] == "bytes 0-1023/1024"
        assert sent.body == DATA

    @pytest.mark.parametrize(
        ("header", "status", "content_range"),
        [
            pytest.param("bytes=0-" + "9" * 5000, 206, "bytes 0-1023/1024", id="huge-last"),
            pytest.param("bytes=" + "9" * 5000 + "-", 416, "bytes */1024", id="huge-first"),
            pytest.param("bytes=-" + "9" * 5000, 206, "bytes 0-1023/1024", id="huge-suffix"),
            pytest.param("bytes=" + "9" * 5000 + "-1", 416, "bytes */1024", id="huge-first-small-last"),
        ],
    )
    async def test_absurd_offsets(
        self,
        call_app: CallApp,
        scope_factory: ScopeFactory,
        data_file: Path,
        header: str,
        status: int,
        content_range: str,
    ):
        sent = await call_app(FileResponse(data_file), scope_factory(headers=[("range", header)]))

        assert sent.status == status
        assert sent.headers["content-range"] == content_range
