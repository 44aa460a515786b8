import pytest
from flama.middleware import ConfigurationError, CORSMiddleware

PREFLIGHT = [("origin", "https://a.example"), ("access-control-request-method", "POST")]


class TestCaseCORSMiddleware:
    async def test_no_origin_passes_through(self, app_factory, call_app, scope_factory):
        sent = await call_app(CORSMiddleware(app_factory(), allow_origins=["*"]), scope_factory())
        assert sent.headers == {"content-type": "text/plain"}
        assert sent.body == b"hello"

    @pytest.mark.parametrize(
        ("options", "origin", "expected"),
        [
            pytest.param({"allow_origins": ["*"]}, "https://x.example", {"access-control-allow-origin": "*"}, id="any"),
            pytest.param(
                {"allow_origins": ["https://a.example"]},
                "https://a.example",
                {"access-control-allow-origin": "https://a.example", "vary": "Origin"},
                id="exact",
            ),
            pytest.param(
                {"allow_origin_regex": r"https://[a-z]+\.example\.org"},
                "https://api.example.org",
                {"access-control-allow-origin": "https://api.example.org", "vary": "Origin"},
                id="regex",
            ),
            pytest.param(
                {"allow_origins": ["*"], "allow_credentials": True, "expose_headers": ["X-Total", "X-Page"]},
                "https://x.example",
                {
                    "access-control-allow-origin": "https://x.example",
                    "access-control-allow-credentials": "true",
                    "access-control-expose-headers": "X-Total, X-Page",
                    "vary": "Origin",
                },
                id="credentials-echo-origin",
            ),
            pytest.param({"allow_origins": ["https://a.example"]}, "https://evil.example", {"vary": "Origin"}, id="no"),
            pytest.param(
                {"allow_origin_regex": r"https://[a-z]+\.example\.org"},
                "https://api.example.org.evil.com",
                {"vary": "Origin"},
                id="regex-full-match",
            ),
        ],
    )
    async def test_simple_request(self, app_factory, call_app, scope_factory, options, origin, expected):
        sent = await call_app(CORSMiddleware(app_factory(), **options), scope_factory(headers=[("origin", origin)]))
        assert sent.status == 200
        assert sent.headers == {"content-type": "text/plain", **expected}
        assert sent.body == b"hello"

    async def test_vary_is_merged(self, app_factory, call_app, scope_factory):
        app = app_factory(headers=[("vary", "Accept-Encoding")])
        sent = await call_app(
            CORSMiddleware(app, allow_origins=["https://a.example"]),
            scope_factory(headers=[("origin", "https://a.example")]),
        )
        assert sent.headers["vary"] == "Accept-Encoding, Origin"

    async def test_preflight_allowed(self, app_factory, call_app, scope_factory):
        app = app_factory()
        middleware = CORSMiddleware(
            app,
            allow_origins=["https://a.example"],
            allow_methods=["GET", "POST"],
            allow_headers=["X-Token"],
            allow_credentials=True,
            max_age=60,
        )
        headers = [*PREFLIGHT, ("access-control-request-headers", "X-Token, Content-Type")]
        sent = await call_app(middleware, scope_factory("OPTIONS", headers=headers))
        assert sent.status == 200
        assert sent.headers == {
            "access-control-allow-origin": "https://a.example",
            "access-control-allow-credentials": "true",
            "access-control-allow-methods": "GET, POST",
            "access-control-max-age": "60",
            "access-control-allow-headers": "accept, accept-language, content-language, content-type, x-token",
            "vary": "Origin",
            "content-length": "0",
        }
        assert sent.body == b""
        assert app_factory.scopes == []

    async def test_preflight_any_headers_echoes_request(self, app_factory, call_app, scope_factory):
        middleware = CORSMiddleware(app_factory(), allow_origins=["*"], allow_methods=["*"], allow_headers=["*"])
        headers = [*PREFLIGHT, ("access-control-request-headers", "X-One,x-two")]
        sent = await call_app(middleware, scope_factory("OPTIONS", headers=headers))
        assert sent.status == 200
        assert sent.headers["access-control-allow-origin"] == "*"
        assert sent.headers["access-control-allow-methods"] == "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT"
        assert sent.headers["access-control-allow-headers"] == "x-one, x-two"
        assert "vary" not in sent.headers

    @pytest.mark.parametrize(
        ("headers", "detail"),
        [
            pytest.param(
                [("origin", "https://evil.example"), ("access-control-request-method", "GET")],
                "Disallowed CORS origin",
                id="origin",
            ),
            pytest.param(
                [("origin", "https://a.example"), ("access-control-request-method", "DELETE")],
                "Disallowed CORS method",
                id="method",
            ),
            pytest.param(
                [*PREFLIGHT[:1], ("access-control-request-method", "GET"), ("access-control-request-headers", "x-no")],
                "Disallowed CORS headers",
                id="headers",
            ),
            pytest.param(
                [("origin", "https://b.example"), ("access-control-request-method", "PUT")],
                "Disallowed CORS origin, method",
                id="several",
            ),
        ],
    )
    async def test_preflight_refused(self, app_factory, call_app, scope_factory, headers, detail):
        middleware = CORSMiddleware(app_factory(), allow_origins=["https://a.example"], allow_methods=["GET"])
        sent = await call_app(middleware, scope_factory("OPTIONS", headers=headers))
        assert sent.status == 400
        assert sent.headers["content-type"] == "application/json"
        assert sent.body == (b'{"detail":"' + detail.encode() + b'","error":"HTTPException","status_code":400}')

    async def test_options_without_request_method_reaches_app(self, app_factory, call_app, scope_factory):
        app = app_factory()
        sent = await call_app(
            CORSMiddleware(app, allow_origins=["*"]), scope_factory("OPTIONS", headers=[("origin", "https://a")])
        )
        assert sent.body == b"hello"
        assert sent.headers["access-control-allow-origin"] == "*"
        assert len(app_factory.scopes) == 1

    async def test_lifespan_passes_through(self, call_app):
        seen = []

        async def app(scope, receive, send):
            seen.append(scope["type"])

        await call_app(CORSMiddleware(app), {"type": "lifespan"})
        assert seen == ["lifespan"]

    @pytest.mark.parametrize(
        ("options", "message"),
        [
            pytest.param({"max_age": -1}, "max_age must be 0 or more, got -1", id="max-age"),
            pytest.param({"allow_origin_regex": "("}, "allow_origin_regex does not compile", id="regex"),
        ],
    )
    def test_configuration_errors(self, app_factory, options, message):
        with pytest.raises(ConfigurationError, match=message.replace("(", r"\(")):
            CORSMiddleware(app_factory(), **options)
