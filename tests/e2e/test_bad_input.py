"""Bad input over real HTTP: each gets its documented status and the one JSON error shape, never a traceback."""

import httpx
import pytest
from flama.core.forms import UploadedFile
from flama.http import Flama
from flama.middleware import BodySizeLimitMiddleware
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
