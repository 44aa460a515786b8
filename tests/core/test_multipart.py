import pytest
from flama.core import (
    MalformedBody,
    MissingBoundary,
    MultipartParser,
    PartEnd,
    PartStart,
    PayloadTooLarge,
    parse_boundary,
)

BOUNDARY = b"xYzZY"

SIMPLE = (
    b"--xYzZY\r\n"
    b'Content-Disposition: form-data; name="title"\r\n'
    b"\r\n"
    b"Hello\r\n"
    b"--xYzZY\r\n"
    b'Content-Disposition: form-data; name="upload"; filename="a.txt"\r\n'
    b"Content-Type: text/plain\r\n"
    b"\r\n"
    b"line one\r\nline two\r\n"
    b"\r\n"
    b"--xYzZY--\r\n"
)


def collect(events: list[PartStart | bytes | PartEnd]) -> list[tuple[PartStart, bytes]]:
    """Fold a stream of events into (part, data) pairs, checking that they nest properly."""
    parts: list[tuple[PartStart, bytes]] = []
    current: PartStart | None = None
    data = b""
    for event in events:
        if isinstance(event, PartStart):
            assert current is None
            current, data = event, b""
        elif isinstance(event, bytes):
            assert current is not None
            assert event
            data += event
        else:
            assert isinstance(event, PartEnd)
            assert current is not None
            parts.append((current, data))
            current = None
    assert current is None
    return parts


def feed_all(parser: MultipartParser, chunks: list[bytes], *, finish: bool = False) -> None:
    for chunk in chunks:
        parser.feed(chunk)
    if finish:
        parser.finish()


def parse(chunks: list[bytes], boundary: bytes = BOUNDARY, **kwargs: int) -> list[tuple[PartStart, bytes]]:
    parser = MultipartParser(boundary, **kwargs)
    events: list[PartStart | bytes | PartEnd] = []
    for chunk in chunks:
        events.extend(parser.feed(chunk))
    parser.finish()
    return collect(events)


def summary(parts: list[tuple[PartStart, bytes]]) -> list[tuple[str, str | None, str | None, bytes]]:
    return [(part.name, part.filename, part.content_type, data) for part, data in parts]


SIMPLE_SUMMARY = [
    ("title", None, None, b"Hello"),
    ("upload", "a.txt", "text/plain", b"line one\r\nline two\r\n"),
]


class TestCaseMultipartParser:
    def test_simple_form(self):
        parts = parse([SIMPLE])

        assert summary(parts) == SIMPLE_SUMMARY
        assert parts[1][0].headers == [
            ("content-disposition", 'form-data; name="upload"; filename="a.txt"'),
            ("content-type", "text/plain"),
        ]
        assert repr(parts[0][0]) == 'PartStart(name="title", filename=None, content_type=None)'

    def test_event_stream(self):
        parser = MultipartParser(BOUNDARY)

        events = parser.feed(SIMPLE)

        assert [type(event) for event in events] == [PartStart, bytes, PartEnd, PartStart, bytes, PartEnd]
        assert events[1] == b"Hello"
        assert repr(events[2]) == "PartEnd()"
        parser.finish()

    @pytest.mark.parametrize("split", range(len(SIMPLE) + 1))
    def test_split_at_every_position(self, split):
        assert summary(parse([SIMPLE[:split], SIMPLE[split:]])) == SIMPLE_SUMMARY

    def test_one_byte_at_a_time(self):
        assert summary(parse([SIMPLE[i : i + 1] for i in range(len(SIMPLE))])) == SIMPLE_SUMMARY

    def test_whole_chunk_of_data_is_not_copied(self):
        parser = MultipartParser(BOUNDARY)
        parser.feed(b'--xYzZY\r\nContent-Disposition: form-data; name="f"; filename="x"\r\n\r\n')
        chunk = bytes(range(256)) * 16

        events = parser.feed(chunk)

        assert len(events) == 1
        assert events[0] is chunk

    def test_data_that_looks_like_a_boundary_prefix_is_emitted(self):
        parser = MultipartParser(BOUNDARY)
        parser.feed(b'--xYzZY\r\nContent-Disposition: form-data; name="f"\r\n\r\n')

        assert parser.feed(b"abc\r\n--xYz") == [b"abc"]
        assert parser.feed(b"Q rest") == [b"\r\n--xYz", b"Q rest"]
        assert parser.feed(b"\r") == []
        assert parser.feed(b"\r") == [b"\r"]
        assert [type(event) for event in parser.feed(b"\n--xYzZY--")] == [PartEnd]
        parser.finish()

    @pytest.mark.parametrize(
        ("body", "expected"),
        [
            pytest.param(
                b"preamble text\r\n--xYzZY\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--xYzZY--",
                [("a", None, None, b"1")],
                id="preamble",
            ),
            pytest.param(
                b"--xYzZY\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--xYzZY--\r\nepilogue\r\n--xYzZY\r\n",
                [("a", None, None, b"1")],
                id="epilogue-with-boundary",
            ),
            pytest.param(
                b"--xYzZY \t\r\nContent-Disposition: form-data; name=a\r\n\r\n1\r\n--xYzZY--",
                [("a", None, None, b"1")],
                id="transport-padding",
            ),
            pytest.param(
                b"--xYzZY\r\nContent-Disposition: form-data; name=a\r\n\r\n\r\n--xYzZY\r\n"
                b'Content-Disposition: form-data; name=b; filename=""\r\n\r\n\r\n--xYzZY--',
                [("a", None, None, b""), ("b", "", None, b"")],
                id="empty-parts",
            ),
            pytest.param(
                b"--xYzZY\r\nContent-Disposition: form-data; name=a\r\n\r\n\r\n\r\n\r\n--xYzZY--",
                [("a", None, None, b"\r\n\r\n")],
                id="data-of-crlfs",
            ),
            pytest.param(
                b"--xYzZY\r\nContent-Disposition: form-data; name=a\r\n\r\n--xYzZY\r\n--xYzZ\r\n--xYzZY--",
                [("a", None, None, b"--xYzZY\r\n--xYzZ")],
                id="boundary-without-crlf-is-data",
            ),
            pytest.param(
                b"--xYzZY\r\ncontent-disposition: FORM-DATA; name=a\r\ncontent-type: text/csv; charset=utf-8\r\n\r\n"
                b"x\r\n--xYzZY--",
                [("a", None, "text/csv; charset=utf-8", b"x")],
                id="case-insensitive-headers",
            ),
        ],
    )
    def test_bodies(self, body, expected):
        assert summary(parse([body])) == expected
        assert summary(parse([body[i : i + 1] for i in range(len(body))])) == expected

    @pytest.mark.parametrize(
        ("disposition", "name", "filename"),
        [
            pytest.param(b'form-data; name="f"; filename="a b.txt"', "f", "a b.txt", id="quoted"),
            pytest.param(b"form-data; name=f; filename=plain.txt", "f", "plain.txt", id="token"),
            pytest.param(b'form-data; name="q\\"x"; filename="a\\"b"', 'q"x', 'a"b', id="escapes"),
            pytest.param(
                b"form-data; name=f; filename=\"euro.txt\"; filename*=UTF-8''%E2%82%AC%20rates.txt",
                "f",
                "\u20ac rates.txt",
                id="filename-star-wins",
            ),
            pytest.param(b"form-data; name=f; filename*=iso-8859-1'en'%A3.txt", "f", "\xa3.txt", id="latin-1"),
            pytest.param(b"form-data; name=f; filename*=x-unknown''a; filename=b", "f", "b", id="unknown-charset"),
            pytest.param(
                'form-data; name="caf\xe9"; filename="na\xefve.txt"'.encode(), "caf\xe9", "na\xefve.txt", id="utf8"
            ),
            pytest.param(b'form-data ; name = "f" ; filename = "x" ;', "f", "x", id="whitespace"),
        ],
    )
    def test_content_disposition(self, disposition, name, filename):
        body = b"--xYzZY\r\nContent-Disposition: " + disposition + b"\r\n\r\ndata\r\n--xYzZY--"

        ((part, data),) = parse([body])

        assert (part.name, part.filename, data) == (name, filename, b"data")

    @pytest.mark.parametrize(
        ("body", "message"),
        [
            pytest.param(b"", "no multipart boundary found in the body", id="empty"),
            pytest.param(b"just text", "no multipart boundary found in the body", id="no-boundary"),
            pytest.param(
                b"--xYzZY\r\nContent-Disposition: form-data; name=a\r\n\r\nabc",
                "the body ended before the closing boundary",
                id="truncated",
            ),
            pytest.param(b"--xYzZY\r\nContent-Disp", "the body ended before the closing boundary", id="in-headers"),
            pytest.param(b"--xYzZYx\r\n", "unexpected bytes after a boundary", id="longer-boundary"),
            pytest.param(b"--xYzZY-\r\n", "unexpected bytes after a boundary", id="single-dash"),
            pytest.param(b"--xYzZY\nContent-Disposition: form-data\n\n", "unexpected bytes after a boundary", id="lf"),
            pytest.param(b"--xYzZY\r\r\n", "a boundary line must end with CRLF", id="cr-cr"),
            pytest.param(b"--xYzZY\r\n\r\nx\r\n--xYzZY--", "a part has no Content-Disposition header", id="no-headers"),
            pytest.param(
                b"--xYzZY\r\nContent-Type: text/plain\r\n\r\nx\r\n--xYzZY--",
                "a part has no Content-Disposition header",
                id="no-disposition",
            ),
            pytest.param(
                b"--xYzZY\r\nContent-Disposition: form-data\r\n\r\n",
                "a part's Content-Disposition has no name",
                id="no-name",
            ),
            pytest.param(
                b"--xYzZY\r\nContent-Disposition: inline; name=a\r\n\r\n",
                "a part's Content-Disposition must be form-data",
                id="not-form-data",
            ),
            pytest.param(
                b'--xYzZY\r\nContent-Disposition: form-data; name="a\r\n\r\n',
                "invalid Content-Disposition header",
                id="unterminated-quote",
            ),
            pytest.param(
                b"--xYzZY\r\nContent-Disposition: form-data; name\r\n\r\n",
                "invalid Content-Disposition header",
                id="parameter-without-value",
            ),
            pytest.param(b"--xYzZY\r\nno colon here\r\n\r\n", "a part header line has no colon", id="no-colon"),
            pytest.param(b"--xYzZY\r\nBad Name: x\r\n\r\n", "invalid part header name", id="bad-name"),
            pytest.param(
                b"--xYzZY\r\nA: b\r\n folded\r\n\r\n", "folded part header lines are not supported", id="fold"
            ),
            pytest.param(b"--xYzZY\r\nA: b\nB: c\r\n\r\n", "part header lines must end with CRLF", id="bare-lf"),
            pytest.param(b"--xYzZY\r\nA: b\x00\r\n\r\n", "invalid character in a part header value", id="nul"),
        ],
    )
    def test_malformed(self, body, message):
        parser = MultipartParser(BOUNDARY)

        with pytest.raises(MalformedBody) as info:
            feed_all(parser, [body], finish=True)

        assert str(info.value) == f"malformed body: {message}"

    def test_failed_parser_stays_failed(self):
        parser = MultipartParser(BOUNDARY)
        with pytest.raises(MalformedBody):
            parser.feed(b"--xYzZY!")

        with pytest.raises(MalformedBody, match="already failed"):
            parser.feed(b"\r\n")
        with pytest.raises(MalformedBody, match="already failed"):
            parser.finish()

    def test_max_header_size(self):
        header = b"Content-Disposition: form-data; name=a\r\n\r\n"
        body = b"--xYzZY\r\n" + header + b"v\r\n--xYzZY--"
        assert summary(parse([body], max_header_size=len(header))) == [("a", None, None, b"v")]

        for chunks in ([body], [body[i : i + 1] for i in range(len(body))]):
            parser = MultipartParser(BOUNDARY, max_header_size=len(header) - 1)
            with pytest.raises(PayloadTooLarge) as info:
                feed_all(parser, chunks)

            assert (info.value.limit, info.value.maximum) == ("max_header_size", len(header) - 1)
            assert str(info.value) == f"payload too large: max_header_size exceeds {len(header) - 1}"

    def test_max_parts(self):
        part = b"--xYzZY\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n"
        assert len(parse([part * 2 + b"--xYzZY--"], max_parts=2)) == 2

        parser = MultipartParser(BOUNDARY, max_parts=2)
        with pytest.raises(PayloadTooLarge) as info:
            parser.feed(part * 3)

        assert (info.value.limit, info.value.maximum) == ("max_parts", 2)

    @pytest.mark.parametrize(
        "boundary",
        [
            pytest.param(b"", id="empty"),
            pytest.param(b"a" * 71, id="too-long"),
            pytest.param(b"a\r\nb", id="crlf"),
            pytest.param(b"trailing ", id="trailing-space"),
            pytest.param(b"semi;colon", id="not-bchar"),
        ],
    )
    def test_invalid_boundary(self, boundary):
        with pytest.raises(MissingBoundary) as info:
            MultipartParser(boundary)

        assert str(info.value) == "multipart content type without a valid boundary parameter"

    def test_longest_boundary(self):
        boundary = b"'()+_,-./:=? " * 5 + b"azAZ0"
        assert len(boundary) == 70
        body = b"--" + boundary + b"\r\nContent-Disposition: form-data; name=a\r\n\r\nv\r\n--" + boundary + b"--"

        assert summary(parse([body], boundary=boundary)) == [("a", None, None, b"v")]


class TestCaseParseBoundary:
    @pytest.mark.parametrize(
        ("content_type", "expected"),
        [
            pytest.param("multipart/form-data; boundary=abc", b"abc", id="token"),
            pytest.param('multipart/form-data; boundary="a b:c"', b"a b:c", id="quoted"),
            pytest.param("multipart/form-data;charset=utf-8;BOUNDARY=x-y", b"x-y", id="case-and-order"),
            pytest.param(
                "multipart/form-data; boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW",
                b"----WebKitFormBoundary7MA4YWxkTrZu0gW",
                id="webkit",
            ),
        ],
    )
    def test_valid(self, content_type, expected):
        assert parse_boundary(content_type) == expected

    @pytest.mark.parametrize(
        "content_type",
        [
            pytest.param("multipart/form-data", id="absent"),
            pytest.param("multipart/form-data; boundary=", id="empty"),
            pytest.param("multipart/form-data; boundary=" + "a" * 71, id="too-long"),
            pytest.param('multipart/form-data; boundary="abc', id="unterminated"),
            pytest.param('multipart/form-data; boundary="a "', id="trailing-space"),
            pytest.param("multipart/form-data; boundary=caf\xe9", id="non-ascii"),
            pytest.param("multipart/form-data; boundary", id="no-value"),
        ],
    )
    def test_invalid(self, content_type):
        with pytest.raises(MissingBoundary):
            parse_boundary(content_type)
