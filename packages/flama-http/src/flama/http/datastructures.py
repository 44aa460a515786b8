"""The small value types a connection is made of: headers, query parameters, URLs, state and addresses."""

from collections.abc import Iterable, Iterator, Mapping, MutableMapping, Sequence
from typing import Any, NamedTuple
from urllib.parse import SplitResult, quote, urlencode, urlsplit

from flama.core import parse_urlencoded
from flama.http.types import RawHeaders, Scope

__all__ = ["URL", "Address", "Headers", "MutableHeaders", "QueryParams", "State"]

_DEFAULT_PORTS = {"http": 80, "https": 443, "ws": 80, "wss": 443}


class Address(NamedTuple):
    """A peer's network address, as the server reports it in ``scope["client"]``."""

    host: str
    port: int


class Headers(Mapping[str, str]):
    """Immutable, case-insensitive, multi-valued HTTP headers.

    The headers keep the raw ``(name, value)`` byte pairs an ASGI server hands over and decode only the values asked
    for, so reading one header of a request costs one scan of a short list. Indexing returns the first value of a
    name; :meth:`getlist` returns all of them.

    Args:
        headers: A mapping of names to values, for headers built by hand.
        raw: Raw latin-1 encoded pairs with lower-case names, used as they are (not copied).
        scope: An ASGI scope whose ``headers`` list is used as it is.
    """

    __slots__ = ("_raw",)

    _raw: Sequence[tuple[bytes, bytes]]

    def __init__(
        self,
        headers: Mapping[str, str] | None = None,
        *,
        raw: Sequence[tuple[bytes, bytes]] | None = None,
        scope: Scope | None = None,
    ) -> None:
        if raw is not None:
            self._raw = raw
        elif scope is not None:
            self._raw = scope["headers"]
        elif headers:
            self._raw = [(key.lower().encode("latin-1"), value.encode("latin-1")) for key, value in headers.items()]
        else:
            self._raw = []

    @property
    def raw(self) -> list[tuple[bytes, bytes]]:
        """The headers as raw ``(name, value)`` byte pairs, in order."""
        return list(self._raw)

    def __getitem__(self, key: str) -> str:
        name = key.lower().encode("latin-1")
        for header, value in self._raw:
            if header == name:
                return value.decode("latin-1")
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        if not isinstance(key, str):
            return False
        name = key.lower().encode("latin-1")
        return any(header == name for header, _ in self._raw)

    def __iter__(self) -> Iterator[str]:
        return iter(self.keys())

    def __len__(self) -> int:
        return len({header for header, _ in self._raw})

    def keys(self) -> list[str]:  # type: ignore[override]
        """The distinct header names, lower-cased, in order of first appearance."""
        return list(dict.fromkeys(header.decode("latin-1") for header, _ in self._raw))

    def getlist(self, key: str) -> list[str]:
        """Every value of a header, in order; an empty list when it is absent."""
        name = key.lower().encode("latin-1")
        return [value.decode("latin-1") for header, value in self._raw if header == name]

    def multi_items(self) -> list[tuple[str, str]]:
        """Every ``(name, value)`` pair, repeated names included, in order."""
        return [(header.decode("latin-1"), value.decode("latin-1")) for header, value in self._raw]

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Headers):
            return NotImplemented
        return sorted(self._raw) == sorted(other._raw)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.multi_items()!r})"


class MutableHeaders(Headers, MutableMapping[str, str]):
    """Headers that can be changed in place, such as a response's.

    Changes are written straight into the raw list they were built on, so a response's ``headers`` view and the list
    it sends always agree.
    """

    __slots__ = ()

    _raw: RawHeaders

    def __init__(
        self,
        headers: Mapping[str, str] | None = None,
        *,
        raw: RawHeaders | None = None,
        scope: Scope | None = None,
    ) -> None:
        super().__init__(headers, raw=raw, scope=scope)
        built: Sequence[tuple[bytes, bytes]] = self._raw
        if not isinstance(built, list):
            self._raw = list(built)

    def __setitem__(self, key: str, value: str) -> None:
        name = key.lower().encode("latin-1")
        encoded = value.encode("latin-1")
        indexes = [index for index, (header, _) in enumerate(self._raw) if header == name]
        for index in reversed(indexes[1:]):
            del self._raw[index]
        if indexes:
            self._raw[indexes[0]] = (name, encoded)
        else:
            self._raw.append((name, encoded))

    def __delitem__(self, key: str) -> None:
        name = key.lower().encode("latin-1")
        remaining = [pair for pair in self._raw if pair[0] != name]
        if len(remaining) == len(self._raw):
            raise KeyError(key)
        self._raw[:] = remaining

    def append(self, key: str, value: str) -> None:
        """Add a value to a header, keeping the values it already has (``Set-Cookie``, ``Vary``, ...)."""
        self._raw.append((key.lower().encode("latin-1"), value.encode("latin-1")))

    def add_vary_header(self, value: str) -> None:
        """Add a field name to ``Vary`` unless it is already listed there."""
        present = [item.strip() for item in ",".join(self.getlist("vary")).split(",") if item.strip()]
        if value.lower() not in (item.lower() for item in present):
            self["vary"] = ", ".join([*present, value])


class QueryParams(Mapping[str, str]):
    """Immutable, multi-valued query parameters, in the order they came.

    Indexing returns the first value of a key; :meth:`getlist` returns all of them.

    Args:
        params: A query string (``str`` or ``bytes``, without the ``?``), a mapping, or a sequence of pairs.
    """

    __slots__ = ("_dict", "_list")

    def __init__(self, params: str | bytes | Mapping[str, str] | Iterable[tuple[str, str]] | None = None) -> None:
        if params is None:
            items: list[tuple[str, str]] = []
        elif isinstance(params, bytes):
            items = parse_urlencoded(params)
        elif isinstance(params, str):
            items = parse_urlencoded(params.encode())
        elif isinstance(params, Mapping):
            items = [(str(key), str(value)) for key, value in params.items()]
        else:
            items = [(str(key), str(value)) for key, value in params]
        self._list = items
        first: dict[str, str] = {}
        for key, value in items:
            first.setdefault(key, value)
        self._dict = first

    def __getitem__(self, key: str) -> str:
        return self._dict[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._dict)

    def __len__(self) -> int:
        return len(self._dict)

    def getlist(self, key: str) -> list[str]:
        """Every value of a key, in order; an empty list when it is absent."""
        return [value for item, value in self._list if item == key]

    def multi_items(self) -> list[tuple[str, str]]:
        """Every ``(key, value)`` pair, repeated keys included, in order."""
        return list(self._list)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, QueryParams):
            return NotImplemented
        return sorted(self._list) == sorted(other._list)

    __hash__ = None  # type: ignore[assignment]

    def __str__(self) -> str:
        return urlencode(self._list)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self)!r})"


class URL:
    """An absolute or relative URL, split into its components on first use.

    Args:
        url: The URL as a string.
        scope: An ASGI scope to rebuild the URL the client asked for from (scheme, ``Host`` header or server address,
            root path, path and query string). When ``scope["path"]`` does not already start with
            ``scope["root_path"]``, the root path is put in front of it.
    """

    __slots__ = ("_components", "_url")

    def __init__(self, url: str = "", *, scope: Scope | None = None) -> None:
        if scope is not None:
            url = _url_from_scope(scope)
        self._url = url
        self._components: SplitResult | None = None

    @property
    def components(self) -> SplitResult:
        """The URL's components, as :func:`urllib.parse.urlsplit` returns them."""
        if self._components is None:
            self._components = urlsplit(self._url)
        return self._components

    @property
    def scheme(self) -> str:
        """The scheme, e.g. ``https``; empty for a relative URL."""
        return self.components.scheme

    @property
    def netloc(self) -> str:
        """The network location: ``host``, ``host:port`` or with user information."""
        return self.components.netloc

    @property
    def path(self) -> str:
        """The path, percent-encoded as in the URL."""
        return self.components.path

    @property
    def query(self) -> str:
        """The query string, without the ``?``."""
        return self.components.query

    @property
    def fragment(self) -> str:
        """The fragment, without the ``#``."""
        return self.components.fragment

    @property
    def hostname(self) -> str | None:
        """The host name, lower-cased; ``None`` for a relative URL."""
        return self.components.hostname

    @property
    def port(self) -> int | None:
        """The explicit port, or ``None`` when the URL gives none."""
        return self.components.port

    @property
    def username(self) -> str | None:
        """The user name of the URL's user information, if any."""
        return self.components.username

    @property
    def password(self) -> str | None:
        """The password of the URL's user information, if any."""
        return self.components.password

    @property
    def is_secure(self) -> bool:
        """Whether the scheme is ``https`` or ``wss``."""
        return self.scheme in ("https", "wss")

    def replace(self, **kwargs: Any) -> "URL":
        """A copy with some components replaced.

        Args:
            **kwargs: Any of ``scheme``, ``netloc``, ``path``, ``query``, ``fragment``, or ``hostname`` / ``port``
                (which rebuild ``netloc``, keeping the user information; ``port=None`` drops the port).

        Returns:
            The new URL.
        """
        if "hostname" in kwargs or "port" in kwargs:
            hostname = kwargs.pop("hostname", self.hostname) or ""
            port = kwargs.pop("port", self.port)
            userinfo, _, _ = self.netloc.rpartition("@")
            netloc = f"[{hostname}]" if ":" in hostname else hostname
            if port is not None:
                netloc = f"{netloc}:{port}"
            kwargs["netloc"] = f"{userinfo}@{netloc}" if userinfo else netloc
        return URL(self.components._replace(**kwargs).geturl())

    def include_query_params(self, **kwargs: Any) -> "URL":
        """A copy with these query parameters set, replacing any earlier values of the same keys."""
        kept = [(key, value) for key, value in QueryParams(self.query).multi_items() if key not in kwargs]
        return self.replace(query=urlencode([*kept, *((key, str(value)) for key, value in kwargs.items())]))

    def replace_query_params(self, **kwargs: Any) -> "URL":
        """A copy whose query string holds exactly these parameters."""
        return self.replace(query=urlencode([(key, str(value)) for key, value in kwargs.items()]))

    def remove_query_params(self, keys: str | Sequence[str]) -> "URL":
        """A copy without the query parameters of these keys."""
        removed = {keys} if isinstance(keys, str) else set(keys)
        kept = [(key, value) for key, value in QueryParams(self.query).multi_items() if key not in removed]
        return self.replace(query=urlencode(kept))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, (URL, str)):
            return str(self) == str(other)
        return NotImplemented

    def __hash__(self) -> int:
        return hash(self._url)

    def __str__(self) -> str:
        return self._url

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._url!r})"


def _url_from_scope(scope: Scope) -> str:
    scheme = scope.get("scheme", "http")
    root_path = scope.get("root_path", "")
    path = scope["path"]
    if not path.startswith(root_path):
        path = root_path + path
    host = None
    for name, value in scope["headers"]:
        if name == b"host":
            host = value.decode("latin-1")
            break
    if host is None:
        server = scope.get("server")
        if server is None:
            host = ""
        else:
            address, port = server
            host = address if _DEFAULT_PORTS.get(scheme) == port else f"{address}:{port}"
    url = f"{scheme}://{host}{quote(path)}" if host else quote(path)
    query = scope.get("query_string", b"")
    return f"{url}?{query.decode('latin-1')}" if query else url


class State:
    """A namespace of arbitrary attributes, for application or request state.

    Args:
        state: The dictionary that holds the attributes (shared, not copied), e.g. ``scope["state"]``.
    """

    __slots__ = ("_state",)

    _state: dict[str, Any]

    def __init__(self, state: dict[str, Any] | None = None) -> None:
        object.__setattr__(self, "_state", {} if state is None else state)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._state[name]
        except KeyError:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}") from None

    def __setattr__(self, name: str, value: Any) -> None:
        self._state[name] = value

    def __delattr__(self, name: str) -> None:
        try:
            del self._state[name]
        except KeyError:
            raise AttributeError(name) from None

    def __contains__(self, name: str) -> bool:
        return name in self._state

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._state!r})"
