import pytest
from flama.http.datastructures import URL, Address, Headers, MutableHeaders, QueryParams, State


class TestCaseHeaders:
    def test_lookup_is_case_insensitive_and_first_value_wins(self) -> None:
        headers = Headers(raw=[(b"accept", b"a"), (b"x-many", b"1"), (b"x-many", b"2")])
        assert headers["Accept"] == "a"
        assert headers["X-MANY"] == "1"
        assert headers.getlist("x-many") == ["1", "2"]
        assert headers.get("missing") is None
        assert "x-Many" in headers
        assert 3 not in headers  # type: ignore[comparison-overlap]

    def test_views(self) -> None:
        headers = Headers(raw=[(b"a", b"1"), (b"b", b"2"), (b"a", b"3")])
        assert list(headers) == ["a", "b"]
        assert len(headers) == 2
        assert dict(headers.items()) == {"a": "1", "b": "2"}
        assert headers.multi_items() == [("a", "1"), ("b", "2"), ("a", "3")]
        assert headers.raw == [(b"a", b"1"), (b"b", b"2"), (b"a", b"3")]
        assert repr(headers) == "Headers([('a', '1'), ('b', '2'), ('a', '3')])"

    def test_from_mapping_and_scope(self) -> None:
        assert Headers({"Content-Type": "text/plain"}).raw == [(b"content-type", b"text/plain")]
        raw = [(b"host", b"example.com")]
        assert Headers(scope={"headers": raw})["host"] == "example.com"
        assert Headers().raw == []

    def test_missing_raises_key_error(self) -> None:
        with pytest.raises(KeyError, match="nope"):
            Headers()["nope"]

    def test_equality_ignores_order(self) -> None:
        assert Headers(raw=[(b"a", b"1"), (b"b", b"2")]) == Headers(raw=[(b"b", b"2"), (b"a", b"1")])
        assert Headers(raw=[(b"a", b"1")]) != Headers(raw=[(b"a", b"2")])


class TestCaseMutableHeaders:
    def test_set_replaces_every_value(self) -> None:
        raw = [(b"a", b"1"), (b"b", b"2"), (b"a", b"3")]
        headers = MutableHeaders(raw=raw)
        headers["A"] = "9"
        assert raw == [(b"a", b"9"), (b"b", b"2")]
        headers["c"] = "new"
        assert raw[-1] == (b"c", b"new")

    def test_delete_and_append(self) -> None:
        headers = MutableHeaders({"a": "1"})
        headers.append("Set-Cookie", "x=1")
        headers.append("set-cookie", "y=2")
        assert headers.getlist("set-cookie") == ["x=1", "y=2"]
        del headers["set-cookie"]
        assert headers.raw == [(b"a", b"1")]
        with pytest.raises(KeyError):
            del headers["set-cookie"]

    def test_mutable_mapping_helpers(self) -> None:
        headers = MutableHeaders()
        assert headers.setdefault("x", "1") == "1"
        assert headers.setdefault("x", "2") == "1"
        headers.update({"y": "2"})
        assert headers.raw == [(b"x", b"1"), (b"y", b"2")]

    def test_copies_an_immutable_scope_list(self) -> None:
        scope = {"headers": ((b"a", b"1"),)}
        headers = MutableHeaders(scope=scope)
        headers["a"] = "2"
        assert scope["headers"] == ((b"a", b"1"),)

    @pytest.mark.parametrize(
        ("existing", "added", "expected"),
        [
            pytest.param(None, "Accept-Encoding", "Accept-Encoding", id="new"),
            pytest.param("Origin", "Accept-Encoding", "Origin, Accept-Encoding", id="appended"),
            pytest.param("origin, accept-encoding", "Accept-Encoding", "origin, accept-encoding", id="present"),
        ],
    )
    def test_add_vary_header(self, existing: str | None, added: str, expected: str) -> None:
        headers = MutableHeaders({"vary": existing} if existing else None)
        headers.add_vary_header(added)
        assert headers["vary"] == expected


class TestCaseQueryParams:
    @pytest.mark.parametrize(
        "params",
        [
            pytest.param("a=1&b=2&a=3&empty=", id="str"),
            pytest.param(b"a=1&b=2&a=3&empty=", id="bytes"),
            pytest.param([("a", "1"), ("b", "2"), ("a", "3"), ("empty", "")], id="pairs"),
        ],
    )
    def test_multi_valued_in_order(self, params: str | bytes | list[tuple[str, str]]) -> None:
        query = QueryParams(params)
        assert query["a"] == "1"
        assert query.getlist("a") == ["1", "3"]
        assert query["empty"] == ""
        assert list(query) == ["a", "b", "empty"]
        assert query.multi_items() == [("a", "1"), ("b", "2"), ("a", "3"), ("empty", "")]
        assert str(query) == "a=1&b=2&a=3&empty="

    def test_decoding_and_mapping(self) -> None:
        assert QueryParams("q=hello+world%21")["q"] == "hello world!"
        assert QueryParams({"x": "1"}) == QueryParams("x=1")
        assert len(QueryParams()) == 0
        assert repr(QueryParams("a=1")) == "QueryParams('a=1')"


class TestCaseURL:
    def test_components(self) -> None:
        url = URL("https://user:pw@Example.com:8443/a/b?x=1#frag")
        assert (url.scheme, url.netloc, url.path, url.query, url.fragment) == (
            "https",
            "user:pw@Example.com:8443",
            "/a/b",
            "x=1",
            "frag",
        )
        assert (url.hostname, url.port, url.username, url.password) == ("example.com", 8443, "user", "pw")
        assert url.is_secure
        assert url == "https://user:pw@Example.com:8443/a/b?x=1#frag"

    @pytest.mark.parametrize(
        ("scope", "expected"),
        [
            pytest.param(
                {"scheme": "http", "server": ("10.0.0.1", 8000), "path": "/p", "query_string": b"a=1", "headers": []},
                "http://10.0.0.1:8000/p?a=1",
                id="server",
            ),
            pytest.param(
                {"scheme": "https", "server": ("h", 443), "path": "/p", "query_string": b"", "headers": []},
                "https://h/p",
                id="default-port",
            ),
            pytest.param(
                {"scheme": "http", "path": "/a b", "headers": [(b"host", b"example.com")]},
                "http://example.com/a%20b",
                id="host-header",
            ),
            pytest.param(
                {"scheme": "http", "path": "/x", "root_path": "/api", "headers": [(b"host", b"h")]},
                "http://h/api/x",
                id="root-path-prefixed",
            ),
            pytest.param(
                {"scheme": "http", "path": "/api/x", "root_path": "/api", "headers": [(b"host", b"h")]},
                "http://h/api/x",
                id="root-path-included",
            ),
            pytest.param({"path": "/only", "headers": []}, "/only", id="no-host"),
        ],
    )
    def test_from_scope(self, scope: dict[str, object], expected: str) -> None:
        assert str(URL(scope=scope)) == expected

    def test_replace(self) -> None:
        url = URL("http://user@example.com:8000/a?x=1")
        assert url.replace(scheme="https", path="/b") == "https://user@example.com:8000/b?x=1"
        assert url.replace(port=None) == "http://user@example.com/a?x=1"
        assert url.replace(hostname="other", port=1) == "http://user@other:1/a?x=1"
        assert URL("http://h/").replace(hostname="::1") == "http://[::1]/"

    def test_query_param_helpers(self) -> None:
        url = URL("http://h/p?a=1&b=2&a=3")
        assert url.include_query_params(a="x", c=3) == "http://h/p?b=2&a=x&c=3"
        assert url.replace_query_params(z="1") == "http://h/p?z=1"
        assert url.remove_query_params("a") == "http://h/p?b=2"
        assert url.remove_query_params(["a", "b"]) == "http://h/p"

    def test_equality_and_hash(self) -> None:
        assert URL("/a") == URL("/a")
        assert hash(URL("/a")) == hash(URL("/a"))
        assert URL("/a") != 1
        assert repr(URL("/a")) == "URL('/a')"


class TestCaseState:
    def test_attributes_live_in_the_shared_dict(self) -> None:
        backing: dict[str, object] = {}
        state = State(backing)
        state.user = "ada"
        assert backing == {"user": "ada"}
        assert state.user == "ada"
        assert "user" in state
        del state.user
        assert backing == {}

    def test_missing_attribute(self) -> None:
        state = State()
        with pytest.raises(AttributeError, match="missing"):
            _ = state.missing
        with pytest.raises(AttributeError):
            del state.missing


def test_address() -> None:
    assert Address("127.0.0.1", 5000) == ("127.0.0.1", 5000)
    assert Address("h", 1).port == 1
