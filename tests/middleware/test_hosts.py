import pytest
from flama.middleware import ConfigurationError, HTTPSRedirectMiddleware, TrustedHostMiddleware

INVALID = b'{"detail":"Invalid host header","error":"HTTPException","status_code":400}'


class TestCaseTrustedHostMiddleware:
    @pytest.mark.parametrize(
        ("host", "allowed"),
        [
            pytest.param("example.com", True, id="exact"),
            pytest.param("EXAMPLE.com:8000", True, id="case-and-port"),
            pytest.param("api.example.org", True, id="wildcard"),
            pytest.param("a.b.example.org", True, id="wildcard-deep"),
            pytest.param("example.org", False, id="wildcard-not-bare"),
            pytest.param("badexample.org", False, id="wildcard-suffix-only"),
            pytest.param("[::1]:8000", True, id="ipv6"),
            pytest.param("evil.com", False, id="other"),
            pytest.param("", False, id="empty"),
        ],
    )
    async def test_hosts(self, app_factory, call_app, scope_factory, host, allowed):
        middleware = TrustedHostMiddleware(app_factory(), ["example.com", "*.example.org", "[::1]"])
        sent = await call_app(middleware, scope_factory(headers=[("host", host)]))
        if allowed:
            assert (sent.status, sent.body) == (200, b"hello")
        else:
            assert (sent.status, sent.body) == (400, INVALID)
            assert sent.headers["content-type"] == "application/json"

    async def test_missing_host_uses_server(self, app_factory, call_app, scope_factory):
        sent = await call_app(TrustedHostMiddleware(app_factory(), ["testserver"]), scope_factory())
        assert sent.body == b"hello"

    @pytest.mark.parametrize(
        ("options", "status", "location"),
        [
            pytest.param({}, 308, "http://www.example.com:8000/a%20b?x=1", id="default"),
            pytest.param({"redirect_status": 301}, 301, "http://www.example.com:8000/a%20b?x=1", id="status"),
        ],
    )
    async def test_www_redirect(self, app_factory, call_app, scope_factory, options, status, location):
        middleware = TrustedHostMiddleware(app_factory(), ["www.example.com"], **options)
        scope = scope_factory(path="/a b", query_string=b"x=1", headers=[("host", "example.com:8000")])
        sent = await call_app(middleware, scope)
        assert sent.status == status
        assert sent.headers == {"location": location, "content-length": "0"}

    async def test_www_redirect_disabled(self, app_factory, call_app, scope_factory):
        middleware = TrustedHostMiddleware(app_factory(), ["www.example.com"], www_redirect=False)
        sent = await call_app(middleware, scope_factory(headers=[("host", "example.com")]))
        assert sent.status == 400

    async def test_websocket_is_closed(self, app_factory, call_app, scope_factory):
        middleware = TrustedHostMiddleware(app_factory(), ["example.com"])
        sent = await call_app(middleware, scope_factory(type="websocket", scheme="ws", headers=[("host", "evil.com")]))
        assert sent.messages == [{"type": "websocket.close", "code": 1008, "reason": "Invalid host header"}]

    @pytest.mark.parametrize(
        ("options", "message"),
        [
            pytest.param({"allowed_hosts": ["api.*.com"]}, "A wildcard may only start a host name", id="middle"),
            pytest.param({"allowed_hosts": ["*example.com"]}, "A wildcard may only start a host name", id="no-dot"),
            pytest.param({"redirect_status": 200}, "redirect_status must be 301, 302, 307 or 308", id="status"),
        ],
    )
    def test_configuration_errors(self, app_factory, options, message):
        with pytest.raises(ConfigurationError, match=message):
            TrustedHostMiddleware(app_factory(), **options)


class TestCaseHTTPSRedirectMiddleware:
    @pytest.mark.parametrize(
        ("options", "host", "status", "location"),
        [
            pytest.param({}, "example.com", 307, "https://example.com/p?q=1", id="default"),
            pytest.param({}, "example.com:80", 307, "https://example.com/p?q=1", id="port-80-dropped"),
            pytest.param({}, "example.com:8080", 307, "https://example.com:8080/p?q=1", id="other-port-kept"),
            pytest.param({"status_code": 308}, "example.com", 308, "https://example.com/p?q=1", id="permanent"),
            pytest.param({"https_port": 8443}, "example.com:8080", 307, "https://example.com:8443/p?q=1", id="port"),
            pytest.param({"https_port": 443}, "example.com:8080", 307, "https://example.com/p?q=1", id="port-443"),
        ],
    )
    async def test_redirects_http(self, app_factory, call_app, scope_factory, options, host, status, location):
        middleware = HTTPSRedirectMiddleware(app_factory(), **options)
        sent = await call_app(middleware, scope_factory(path="/p", query_string=b"q=1", headers=[("host", host)]))
        assert sent.status == status
        assert sent.headers == {"location": location, "content-length": "0"}
        assert app_factory.scopes == []

    async def test_https_passes(self, app_factory, call_app, scope_factory):
        sent = await call_app(HTTPSRedirectMiddleware(app_factory()), scope_factory(scheme="https"))
        assert sent.body == b"hello"

    async def test_websocket_with_denial_extension(self, app_factory, call_app, scope_factory):
        scope = scope_factory(
            type="websocket",
            scheme="ws",
            path="/ws",
            headers=[("host", "h")],
            extensions={"websocket.http.response": {}},
        )
        sent = await call_app(HTTPSRedirectMiddleware(app_factory()), scope)
        assert sent.messages == [
            {
                "type": "websocket.http.response.start",
                "status": 307,
                "headers": [(b"location", b"wss://h/ws"), (b"content-length", b"0")],
            },
            {"type": "websocket.http.response.body", "body": b""},
        ]

    async def test_websocket_without_extension_is_closed(self, app_factory, call_app, scope_factory):
        scope = scope_factory(type="websocket", scheme="ws", path="/ws", headers=[("host", "h")])
        sent = await call_app(HTTPSRedirectMiddleware(app_factory()), scope)
        assert sent.messages == [{"type": "websocket.close", "code": 1008, "reason": "Use wss://h/ws"}]

    def test_configuration_error(self, app_factory):
        with pytest.raises(ConfigurationError, match="status_code must be 307 or 308, got 301"):
            HTTPSRedirectMiddleware(app_factory(), status_code=301)
