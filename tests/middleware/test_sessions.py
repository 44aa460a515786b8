import time
from collections.abc import Callable
from typing import Any

import pytest
from flama.core import parse_cookies
from flama.http import Request
from flama.http.types import ASGIApp
from flama.middleware import ConfigurationError, SessionMiddleware, SessionSigner

from tests.http.conftest import Sent

SECRET = "a-long-and-secret-test-key-0123456789"


def session_app(update: Callable[[dict[str, Any]], object]) -> ASGIApp:
    async def app(scope, receive, send):
        seen = dict(scope["session"])
        update(scope["session"])
        body = repr(sorted(seen.items())).encode()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
        await send({"type": "http.response.body", "body": body})

    return app


def cookie_of(sent: Sent) -> str:
    return parse_cookies(sent.headers["set-cookie"].split(";", 1)[0])["session"]


class TestCaseSessionSigner:
    def test_round_trip(self):
        signer = SessionSigner(SECRET)
        assert signer.unsign(signer.sign({"user": 1, "name": "é"})) == {"user": 1, "name": "é"}

    @pytest.mark.parametrize(
        "mangle",
        [
            pytest.param(lambda value: "x" + value, id="payload"),
            pytest.param(lambda value: value[:-2] + ("AA" if value[-2:] != "AA" else "BB"), id="signature"),
            pytest.param(lambda value: value.replace(".", "", 1), id="structure"),
            pytest.param(lambda value: "", id="empty"),
            pytest.param(lambda value: "not-base64!.x.y", id="garbage"),
        ],
    )
    def test_tampering(self, mangle):
        signer = SessionSigner(SECRET)
        assert signer.unsign(mangle(signer.sign({"user": 1}))) is None

    def test_other_secret(self):
        assert SessionSigner("other-secret").unsign(SessionSigner(SECRET).sign({"user": 1})) is None

    def test_max_age(self):
        signer = SessionSigner(SECRET)
        value = signer.sign({"user": 1}, now=1000)
        assert signer.unsign(value, max_age=60, now=1060) == {"user": 1}
        assert signer.unsign(value, max_age=60, now=1061) is None
        assert signer.unsign(value, now=time.time()) == {"user": 1}

    def test_signed_non_dict_is_refused(self):
        signer = SessionSigner(SECRET)
        assert signer.unsign(signer.sign([1, 2])) is None  # type: ignore[arg-type]

    def test_empty_secret(self):
        with pytest.raises(ConfigurationError, match="The session secret key must not be empty"):
            SessionSigner(b"")


class TestCaseSessionMiddleware:
    async def test_new_session_sets_cookie(self, call_app, scope_factory):
        middleware = SessionMiddleware(session_app(lambda session: session.update(user=7)), SECRET, max_age=100)
        sent = await call_app(middleware, scope_factory())
        assert sent.body == b"[]"
        header = sent.headers["set-cookie"]
        assert header.startswith("session=")
        assert header.endswith("; Max-Age=100; Path=/; HttpOnly; SameSite=Lax")
        assert SessionSigner(SECRET).unsign(cookie_of(sent)) == {"user": 7}

    async def test_cookie_is_read_back(self, call_app, scope_factory):
        value = SessionSigner(SECRET).sign({"user": 7})
        middleware = SessionMiddleware(session_app(lambda session: None), SECRET, cookie_name="sid")
        sent = await call_app(middleware, scope_factory(headers=[("cookie", f"a=b; sid={value}")]))
        assert sent.body == b"[('user', 7)]"
        assert sent.headers["set-cookie"].startswith("sid=")

    async def test_tampered_cookie_gives_empty_session_and_is_cleared(self, call_app, scope_factory):
        value = SessionSigner("another-secret").sign({"admin": True})
        middleware = SessionMiddleware(session_app(lambda session: None), SECRET)
        sent = await call_app(middleware, scope_factory(headers=[("cookie", f"session={value}")]))
        assert sent.body == b"[]"
        assert sent.headers["set-cookie"] == (
            "session=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0; Path=/; HttpOnly; SameSite=Lax"
        )

    async def test_expired_cookie_gives_empty_session(self, call_app, scope_factory):
        value = SessionSigner(SECRET).sign({"user": 1}, now=time.time() - 120)
        middleware = SessionMiddleware(session_app(lambda session: None), SECRET, max_age=60)
        sent = await call_app(middleware, scope_factory(headers=[("cookie", f"session={value}")]))
        assert sent.body == b"[]"

    async def test_cleared_session_deletes_cookie(self, call_app, scope_factory):
        value = SessionSigner(SECRET).sign({"user": 1})
        middleware = SessionMiddleware(session_app(lambda session: session.clear()), SECRET)
        sent = await call_app(middleware, scope_factory(headers=[("cookie", f"session={value}")]))
        assert sent.body == b"[('user', 1)]"
        assert sent.headers["set-cookie"].startswith("session=; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=0;")

    async def test_no_session_no_cookie(self, call_app, scope_factory):
        sent = await call_app(SessionMiddleware(session_app(lambda session: None), SECRET), scope_factory())
        assert "set-cookie" not in sent.headers

    async def test_cookie_options(self, call_app, scope_factory):
        middleware = SessionMiddleware(
            session_app(lambda session: session.update(a=1)),
            SECRET,
            max_age=None,
            path="/app",
            domain="example.com",
            same_site="none",
            https_only=True,
        )
        sent = await call_app(middleware, scope_factory())
        assert sent.headers["set-cookie"].split("; ", 1)[1] == (
            "Domain=example.com; Path=/app; Secure; HttpOnly; SameSite=None"
        )

    async def test_websocket_reads_session(self, call_app, scope_factory):
        seen = []

        async def app(scope, receive, send):
            seen.append(scope["session"])

        value = SessionSigner(SECRET).sign({"user": 3})
        scope = scope_factory(type="websocket", scheme="ws", headers=[("cookie", f"session={value}")])
        sent = await call_app(SessionMiddleware(app, SECRET), scope)
        assert seen == [{"user": 3}]
        assert sent.messages == []

    @pytest.mark.parametrize(
        ("options", "message"),
        [
            pytest.param({"max_age": 0}, "max_age must be positive or None, got 0", id="max-age"),
            pytest.param({"same_site": "none"}, "same_site='none' needs https_only=True", id="same-site"),
        ],
    )
    def test_configuration_errors(self, options, message):
        with pytest.raises(ConfigurationError, match=message):
            SessionMiddleware(session_app(lambda session: None), SECRET, **options)


class TestCaseSessionHardening:
    """Issue 9, item 13: replay ends at max_age on the server, oversize sessions fail loudly, every Cookie counts."""

    async def test_replay_ends_at_max_age(self, call_app, scope_factory):
        signer = SessionSigner(SECRET)
        app = SessionMiddleware(session_app(lambda session: None), SECRET, max_age=60)
        fresh = signer.sign({"user": 1}, now=time.time() - 59)
        stale = signer.sign({"user": 1}, now=time.time() - 61)

        accepted = await call_app(app, scope_factory(headers=[("cookie", f"session={fresh}")]))
        replayed = await call_app(app, scope_factory(headers=[("cookie", f"session={stale}")]))

        assert accepted.body == b"[('user', 1)]"
        # The browser would have dropped it already; a replayed copy is refused by the server all the same.
        assert replayed.body == b"[]"

    async def test_oversize_session_raises(self, call_app, caplog):
        from flama.middleware import SessionTooLarge

        app = SessionMiddleware(session_app(lambda session: session.update(blob="x" * 8000)), SECRET)

        with pytest.raises(SessionTooLarge, match=r"max_cookie_size \(4096\)"):
            await call_app(app)
        assert "exceeds max_cookie_size" in caplog.text

    async def test_oversize_session_is_a_500_in_flama(self, call_app):
        from flama.http import Flama
        from flama.http.applications import Middleware

        flama = Flama(middleware=[Middleware(SessionMiddleware, secret_key=SECRET)], schema=None, docs=None)

        @flama.route("/")
        async def big(request: Request) -> dict[str, int]:
            request.scope["session"]["blob"] = "x" * 8000
            return {"ok": 1}

        sent = await call_app(flama)

        assert sent.status == 500
        assert b"set-cookie" not in dict(sent.raw_headers)

    async def test_max_cookie_size_is_configurable(self, call_app):
        app = SessionMiddleware(
            session_app(lambda session: session.update(blob="x" * 8000)), SECRET, max_cookie_size=16384
        )

        sent = await call_app(app)

        assert len(cookie_of(sent)) > 8000

    async def test_every_cookie_header_is_read(self, call_app, scope_factory):
        value = SessionSigner(SECRET).sign({"user": 2})
        app = SessionMiddleware(session_app(lambda session: None), SECRET)
        headers = [("cookie", "theme=dark"), ("cookie", f"session={value}")]

        sent = await call_app(app, scope_factory(headers=headers))

        assert sent.body == b"[('user', 2)]"

    def test_invalid_max_cookie_size(self):
        with pytest.raises(ConfigurationError, match="max_cookie_size"):
            SessionMiddleware(session_app(lambda session: None), SECRET, max_cookie_size=0)
