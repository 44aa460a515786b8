from typing import Annotated

import pytest
from flama.core.forms import UploadedFile
from flama.http import (
    EventSourceResponse,
    Flama,
    Header,
    JSONResponse,
    Mount,
    NDJSONResponse,
    PlainTextResponse,
    Request,
    Response,
    Route,
)
from pydantic import BaseModel


class Tag(BaseModel):
    label: str


class Item(BaseModel):
    name: str
    tags: list[Tag] = []


async def get_item(id: int, verbose: bool = False, token: Annotated[str | None, Header()] = None) -> Item:
    """Read an item.

    Looks the item up by id.
    """
    return Item(name=str(id))


async def create_item(item: Item) -> Item:
    return item


async def events() -> EventSourceResponse:
    return EventSourceResponse([])


async def lines() -> NDJSONResponse:
    return NDJSONResponse([])


async def upload(file: UploadedFile) -> dict[str, int]:
    return {}


def app_factory() -> Flama:
    return Flama(
        routes=[
            Route("/items/{id:int}", get_item),
            Route("/items", create_item, methods=["POST"]),
            Mount("/streams", routes=[Route("/events", events), Route("/lines", lines)]),
            Route("/upload", upload, methods=["POST"]),
            Route("/hidden", lines, include_in_schema=False),
        ],
        openapi={"title": "Shop", "version": "2.0"},
        discover_modules=False,
    )


class TestCaseOpenAPI:
    async def test_schema(self, client_factory):
        async with client_factory(app_factory()) as client:
            response = await client.get("/schema/")
        assert response.status_code == 200
        schema = response.json()
        assert schema["openapi"] == "3.1.0"
        assert schema["info"] == {"title": "Shop", "version": "2.0"}
        assert list(schema["paths"]) == ["/items/{id}", "/items", "/streams/events", "/streams/lines", "/upload"]
        assert schema["paths"]["/items/{id}"] == {
            "get": {
                "operationId": "get_item_get",
                "summary": "Read an item.",
                "description": "Looks the item up by id.",
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}},
                    {
                        "name": "verbose",
                        "in": "query",
                        "required": False,
                        "schema": {"type": "boolean", "default": False},
                    },
                    {
                        "name": "token",
                        "in": "header",
                        "required": False,
                        "schema": {"anyOf": [{"type": "string"}, {"type": "null"}]},
                    },
                ],
                "responses": {
                    "200": {
                        "description": "Successful response",
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Item"}}},
                    }
                },
            }
        }
        assert schema["paths"]["/items"]["post"]["requestBody"] == {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Item"}}},
        }
        assert set(schema["components"]["schemas"]) == {"Item", "Tag"}
        assert schema["components"]["schemas"]["Item"]["properties"]["tags"]["items"] == {
            "$ref": "#/components/schemas/Tag"
        }

    async def test_streaming_and_uploads(self, client_factory):
        async with client_factory(app_factory()) as client:
            paths = (await client.get("/schema/")).json()["paths"]
        assert paths["/streams/events"]["get"]["responses"]["200"]["content"] == {"text/event-stream": {}}
        assert paths["/streams/lines"]["get"]["responses"]["200"]["content"] == {"application/x-ndjson": {}}
        assert paths["/upload"]["post"]["requestBody"] == {
            "required": True,
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                }
            },
        }

    async def test_responses_in_a_union_are_left_out(self, client_factory):
        async def maybe() -> Response | Item:
            return Item(name="x")

        async def either() -> JSONResponse | PlainTextResponse:
            return PlainTextResponse("x")

        app = Flama(routes=[Route("/maybe", maybe), Route("/either", either)], discover_modules=False)
        async with client_factory(app) as client:
            paths = (await client.get("/schema/")).json()["paths"]
        assert paths["/maybe"]["get"]["responses"]["200"]["content"] == {
            "application/json": {"schema": {"$ref": "#/components/schemas/Item"}}
        }
        assert paths["/either"]["get"]["responses"]["200"]["content"] == {"application/octet-stream": {}}

    async def test_operation_ids_carry_the_mount_names(self, client_factory):
        def twin(name: str) -> Mount:
            return Mount(f"/{name}/", routes=[Route("/", lines, name="lines")], name=name)

        app = Flama(routes=[twin("fish"), twin("wine")], discover_modules=False)
        async with client_factory(app) as client:
            paths = (await client.get("/schema/")).json()["paths"]
        assert paths["/fish/"]["get"]["operationId"] == "fish_lines_get"
        assert paths["/wine/"]["get"]["operationId"] == "wine_lines_get"

    @pytest.mark.parametrize(
        "openapi",
        [
            pytest.param({"info": {"title": "Shop", "version": "2.0", "description": "Items."}}, id="flama-2-nested"),
            pytest.param({"title": "Shop", "version": "2.0", "description": "Items."}, id="info-itself"),
        ],
    )
    async def test_info(self, client_factory, openapi):
        app = Flama(routes=[Route("/items", create_item, methods=["POST"])], openapi=openapi, discover_modules=False)
        async with client_factory(app) as client:
            schema = (await client.get("/schema/")).json()
        assert schema["info"] == {"title": "Shop", "version": "2.0", "description": "Items."}

    async def test_disabled(self, client_factory):
        app = Flama(schema=None, docs=None, discover_modules=False)
        async with client_factory(app) as client:
            assert (await client.get("/schema/")).status_code == 404
            assert (await client.get("/docs/")).status_code == 404


class TestCaseOpenAPIValidity:
    async def test_document_is_valid_openapi_3_1(self, client_factory):
        from openapi_spec_validator import validate

        app = app_factory()

        @app.route("/search", methods=["QUERY", "GET"])
        async def search(q: str = "") -> list[str]:
            return [q]

        async with client_factory(app) as client:
            schema = (await client.get("/schema/")).json()
        validate(schema)
        assert set(schema["paths"]["/search"]) == {"get", "x-query"}


class _Other:
    # A second model named ``Tag``, as two modules may each define one.
    class Tag(BaseModel):
        colour: int

    class Box(BaseModel):
        tag: "_Other.Tag"


async def read_itself(request: Request) -> Response:
    return JSONResponse(await request.json())


class TestCaseOpenAPIBodies:
    async def test_route_names_the_body_it_reads_itself(self, client_factory):
        app = Flama(
            routes=[
                Route("/items", read_itself, methods=["POST"], name="items", body=Item),
                Route("/boxes", read_itself, methods=["POST"], name="boxes", body=_Other.Box),
                Route("/plain", read_itself, methods=["POST"], name="plain"),
            ],
            discover_modules=False,
        )
        async with client_factory(app) as client:
            schema = (await client.get("/schema/")).json()
            # The body is documented only: the endpoint still reads it as it is.
            assert (await client.post("/items", json={"anything": 1})).json() == {"anything": 1}
        from openapi_spec_validator import validate

        validate(schema)
        body = schema["paths"]["/items"]["post"]["requestBody"]
        assert body == {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Item"}}},
        }
        assert "requestBody" not in schema["paths"]["/plain"]["post"]
        components = schema["components"]["schemas"]
        # Two models called Tag keep distinct components, and each reference points at its own.
        assert components["Item"]["properties"]["tags"]["items"] == {"$ref": "#/components/schemas/Tag"}
        assert components["Box"]["properties"]["tag"] == {"$ref": "#/components/schemas/Tag-2"}
        assert set(components["Tag"]["properties"]) == {"label"}
        assert set(components["Tag-2"]["properties"]) == {"colour"}
