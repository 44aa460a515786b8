"""A Flama application served by uvicorn and called over loopback by httpx."""

import httpx
from flama.http import EventSourceResponse, Flama, Request, Router, ServerSentEvent
from pydantic import BaseModel


class Item(BaseModel):
    name: str
    price: float


def app_factory() -> Flama:
    app = Flama(openapi={"title": "E2E", "version": "1"}, discover_modules=False)

    @app.route("/")
    async def hello() -> dict[str, str]:
        return {"hello": "world"}

    @app.route("/items/{id:int}", methods=["PUT"])
    async def put_item(id: int, item: Item) -> dict[str, object]:
        return {"id": id, **item.model_dump()}

    @app.route("/events")
    async def events() -> EventSourceResponse:
        return EventSourceResponse([ServerSentEvent("one", event="tick"), {"n": 2}], ping=None)

    api = Router()

    @api.route("/ping")
    async def ping() -> str:
        return "pong"

    app.mount("/api", api, name="api")
    return app


class TestCaseApp:
    def test_requests(self, server_factory):
        url = server_factory(app_factory())
        with httpx.Client(base_url=url) as client:
            assert client.get("/").json() == {"hello": "world"}
            head = client.head("/")
            assert (head.status_code, head.content, head.headers["content-length"]) == (200, b"", "17")
            assert client.put("/items/1", json={"name": "pen", "price": 2}).json() == {
                "id": 1,
                "name": "pen",
                "price": 2.0,
            }
            invalid = client.put("/items/1", json={"name": "pen"})
            assert invalid.status_code == 400
            assert invalid.json() == {
                "detail": {"price": ["Field required"]},
                "error": "ValidationError",
                "status_code": 400,
            }
            missing = client.get("/missing")
            assert missing.status_code == 404
            assert missing.json() == {"detail": "Not Found", "error": "HTTPException", "status_code": 404}
            wrong = client.post("/")
            assert (wrong.status_code, wrong.headers["allow"]) == (405, "GET, HEAD")
            assert client.get("/api/ping").json() == "pong"
            events = client.get("/events")
            assert events.headers["content-type"] == "text/event-stream; charset=utf-8"
            assert events.text == 'event: tick\ndata: one\n\ndata: {"n":2}\n\n'
            assert client.get("/schema/").json()["info"] == {"title": "E2E", "version": "1"}
            assert "<title>E2E - API reference</title>" in client.get("/docs/").text
            assert client.get("/docs/assets/swagger-ui.css").headers["content-type"] == "text/css; charset=utf-8"

    def test_lifespan_runs_under_uvicorn(self, server_factory):
        started: list[str] = []

        def on_startup() -> None:
            started.append("startup")

        app = Flama(events={"startup": [on_startup]}, discover_modules=False)

        @app.route("/started")
        async def report() -> list[str]:
            return started

        url = server_factory(app, lifespan="on")
        assert httpx.get(f"{url}/started").json() == ["startup"]

    def test_url_for_through_a_mount(self, server_factory):
        app = Flama(discover_modules=False)
        api = Router()

        @api.route("/users/{id:int}", name="user")
        async def user(request: Request, id: int) -> dict[str, str]:
            return {"self": str(request.url_for("api:user", id=id + 1))}

        app.mount("/api", api, name="api")
        url = server_factory(app)
        assert httpx.get(f"{url}/api/users/1").json() == {"self": f"{url}/api/users/2"}
