import random
import re
from datetime import datetime, timedelta, timezone
from email.utils import formatdate
from typing import Any

import pytest
from flama.core import build_set_cookie, negotiate_encoding, parse_content_type, parse_cookies


class TestCaseParseCookies:
    @pytest.mark.parametrize(
        ("header", "expected"),
        [
            pytest.param("", {}, id="empty"),
            pytest.param("a=1", {"a": "1"}, id="one"),
            pytest.param("a=1; b=2;c=3", {"a": "1", "b": "2", "c": "3"}, id="several"),
            pytest.param("  a = 1 ;\tb=2 ", {"a": "1", "b": "2"}, id="whitespace-trimmed"),
            pytest.param('a="x y"', {"a": "x y"}, id="quotes-removed"),
            pytest.param('a=""', {"a": ""}, id="empty-quoted"),
            pytest.param('a="', {"a": '"'}, id="lone-quote-kept"),
            pytest.param('a="x', {"a": '"x'}, id="unterminated-quote-kept"),
            pytest.param("a=", {"a": ""}, id="empty-value"),
            pytest.param("k=v=w", {"k": "v=w"}, id="split-at-first-equals"),
            pytest.param("a=1; a=2", {"a": "1"}, id="first-duplicate-wins"),
            pytest.param("=3; junk; ;;; b=2", {"b": "2"}, id="malformed-pieces-skipped"),
            pytest.param("A=1; a=2", {"A": "1", "a": "2"}, id="names-case-sensitive"),
            pytest.param("t=caf\u00e9", {"t": "caf\u00e9"}, id="non-ascii-kept"),
            pytest.param("a=1,b=2", {"a": "1,b=2"}, id="comma-is-not-a-separator"),
        ],
    )
    def test_parse(self, header, expected):
        assert parse_cookies(header) == expected

    def test_order_is_kept(self):
        assert list(parse_cookies("z=1; a=2; m=3")) == ["z", "a", "m"]


class TestCaseBuildSetCookie:
    @pytest.mark.parametrize(
        ("args", "kwargs", "expected"),
        [
            pytest.param(("sid", "abc"), {}, "sid=abc; Path=/; SameSite=Lax", id="defaults"),
            pytest.param(("sid",), {}, "sid=; Path=/; SameSite=Lax", id="empty-value"),
            pytest.param(("sid", '"quoted"'), {}, 'sid="quoted"; Path=/; SameSite=Lax', id="quoted-value"),
            pytest.param(
                ("sid", "abc"),
                {
                    "max_age": 60,
                    "expires": 0,
                    "path": None,
                    "domain": "example.com",
                    "secure": True,
                    "httponly": True,
                    "samesite": "none",
                    "partitioned": True,
                },
                "sid=abc; Expires=Thu, 01 Jan 1970 00:00:00 GMT; Max-Age=60; Domain=example.com; Secure; HttpOnly; "
                "SameSite=None; Partitioned",
                id="every-attribute",
            ),
            pytest.param(("a", "b"), {"max_age": 0}, "a=b; Max-Age=0; Path=/; SameSite=Lax", id="max-age-zero"),
            pytest.param(("a", "b"), {"max_age": -1}, "a=b; Max-Age=-1; Path=/; SameSite=Lax", id="max-age-negative"),
            pytest.param(("a", "b"), {"samesite": None}, "a=b; Path=/", id="no-samesite"),
            pytest.param(("a", "b"), {"samesite": "STRICT"}, "a=b; Path=/; SameSite=Strict", id="samesite-case"),
            pytest.param(("a", "b"), {"path": "/app"}, "a=b; Path=/app; SameSite=Lax", id="path"),
            pytest.param(
                ("a", "b"),
                {"expires": 784111777},
                "a=b; Expires=Sun, 06 Nov 1994 08:49:37 GMT; Path=/; SameSite=Lax",
                id="expires-int",
            ),
            pytest.param(
                ("a", "b"),
                {"expires": -1},
                "a=b; Expires=Wed, 31 Dec 1969 23:59:59 GMT; Path=/; SameSite=Lax",
                id="expires-before-epoch",
            ),
            pytest.param(
                ("a", "b"),
                {"expires": -62135596800},
                "a=b; Expires=Mon, 01 Jan 0001 00:00:00 GMT; Path=/; SameSite=Lax",
                id="expires-year-1",
            ),
            pytest.param(
                ("a", "b"),
                {"expires": 253402300799},
                "a=b; Expires=Fri, 31 Dec 9999 23:59:59 GMT; Path=/; SameSite=Lax",
                id="expires-year-9999",
            ),
            pytest.param(
                ("a", "b"),
                {"expires": datetime(2024, 1, 2, 3, 4, 5)},  # naive: read as UTC
                "a=b; Expires=Tue, 02 Jan 2024 03:04:05 GMT; Path=/; SameSite=Lax",
                id="expires-naive-datetime",
            ),
            pytest.param(
                ("a", "b"),
                {"expires": datetime(2024, 1, 2, 3, 4, 5, 999999, tzinfo=timezone(timedelta(hours=2)))},
                "a=b; Expires=Tue, 02 Jan 2024 01:04:05 GMT; Path=/; SameSite=Lax",
                id="expires-aware-datetime",
            ),
            pytest.param(
                ("a", "b"),
                {"expires": "Wed, 21 Oct 2015 07:28:00 GMT"},
                "a=b; Expires=Wed, 21 Oct 2015 07:28:00 GMT; Path=/; SameSite=Lax",
                id="expires-text",
            ),
        ],
    )
    def test_build(self, args, kwargs, expected):
        assert build_set_cookie(*args, **kwargs) == expected

    def test_expires_matches_the_standard_library(self):
        rng = random.Random(99)
        for seconds in [0, 86399, 86400, 951782400, 4107542400, *(rng.randrange(0, 253402300800) for _ in range(500))]:
            header = build_set_cookie("a", expires=seconds, path=None, samesite=None)
            assert header == f"a=; Expires={formatdate(seconds, usegmt=True)}", seconds

    @pytest.mark.parametrize(
        ("args", "kwargs", "message"),
        [
            pytest.param(("",), {}, 'invalid cookie name "": it must be a non-empty RFC 6265 token', id="empty-name"),
            pytest.param(
                ("a b",), {}, 'invalid cookie name "a b": it must be a non-empty RFC 6265 token', id="name-space"
            ),
            pytest.param(
                ("a=b",), {}, 'invalid cookie name "a=b": it must be a non-empty RFC 6265 token', id="name-equals"
            ),
            pytest.param(
                ("a", "x;y"),
                {},
                "invalid cookie value \"x;y\": only visible ASCII without whitespace, '\"', ',', ';' and '\\' is "
                "allowed (encode the value first)",
                id="value-semicolon",
            ),
            pytest.param(
                ("a", "x\r\nSet-Cookie: b=c"),
                {},
                "invalid cookie value \"x\\r\\nSet-Cookie: b=c\": only visible ASCII without whitespace, '\"', ',', "
                "';' and '\\' is allowed (encode the value first)",
                id="value-injection",
            ),
            pytest.param(
                ("a", "caf\u00e9"),
                {},
                "invalid cookie value \"caf\u00e9\": only visible ASCII without whitespace, '\"', ',', ';' and '\\' "
                "is allowed (encode the value first)",
                id="value-non-ascii",
            ),
            pytest.param(("a",), {"samesite": "none"}, "samesite='none' requires secure=True", id="none-not-secure"),
            pytest.param(("a",), {"partitioned": True}, "partitioned=True requires secure=True", id="partitioned"),
            pytest.param(
                ("a",),
                {"samesite": "bogus"},
                "samesite must be 'lax', 'strict' or 'none', got \"bogus\"",
                id="samesite",
            ),
            pytest.param(
                ("a",),
                {"path": "/x;y"},
                "invalid cookie path \"/x;y\": ';' and control characters are not allowed",
                id="path-semicolon",
            ),
            pytest.param(
                ("a",),
                {"domain": "a.com\nX: y"},
                "invalid cookie domain \"a.com\\nX: y\": ';' and control characters are not allowed",
                id="domain-newline",
            ),
            pytest.param(("a",), {"domain": ""}, "cookie domain must not be empty", id="domain-empty"),
            pytest.param(("a",), {"path": ""}, "cookie path must not be empty", id="path-empty"),
            pytest.param(
                ("a",),
                {"expires": "tomorrow; Domain=evil"},
                "invalid cookie expires \"tomorrow; Domain=evil\": ';' and control characters are not allowed",
                id="expires-injection",
            ),
            pytest.param(
                ("a",),
                {"expires": 10**15},
                "expires timestamp 1000000000000000 is outside the years 1 to 9999",
                id="expires-too-late",
            ),
            pytest.param(
                ("a",),
                {"expires": -62135596801},
                "expires timestamp -62135596801 is outside the years 1 to 9999",
                id="expires-too-early",
            ),
        ],
    )
    def test_invalid(self, args, kwargs, message):
        with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
            build_set_cookie(*args, **kwargs)

    @pytest.mark.parametrize(
        ("expires", "message"),
        [
            pytest.param(1.5, "expires must be a datetime, a str or an int timestamp, not float", id="float"),
            pytest.param(True, "expires must be a datetime, a str or an int timestamp, not bool", id="bool"),
            pytest.param(b"x", "expires must be a datetime, a str or an int timestamp, not bytes", id="bytes"),
        ],
    )
    def test_expires_type(self, expires, message):
        with pytest.raises(TypeError, match=re.escape(message)):
            build_set_cookie("a", expires=expires)


class TestCaseParseContentType:
    @pytest.mark.parametrize(
        ("value", "expected"),
        [
            pytest.param("", ("", {}), id="empty"),
            pytest.param("application/json", ("application/json", {}), id="bare"),
            pytest.param("Text/HTML; Charset=UTF-8", ("text/html", {"charset": "UTF-8"}), id="case"),
            pytest.param(
                ' multipart/form-data ; boundary="a\\"b;c" ; x=1',
                ("multipart/form-data", {"boundary": 'a"b;c', "x": "1"}),
                id="quoted-escape-and-semicolon",
            ),
            pytest.param("a/b;x=1;y=2", ("a/b", {"x": "1", "y": "2"}), id="no-spaces"),
            pytest.param("a/b; x = 1", ("a/b", {"x": "1"}), id="spaces-around-equals"),
            pytest.param("a/b; x=1; X=2", ("a/b", {"x": "1"}), id="first-duplicate-wins"),
            pytest.param("a/b; noval; =x; y=; k=v", ("a/b", {"k": "v"}), id="malformed-skipped"),
            pytest.param('a/b; z="unterminated', ("a/b", {}), id="unterminated-quote"),
            pytest.param('a/b;x="q"junk;y=2', ("a/b", {"x": "q", "y": "2"}), id="junk-after-quote"),
            pytest.param('a/b; x=""', ("a/b", {"x": ""}), id="empty-quoted"),
            pytest.param("a/b;;;", ("a/b", {}), id="empty-parameters"),
        ],
    )
    def test_parse(self, value, expected):
        assert parse_content_type(value) == expected


ENCODINGS = ["br", "gzip", "zstd"]


class TestCaseNegotiateEncoding:
    @pytest.mark.parametrize(
        ("header", "expected"),
        [
            pytest.param("", "identity", id="empty"),
            pytest.param("gzip", "gzip", id="one"),
            pytest.param("gzip, br", "br", id="tie-server-preference"),
            pytest.param("zstd, gzip", "gzip", id="tie-server-preference-2"),
            pytest.param("gzip;q=0.5, br;q=0.8", "br", id="q-values"),
            pytest.param("gzip;q=0.9, br;q=0.8", "gzip", id="q-beats-preference"),
            pytest.param("GZIP;Q=0.5", "gzip", id="case-insensitive"),
            pytest.param("x-gzip", "gzip", id="x-gzip"),
            pytest.param("gzip ; q=0.5 , br ; q=0.4", "gzip", id="whitespace"),
            pytest.param("*", "br", id="star"),
            pytest.param("gzip;q=0.5, *;q=0.9", "br", id="star-beats-explicit"),
            pytest.param("br;q=0, *", "gzip", id="star-but-refused"),
            pytest.param("*;q=0", None, id="star-refused"),
            pytest.param("identity", "identity", id="identity"),
            pytest.param("identity;q=0", None, id="identity-refused"),
            pytest.param("identity;q=0, *;q=0", None, id="all-refused"),
            pytest.param("identity;q=0.5, *;q=0", "identity", id="star-zero-identity-explicit"),
            pytest.param("gzip;q=0.5, identity", "identity", id="identity-higher"),
            pytest.param("gzip, identity", "gzip", id="identity-tie-loses"),
            pytest.param("gzip;q=0.5, identity;q=0.5", "gzip", id="identity-equal-loses"),
            pytest.param("deflate", "identity", id="nothing-offered"),
            pytest.param("deflate, identity;q=0", None, id="nothing-offered-identity-refused"),
            pytest.param("gzip, gzip;q=0", "gzip", id="first-duplicate-wins"),
            pytest.param("gzip;q=0, gzip", "identity", id="first-duplicate-refuses"),
            pytest.param("gzip;q=1.000", "gzip", id="q-three-decimals"),
            pytest.param("gzip;q=0.001, br;q=0", "gzip", id="q-smallest"),
            pytest.param("gzip;q=1.5", "identity", id="q-above-one-ignored"),
            pytest.param("gzip;q=0.1234", "identity", id="q-four-decimals-ignored"),
            pytest.param("gzip;q=abc, br", "br", id="q-garbage-ignored"),
            pytest.param("gzip;q=", "identity", id="q-empty-ignored"),
            pytest.param("gzip;q=-0.5", "identity", id="q-negative-ignored"),
            pytest.param("gzip;level=9", "gzip", id="other-parameter"),
            pytest.param(",,;,", "identity", id="only-separators"),
        ],
    )
    def test_negotiate(self, header, expected):
        assert negotiate_encoding(header, ENCODINGS) == expected

    @pytest.mark.parametrize(
        ("header", "available", "expected"),
        [
            pytest.param("gzip, br", [], "identity", id="nothing-available"),
            pytest.param("identity;q=0", [], None, id="nothing-available-identity-refused"),
            pytest.param("gzip, br", ("gzip", "br"), "gzip", id="tuple-order"),
            pytest.param("x-gzip", ["GZIP"], "GZIP", id="returns-server-spelling"),
        ],
    )
    def test_available(self, header, available, expected):
        assert negotiate_encoding(header, available) == expected

    @pytest.mark.parametrize("available", [pytest.param("gzip", id="str"), pytest.param([1], id="ints")])
    def test_available_type(self, available: Any):
        with pytest.raises(TypeError):
            negotiate_encoding("gzip", available)


class TestCaseInvalidArgumentIsACoreError:
    def test_bad_cookie_value_raises_core_error(self):
        from flama.core import CoreError, InvalidArgumentError, build_set_cookie

        with pytest.raises(InvalidArgumentError) as caught:
            build_set_cookie("name", "bad\nvalue")
        assert isinstance(caught.value, CoreError)
        assert isinstance(caught.value, ValueError)
