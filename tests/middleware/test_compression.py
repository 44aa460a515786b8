import pytest
from flama.core import Decompressor, compress, decompress
from flama.middleware import CompressionMiddleware, ConfigurationError

BODY = b"The quick brown fox jumps over the lazy dog. " * 40


def accept(value: str) -> list[tuple[str, str]]:
    return [("accept-encoding", value)]


class TestCaseCompressionMiddleware:
    @pytest.mark.parametrize(
        ("header", "encoding"),
        [
            pytest.param("gzip", "gzip", id="gzip"),
            pytest.param("deflate", "deflate", id="deflate"),
            pytest.param("br", "br", id="br"),
            pytest.param("zstd", "zstd", id="zstd"),
            pytest.param("gzip, deflate, br, zstd", "br", id="tie-server-preference"),
            pytest.param("gzip;q=1, br;q=0.5", "gzip", id="q-value"),
            pytest.param("*", "br", id="star"),
            pytest.param("br;q=0, *;q=0.1", "zstd", id="star-but-br"),
            pytest.param("GZIP", "gzip", id="case-insensitive"),
        ],
    )
    async def test_negotiates_and_compresses(self, app_factory, call_app, scope_factory, header, encoding):
        app = app_factory([BODY], headers=[("content-type", "text/plain"), ("content-length", str(len(BODY)))])
        sent = await call_app(CompressionMiddleware(app), scope_factory(headers=accept(header)))
        assert sent.headers["content-encoding"] == encoding
        assert sent.headers["vary"] == "Accept-Encoding"
        assert sent.headers["content-length"] == str(len(sent.body))
        assert len(sent.body) < len(BODY)
        assert decompress(sent.body, encoding) == BODY

    @pytest.mark.parametrize(
        "header",
        [
            pytest.param("", id="empty"),
            pytest.param("identity", id="identity"),
            pytest.param("identity;q=0", id="nothing-acceptable"),
            pytest.param("gzip;q=0.5, identity", id="identity-higher"),
            pytest.param("bzip2", id="not-offered"),
        ],
    )
    async def test_identity(self, app_factory, call_app, scope_factory, header):
        sent = await call_app(CompressionMiddleware(app_factory([BODY])), scope_factory(headers=accept(header)))
        assert sent.headers == {"content-type": "text/plain", "vary": "Accept-Encoding"}
        assert sent.body == BODY

    async def test_no_accept_encoding_header(self, app_factory, call_app, scope_factory):
        sent = await call_app(CompressionMiddleware(app_factory([BODY])), scope_factory())
        assert "content-encoding" not in sent.headers
        assert sent.body == BODY

    async def test_small_body_is_left_alone(self, app_factory, call_app, scope_factory):
        sent = await call_app(
            CompressionMiddleware(app_factory([b"tiny"]), minimum_size=5), scope_factory(headers=accept("gzip"))
        )
        assert sent.headers == {"content-type": "text/plain", "vary": "Accept-Encoding"}
        assert sent.body == b"tiny"

    async def test_small_announced_stream_is_left_alone(self, app_factory, call_app, scope_factory):
        app = app_factory([b"ab", b"cd"], headers=[("content-type", "text/plain"), ("content-length", "4")])
        sent = await call_app(CompressionMiddleware(app, minimum_size=10), scope_factory(headers=accept("gzip")))
        assert "content-encoding" not in sent.headers
        assert sent.bodies == [b"ab", b"cd"]

    @pytest.mark.parametrize(
        ("headers", "status", "method"),
        [
            pytest.param([("content-type", "image/png")], 200, "GET", id="image"),
            pytest.param([("content-type", "application/PDF; x=1")], 200, "GET", id="exact-type-with-params"),
            pytest.param([("content-type", "text/plain"), ("content-encoding", "gzip")], 200, "GET", id="encoded"),
            pytest.param([("content-type", "text/plain")], 204, "GET", id="no-content"),
            pytest.param([("content-type", "text/plain")], 200, "HEAD", id="head"),
        ],
    )
    async def test_skipped_responses(self, app_factory, call_app, scope_factory, headers, status, method):
        app = app_factory([BODY], status=status, headers=headers)
        sent = await call_app(CompressionMiddleware(app), scope_factory(method, headers=accept("gzip")))
        assert sent.raw_headers == [(name.encode(), value.encode()) for name, value in headers]
        assert sent.body == BODY

    async def test_custom_excluded_types(self, app_factory, call_app, scope_factory):
        middleware = CompressionMiddleware(app_factory([BODY]), excluded_types=["text/*"])
        sent = await call_app(middleware, scope_factory(headers=accept("gzip")))
        assert "content-encoding" not in sent.headers
        image = CompressionMiddleware(
            app_factory([BODY], headers=[("content-type", "image/svg+xml")]), excluded_types=[]
        )
        sent = await call_app(image, scope_factory(headers=accept("gzip")))
        assert sent.headers["content-encoding"] == "gzip"

    async def test_stream_is_compressed_chunk_by_chunk(self, app_factory, call_app, scope_factory):
        events = [b"data: %d\n\n" % index for index in range(3)]
        app = app_factory([*events, b""], headers=[("content-type", "text/event-stream"), ("content-length", "999")])
        sent = await call_app(CompressionMiddleware(app, minimum_size=0), scope_factory(headers=accept("gzip")))
        assert sent.headers == {
            "content-type": "text/event-stream",
            "vary": "Accept-Encoding",
            "content-encoding": "gzip",
        }
        assert [message.get("more_body") for message in sent.messages[1:]] == [True, True, True, False]
        decoder = Decompressor("gzip")
        # Each chunk is flushed: it decodes on its own, before the stream ends.
        assert [decoder.decompress(chunk) for chunk in sent.bodies[:3]] == events
        assert decoder.decompress(sent.bodies[3]) + decoder.finish() == b""
        assert decoder.eof

    async def test_pathsend_goes_out_as_it_is(self, call_app, scope_factory):
        async def app(scope, receive, send):
            await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
            await send({"type": "http.response.pathsend", "path": "/tmp/file.txt"})

        sent = await call_app(CompressionMiddleware(app), scope_factory(headers=accept("gzip")))
        assert sent.messages == [
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/plain"), (b"vary", b"Accept-Encoding")],
            },
            {"type": "http.response.pathsend", "path": "/tmp/file.txt"},
        ]

    async def test_levels_per_encoding(self, app_factory, call_app, scope_factory):
        middleware = CompressionMiddleware(app_factory([BODY]), levels={"gzip": 1})
        sent = await call_app(middleware, scope_factory(headers=accept("gzip")))
        assert sent.body == compress(BODY, "gzip", level=1)

    async def test_strong_etag_becomes_weak(self, app_factory, call_app, scope_factory):
        app = app_factory([BODY], headers=[("content-type", "text/plain"), ("etag", '"abc"')])
        sent = await call_app(CompressionMiddleware(app), scope_factory(headers=accept("gzip")))
        assert sent.headers["etag"] == 'W/"abc"'

    async def test_encodings_option_restricts_offer(self, app_factory, call_app, scope_factory):
        middleware = CompressionMiddleware(app_factory([BODY]), encodings=["gzip"])
        sent = await call_app(middleware, scope_factory(headers=accept("br, gzip;q=0.1")))
        assert sent.headers["content-encoding"] == "gzip"

    @pytest.mark.parametrize(
        ("options", "message"),
        [
            pytest.param({"encodings": ["lzw"]}, "Unsupported encodings ['lzw']", id="encoding"),
            pytest.param({"levels": {"xz": 3}}, "Levels given for encodings not offered: ['xz']", id="level"),
            pytest.param({"minimum_size": -1}, "minimum_size must be 0 or more, got -1", id="size"),
        ],
    )
    def test_configuration_errors(self, app_factory, options, message):
        with pytest.raises(ConfigurationError, match=message.replace("[", r"\[")):
            CompressionMiddleware(app_factory(), **options)


class TestCaseCompressionLeavesPartialResponses:
    """Issue 9, item 9: a 206 (or anything with Content-Range) counts uncompressed bytes, so it is never compressed."""

    async def test_file_range_with_gzip(self, call_app, scope_factory, tmp_path):
        from flama.http import FileResponse

        path = tmp_path / "page.txt"
        path.write_bytes(BODY)
        scope = scope_factory(headers=[("range", "bytes=0-999"), ("accept-encoding", "gzip")])

        sent = await call_app(CompressionMiddleware(FileResponse(path, media_type="text/plain")), scope)

        assert sent.status == 206
        assert "content-encoding" not in sent.headers
        assert sent.headers["content-range"] == f"bytes 0-999/{len(BODY)}"
        assert sent.body == BODY[:1000]

    @pytest.mark.parametrize(
        ("status", "headers"),
        [
            pytest.param(206, [("content-type", "text/plain")], id="206"),
            pytest.param(200, [("content-type", "text/plain"), ("content-range", "bytes 0-1799/1800")], id="range"),
            pytest.param(416, [("content-type", "text/plain"), ("content-range", "bytes */1800")], id="416"),
        ],
    )
    async def test_left_alone(self, app_factory, call_app, scope_factory, status, headers):
        app = app_factory([BODY], status=status, headers=headers)

        sent = await call_app(CompressionMiddleware(app), scope_factory(headers=accept("gzip")))

        assert sent.status == status
        assert "content-encoding" not in sent.headers
        assert sent.body == BODY
