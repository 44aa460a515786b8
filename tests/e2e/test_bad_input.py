"""Bad input over real HTTP: each gets its documented status and the one JSON error shape, never a traceback."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from flama.core.forms import UploadedFile
from flama.http import FileResponse, Flama, Request
from flama.middleware import BodySizeLimitMiddleware, CompressionMiddleware
from pydantic import BaseModel


class Item(BaseModel):
    name: str
    price: float


def app_factory() -> Flama:
    app = Flama(discover_modules=False)
    app.add_middleware(BodySizeLimitMiddleware, max_body_size=1024)

    @app.route("/items/{id:int}", methods=["PUT"])
    async def put_item(id: int, item: Item) -> dict[str, object]:
        return {"id": id, **item.model_dump()}

    @app.route("/search")
    async def search(page: int = 1) -> dict[str, int]:
        return {"page": page}

    @app.route("/upload", methods=["POST"])
    async def upload(file: UploadedFile) -> dict[str, int]:
        return {"size": file.size}

    return app


@pytest.fixture
def url(server_factory):
    return server_factory(app_factory())


class TestCaseBadInput:
    def test_malformed_json(self, url):
        response = httpx.put(f"{url}/items/1", content=b'{"name": ', headers={"content-type": "application/json"})
        assert response.status_code == 400
        body = response.json()
        assert set(body) == {"detail", "error", "status_code"}
        assert body["status_code"] == 400

    def test_invalid_body_names_the_field(self, url):
        response = httpx.put(f"{url}/items/1", json={"name": "x", "price": "cheap"})
        assert response.status_code == 400
        assert response.json()["error"] == "ValidationError"
        assert list(response.json()["detail"]) == ["price"]

    def test_wrong_content_type(self, url):
        response = httpx.put(f"{url}/items/1", content=b"name=x", headers={"content-type": "text/plain"})
        assert response.status_code in (400, 415)
        assert response.json()["status_code"] == response.status_code

    def test_invalid_query_value(self, url):
        response = httpx.get(f"{url}/search", params={"page": "two"})
        assert response.status_code == 400
        assert "page" in str(response.json()["detail"])

    def test_invalid_path_param_is_not_found(self, url):
        response = httpx.put(f"{url}/items/abc", json={"name": "x", "price": 1})
        assert response.status_code == 404
        assert response.json() == {"detail": "Not Found", "error": "HTTPException", "status_code": 404}

    def test_unknown_method(self, server_factory):
        # h11 passes any token through as a method (httptools refuses unknown ones itself, with a bare 400).
        url = server_factory(app_factory(), http="h11")
        response = httpx.request("BREW", f"{url}/search")
        assert response.status_code == 405
        assert response.headers["allow"] == "GET, HEAD"
        assert response.json()["status_code"] == 405

    def test_oversized_body(self, url):
        response = httpx.put(f"{url}/items/1", content=b"x" * 4096, headers={"content-type": "application/json"})
        assert response.status_code == 413
        assert response.json() == {
            "detail": response.json()["detail"],
            "error": "HTTPException",
            "status_code": 413,
        }

    def test_broken_multipart(self, url):
        body = b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n\r\nabc'
        response = httpx.post(
            f"{url}/upload", content=body, headers={"content-type": "multipart/form-data; boundary=b"}
        )
        assert response.status_code == 400
        assert response.json()["status_code"] == 400

    def test_multipart_without_boundary(self, url):
        response = httpx.post(f"{url}/upload", content=b"x", headers={"content-type": "multipart/form-data"})
        assert response.status_code == 400
        assert response.json()["status_code"] == 400


def hardened_app(tmp_path: Path) -> Flama:
    """An app without the body-size middleware: only Flama's own defaults stand between it and the attacks."""
    app = Flama(discover_modules=False, max_body_size=1024 * 1024)
    app.add_middleware(CompressionMiddleware)
    page = tmp_path / "page.txt"
    page.write_bytes(b"Flama serves files. " * 500)

    @app.route("/echo", methods=["POST"])
    async def echo(request: Request) -> Any:
        return await request.json()

    @app.route("/items/{id:int}")
    async def item(id: int) -> dict[str, int]:
        return {"id": id}

    @app.route("/scale")
    async def scale(factor: float) -> dict[str, float]:
        return {"factor": factor}

    @app.route("/ratio/{value:float}")
    async def ratio(value: float) -> dict[str, float]:
        return {"value": value}

    @app.route("/page")
    async def page_file() -> FileResponse:
        return FileResponse(page, media_type="text/plain")

    # A route may read more than the application allows elsewhere.
    @app.route("/form", methods=["POST"], max_body_size=4 * 1024 * 1024)
    async def form(request: Request) -> dict[str, list[str]]:
        return {"names": list(await request.form())}

    return app


class TestCaseHardening:
    """Issue 9 over real HTTP: each attack gets a typed 4xx (or a bounded answer), never a 500."""

    @pytest.fixture
    def base(self, server_factory, tmp_path):
        return server_factory(hardened_app(tmp_path))

    @pytest.mark.parametrize(
        "body",
        [
            pytest.param(b'{"a": 1e400}', id="exponent"),
            pytest.param(b"[" + b"9" * 400 + b".0]", id="long-mantissa"),
        ],
    )
    def test_json_number_beyond_float(self, base, body):
        response = httpx.post(f"{base}/echo", content=body, headers={"content-type": "application/json"})
        assert response.status_code == 400
        assert "number out of range" in response.json()["detail"]

    def test_large_json_integer_round_trips(self, base):
        number = int("9" * 400)
        response = httpx.post(f"{base}/echo", json={"n": number})
        assert response.status_code == 200
        assert response.json() == {"n": number}

    @pytest.mark.parametrize(
        "path",
        [
            pytest.param("/items/" + "9" * 5000, id="int-5000-digits"),
            pytest.param("/ratio/" + "9" * 400, id="float-overflow"),
            pytest.param("/ratio/1e400", id="float-exponent"),
        ],
    )
    def test_absurd_path_params(self, base, path):
        response = httpx.get(base + path)
        assert response.status_code == 404
        assert response.json()["status_code"] == 404

    @pytest.mark.parametrize("value", ["inf", "-Infinity", "nan", "1e400"])
    def test_non_finite_query_float(self, base, value):
        response = httpx.get(f"{base}/scale", params={"factor": value})
        assert response.status_code == 400
        assert response.json()["detail"] == {"factor": ["Input should be a finite number"]}

    def test_range_with_huge_offset(self, base):
        response = httpx.get(f"{base}/page", headers={"range": "bytes=0-" + "9" * 5000})
        assert response.status_code == 206
        assert response.headers["content-range"] == "bytes 0-9999/10000"

    def test_many_ranges(self, base):
        header = "bytes=" + ",".join(f"{offset}-{offset}" for offset in range(0, 4000, 2))
        response = httpx.get(f"{base}/page", headers={"range": header})
        assert response.status_code == 200
        assert len(response.content) == 10000

    def test_range_is_not_compressed(self, base):
        response = httpx.get(f"{base}/page", headers={"range": "bytes=0-999", "accept-encoding": "gzip"})
        assert response.status_code == 206
        assert "content-encoding" not in response.headers
        assert len(response.content) == 1000

    def test_body_over_the_app_limit(self, base):
        def chunks() -> Iterator[bytes]:
            for _ in range(64):
                yield b" " * 65536

        response = httpx.post(f"{base}/echo", content=chunks(), headers={"content-type": "application/json"})
        assert response.status_code == 413
        assert response.json()["detail"] == "Request body larger than 1048576 bytes (max_body_size)"

    def test_urlencoded_huge_key(self, base):
        response = httpx.post(
            f"{base}/form",
            content=b"k" * (2 * 1024 * 1024) + b"=v",
            headers={"content-type": "application/x-www-form-urlencoded"},
        )
        assert response.status_code == 413
        assert "max_field_size" in response.json()["detail"]
