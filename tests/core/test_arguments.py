"""Arguments Rust cannot take (lone surrogates, integers out of range) raise the core's own typed error.

Issue 9, item 16: these used to escape as ``UnicodeEncodeError``, ``OverflowError`` or a bare ``ValueError``.
"""

from collections.abc import Callable
from typing import Any

import pytest
from flama.core import (
    Compressor,
    CoreError,
    Decompressor,
    InvalidArgumentError,
    MultipartParser,
    Router,
    build_set_cookie,
    compress,
    decompress,
    json_encode,
    negotiate_encoding,
    parse_boundary,
    parse_content_type,
    parse_cookies,
    parse_urlencoded,
    template_params,
)

SURROGATE = "\udc80"


def _router_match() -> Any:
    router = Router()
    router.add_route("/{name}")
    return router.match("http", "GET", f"/{SURROGATE}")


def _router_url() -> Any:
    router = Router()
    router.add_route("/{name}", name="item")
    return router.url_path_for(SURROGATE)


class TestCaseLoneSurrogates:
    @pytest.mark.parametrize(
        "call",
        [
            pytest.param(lambda: parse_cookies(f"a={SURROGATE}"), id="parse_cookies"),
            pytest.param(lambda: build_set_cookie(f"a{SURROGATE}", "v"), id="build_set_cookie-name"),
            pytest.param(lambda: build_set_cookie("a", SURROGATE), id="build_set_cookie-value"),
            pytest.param(lambda: build_set_cookie("a", "v", path=f"/{SURROGATE}"), id="build_set_cookie-path"),
            pytest.param(lambda: build_set_cookie("a", "v", domain=SURROGATE), id="build_set_cookie-domain"),
            pytest.param(lambda: build_set_cookie("a", "v", expires=SURROGATE), id="build_set_cookie-expires"),
            pytest.param(lambda: parse_content_type(f"text/plain; charset={SURROGATE}"), id="parse_content_type"),
            pytest.param(lambda: parse_boundary(f"multipart/form-data; boundary={SURROGATE}"), id="parse_boundary"),
            pytest.param(lambda: negotiate_encoding(f"gzip{SURROGATE}", ["gzip"]), id="negotiate-header"),
            pytest.param(lambda: negotiate_encoding("gzip", [SURROGATE]), id="negotiate-available"),
            pytest.param(lambda: template_params(f"/{SURROGATE}"), id="template_params"),
            pytest.param(lambda: Router().add_route(f"/{SURROGATE}"), id="router-add_route"),
            pytest.param(lambda: Router().add_route("/", methods=[SURROGATE]), id="router-methods"),
            pytest.param(lambda: Router().add_mount(f"/{SURROGATE}"), id="router-add_mount"),
            pytest.param(_router_match, id="router-match"),
            pytest.param(_router_url, id="router-url_path_for"),
            pytest.param(lambda: compress(b"x", SURROGATE), id="compress-encoding"),
            pytest.param(lambda: Decompressor(SURROGATE), id="decompressor-encoding"),
        ],
    )
    def test_typed_error(self, call: Callable[[], Any]) -> None:
        with pytest.raises(InvalidArgumentError, match="lone surrogate") as info:
            call()
        assert isinstance(info.value, CoreError)
        assert isinstance(info.value, ValueError)


class TestCaseIntegersOutOfRange:
    @pytest.mark.parametrize(
        ("call", "message"),
        [
            pytest.param(lambda: build_set_cookie("a", max_age=2**63), "out of range", id="max_age-2**63"),
            pytest.param(lambda: build_set_cookie("a", expires=-(2**80)), "out of range", id="expires-huge"),
            pytest.param(lambda: json_encode(1, indent=-1), "indent must be None or between 0", id="indent--1"),
            pytest.param(lambda: json_encode(1, indent=2**70), "out of range", id="indent-huge"),
            pytest.param(
                lambda: json_encode(1, non_finite="nan"),  # type: ignore[arg-type]
                "non_finite must be",
                id="non_finite",
            ),
            pytest.param(lambda: compress(b"x", "gzip", level=2**64), "out of range", id="level-huge"),
            pytest.param(lambda: Compressor("gzip", level=-(2**64)), "out of range", id="compressor-level"),
            pytest.param(lambda: decompress(b"x", "gzip", max_size=-1), "out of range", id="max_size-negative"),
            pytest.param(lambda: parse_urlencoded(b"a=1", max_fields=-1), "out of range", id="max_fields-negative"),
            pytest.param(lambda: MultipartParser(b"b", max_header_size=-1), "out of range", id="max_header_size"),
        ],
    )
    def test_typed_error(self, call: Callable[[], Any], message: str) -> None:
        with pytest.raises(InvalidArgumentError, match=message):
            call()

    def test_huge_int_is_not_echoed_whole(self) -> None:
        with pytest.raises(InvalidArgumentError) as info:
            build_set_cookie("a", max_age=10**5000)
        assert len(str(info.value)) < 100

    def test_int_beyond_python_digit_limit_is_a_typed_encode_error(self) -> None:
        from flama.core import JSONEncodeError

        with pytest.raises(JSONEncodeError, match=r"\$\[0\]: integer has more digits"):
            json_encode([10**5000])
