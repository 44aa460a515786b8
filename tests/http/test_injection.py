import datetime
import decimal
import uuid
from typing import Annotated, NewType

import pytest
from flama.core.forms import UploadedFile
from flama.http import Component, Cookie, Flama, Header, Request
from pydantic import BaseModel


class Item(BaseModel):
    name: str
    price: float


class User:
    def __init__(self, name: str) -> None:
        self.name = name


class UserComponent(Component):
    calls = 0

    async def resolve(self, x_user: Annotated[str, Header()]) -> User:
        type(self).calls += 1
        return User(x_user)


Greeting = NewType("Greeting", str)


class GreetingComponent(Component):
    def resolve(self, user: User) -> Greeting:
        return Greeting(f"hi {user.name}")


def app_factory() -> Flama:
    app = Flama(components=[UserComponent(), GreetingComponent()], schema=None, docs=None, discover_modules=False)

    @app.route("/types")
    async def types(
        i: int,
        f: float,
        b: bool,
        u: uuid.UUID,
        d: decimal.Decimal,
        day: datetime.date,
        tags: list[int],
        s: str = "x",
        maybe: int | None = None,
    ) -> dict[str, object]:
        return {
            "i": i, "f": f, "b": b, "u": str(u), "d": str(d), "day": day.isoformat(),
            "tags": tags, "s": s, "maybe": maybe,
        }  # fmt: skip

    @app.route("/headers")
    async def headers(user_agent: Annotated[str, Header()], session: Annotated[str | None, Cookie()] = None) -> object:
        return {"user_agent": user_agent, "session": session}

    @app.route("/items/{id}", methods=["POST"])
    async def create(id: int, item: Item, request: Request) -> dict[str, object]:
        return {"id": id, "item": item.model_dump(), "method": request.method}

    @app.route("/me")
    async def me(user: User, greeting: Greeting, again: User) -> dict[str, object]:
        return {"name": user.name, "greeting": greeting, "same": user is again}

    @app.route("/upload", methods=["POST"])
    async def upload(file: UploadedFile) -> dict[str, object]:
        return {"filename": file.filename, "size": len(file.read())}

    @app.route("/sync")
    def sync(n: int) -> dict[str, int]:
        return {"n": n * 2}

    return app


class TestCaseInjection:
    async def test_types(self, client_factory):
        uid = "12345678-1234-5678-1234-567812345678"
        query = f"i=1&f=2.5&b=true&u={uid}&d=1.10&day=2026-11-23&tags=1&tags=2"
        async with client_factory(app_factory()) as client:
            response = await client.get(f"/types?{query}")
        assert response.status_code == 200
        assert response.json() == {
            "i": 1, "f": 2.5, "b": True, "u": uid, "d": "1.10", "day": "2026-11-23",
            "tags": [1, 2], "s": "x", "maybe": None,
        }  # fmt: skip

    async def test_invalid_and_missing(self, client_factory):
        async with client_factory(app_factory()) as client:
            response = await client.get("/types?i=x&f=1&b=true&d=1&day=2026-01-01")
        assert response.status_code == 400
        body = response.json()
        assert body["error"] == "ValidationError"
        assert body["detail"] == {
            "i": ["Input should be a valid integer, unable to parse string as an integer"],
            "u": ["Field required"],
            "tags": ["Field required"],
        }

    async def test_headers_and_cookies(self, client_factory):
        async with client_factory(app_factory()) as client:
            response = await client.get("/headers", headers={"user-agent": "t/1", "cookie": "session=abc"})
        assert response.json() == {"user_agent": "t/1", "session": "abc"}

    async def test_body(self, client_factory):
        async with client_factory(app_factory()) as client:
            response = await client.post("/items/3", json={"name": "pen", "price": "1.5"})
        assert response.json() == {"id": 3, "item": {"name": "pen", "price": 1.5}, "method": "POST"}

    @pytest.mark.parametrize(
        ("content", "status", "detail"),
        [
            pytest.param(
                b'{"name": "pen", "price": "cheap"}',
                400,
                {"price": ["Input should be a valid number, unable to parse string as a number"]},
                id="invalid",
            ),
            pytest.param(
                b'{"name": "pen"}', 400, {"price": ["Field required"]},
                id="missing-field",
            ),
        ],
    )  # fmt: skip
    async def test_body_errors(self, client_factory, content, status, detail):
        async with client_factory(app_factory()) as client:
            response = await client.post("/items/3", content=content)
        assert response.status_code == status
        assert response.json() == {"detail": detail, "error": "ValidationError", "status_code": 400}

    async def test_malformed_json(self, client_factory):
        async with client_factory(app_factory()) as client:
            response = await client.post("/items/3", content=b"{nope")
        assert response.status_code == 400
        assert response.json()["detail"].startswith("Malformed JSON body")

    async def test_components_cached_per_request(self, client_factory):
        UserComponent.calls = 0
        async with client_factory(app_factory()) as client:
            response = await client.get("/me", headers={"x-user": "ana"})
        assert response.json() == {"name": "ana", "greeting": "hi ana", "same": True}
        assert UserComponent.calls == 1

    async def test_component_parameter_error(self, client_factory):
        async with client_factory(app_factory()) as client:
            response = await client.get("/me")
        assert response.status_code == 400
        assert response.json()["detail"] == {"x-user": ["Field required"]}

    async def test_upload(self, client_factory):
        async with client_factory(app_factory()) as client:
            response = await client.post("/upload", files={"file": ("a.txt", b"hello")})
        assert response.json() == {"filename": "a.txt", "size": 5}

    async def test_sync_endpoint(self, client_factory):
        async with client_factory(app_factory()) as client:
            response = await client.get("/sync?n=4")
        assert response.json() == {"n": 8}


class TestCasePlans:
    def test_unknown_type_fails_at_registration(self):
        async def endpoint(user: User) -> None: ...

        app = Flama(schema=None, docs=None, discover_modules=False)
        with pytest.raises(TypeError, match="cannot inject 'user': no component provides"):
            app.add_route("/", endpoint)

    async def test_mounted_routes_get_components(self, client_factory):
        from flama.http import Mount, Route

        async def me(user: User) -> str:
            return user.name

        app = Flama(
            routes=[Mount("/v1", routes=[Route("/me", me)])],
            components=[UserComponent()],
            schema=None,
            docs=None,
            discover_modules=False,
        )
        async with client_factory(app) as client:
            response = await client.get("/v1/me", headers={"x-user": "bo"})
        assert response.json() == "bo"

    async def test_repeated_header_and_alias(self, client_factory):
        from flama.http import Query

        app = Flama(schema=None, docs=None, discover_modules=False)

        @app.route("/")
        async def endpoint(
            accept: Annotated[list[str], Header()], page_size: Annotated[int, Query(alias="page-size")] = 10
        ) -> dict[str, object]:
            return {"accept": accept, "page_size": page_size}

        async with client_factory(app) as client:
            response = await client.get("/?page-size=3", headers=[("accept", "a"), ("accept", "b")])
        assert response.json() == {"accept": ["a", "b"], "page_size": 3}

    async def test_path_param_coerced_by_hint(self, client_factory):
        app = Flama(schema=None, docs=None, discover_modules=False)

        @app.route("/days/{day}")
        async def endpoint(day: datetime.date) -> str:
            return day.strftime("%A")

        async with client_factory(app) as client:
            good = await client.get("/days/2026-11-23")
            bad = await client.get("/days/someday")
        assert good.json() == "Monday"
        assert bad.status_code == 400
        assert list(bad.json()["detail"]) == ["day"]

    async def test_optional_body(self, client_factory):
        app = Flama(schema=None, docs=None, discover_modules=False)

        @app.route("/", methods=["POST"])
        async def endpoint(item: Item | None = None) -> object:
            return item

        async with client_factory(app) as client:
            empty = await client.post("/")
            given = await client.post("/", json={"name": "a", "price": 1})
        assert empty.json() is None
        assert given.json() == {"name": "a", "price": 1.0}
