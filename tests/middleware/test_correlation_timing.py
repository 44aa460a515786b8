import re

import pytest
from flama.middleware import ConfigurationError, CorrelationIdMiddleware, TimingMiddleware


class TestCaseCorrelationIdMiddleware:
    @pytest.mark.parametrize(
        ("incoming", "kept"),
        [
            pytest.param("abc-123_x.y:z", True, id="valid"),
            pytest.param("a" * 128, True, id="longest"),
            pytest.param("a" * 129, False, id="too-long"),
            pytest.param("bad id", False, id="space"),
            pytest.param('x"y', False, id="quote"),
            pytest.param("", False, id="empty"),
        ],
    )
    async def test_incoming_id(self, app_factory, call_app, scope_factory, incoming, kept):
        sent = await call_app(
            CorrelationIdMiddleware(app_factory()), scope_factory(headers=[("x-request-id", incoming)])
        )
        state_id = app_factory.scopes[0]["state"]["correlation_id"]
        assert sent.headers["x-request-id"] == state_id
        if kept:
            assert state_id == incoming
        else:
            assert re.fullmatch("[0-9a-f]{32}", state_id)

    async def test_generated_when_absent(self, app_factory, call_app, scope_factory):
        middleware = CorrelationIdMiddleware(
            app_factory(), header_name="X-Correlation-ID", state_key="cid", generator=lambda: "fixed"
        )
        sent = await call_app(middleware, scope_factory(state={"other": 1}))
        assert app_factory.scopes[0]["state"] == {"other": 1, "cid": "fixed"}
        assert sent.headers["x-correlation-id"] == "fixed"

    async def test_app_header_is_kept(self, app_factory, call_app, scope_factory):
        app = app_factory(headers=[("x-request-id", "from-app")])
        sent = await call_app(CorrelationIdMiddleware(app), scope_factory(headers=[("x-request-id", "in")]))
        assert sent.raw_headers == [(b"x-request-id", b"from-app")]

    async def test_websocket_gets_state(self, app_factory, call_app, scope_factory):
        seen = []

        async def app(scope, receive, send):
            seen.append(scope["state"]["correlation_id"])

        await call_app(CorrelationIdMiddleware(app), scope_factory(type="websocket", headers=[("x-request-id", "w")]))
        assert seen == ["w"]

    @pytest.mark.parametrize(
        ("options", "message"),
        [
            pytest.param({"header_name": "X Request"}, "Not a valid header name: 'X Request'", id="header"),
            pytest.param({"max_length": 0}, "max_length must be 1 or more, got 0", id="length"),
        ],
    )
    def test_configuration_errors(self, app_factory, options, message):
        with pytest.raises(ConfigurationError, match=message):
            CorrelationIdMiddleware(app_factory(), **options)


class TestCaseTimingMiddleware:
    async def test_server_timing(self, app_factory, call_app, scope_factory):
        app = app_factory(headers=[("server-timing", "db;dur=1")])
        sent = await call_app(TimingMiddleware(app), scope_factory())
        assert sent.raw_headers[0] == (b"server-timing", b"db;dur=1")
        name, value = sent.raw_headers[1]
        assert name == b"server-timing"
        assert re.fullmatch(rb"app;dur=\d+\.\d{3}", value)

    async def test_name_and_description(self, app_factory, call_app, scope_factory):
        sent = await call_app(
            TimingMiddleware(app_factory(), metric_name="total", description='a "b"'), scope_factory()
        )
        assert re.fullmatch(r'total;dur=\d+\.\d{3};desc="a \\"b\\""', sent.headers["server-timing"])

    def test_configuration_error(self, app_factory):
        with pytest.raises(ConfigurationError, match="Not a valid metric name: 'a b'"):
            TimingMiddleware(app_factory(), metric_name="a b")
