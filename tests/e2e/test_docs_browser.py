"""The /docs/ page in a real browser: headless Chromium (Debian's, never a downloaded one) against uvicorn.

Swagger UI must render the application's operations from its own assets, and "Try it out" must call the live server,
with no request leaving 127.0.0.1.
"""

from collections.abc import AsyncIterator

import pytest
from flama.http import Flama, Mount, Router
from playwright.async_api import Browser, Page, Request, expect
from pydantic import BaseModel

from tests.e2e.chromium import chromium

pytestmark = pytest.mark.browser


class Item(BaseModel):
    name: str
    price: float


def app_factory() -> Flama:
    app = Flama(openapi={"title": "Browser shop", "version": "1.0"}, discover_modules=False)

    @app.route("/items/{id:int}")
    async def get_item(id: int, currency: str = "EUR") -> dict[str, object]:
        """Read an item."""
        return {"id": id, "name": f"item {id}", "currency": currency}

    @app.route("/items", methods=["POST"])
    async def create_item(item: Item) -> Item:
        """Create an item."""
        return item

    return app


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as browser:
        yield browser


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context()
    page = await context.new_page()
    yield page
    await context.close()


def record(page: Page) -> list[str]:
    """Every URL the page requests from now on."""
    urls: list[str] = []

    def on_request(request: Request) -> None:
        urls.append(request.url)

    page.on("request", on_request)
    return urls


class TestCaseDocsBrowser:
    async def test_try_it_out(self, server_factory, page):
        url = server_factory(app_factory())
        requests = record(page)
        await page.goto(f"{url}/docs/")

        await expect(page.locator(".info .title")).to_contain_text("Browser shop")
        operations = page.locator(".opblock")
        await expect(operations).to_have_count(2)
        get_item = page.locator(".opblock-get", has_text="/items/{id}")
        await expect(get_item.locator(".opblock-summary-path")).to_have_text("/items/{id}")
        await expect(page.locator(".opblock-post .opblock-summary-path")).to_have_text("/items")

        await get_item.locator(".opblock-summary").click()
        await get_item.get_by_role("button", name="Try it out").click()
        await get_item.locator("tr[data-param-name='id'] input").fill("42")
        await get_item.locator("tr[data-param-name='currency'] input").fill("USD")
        await get_item.get_by_role("button", name="Execute").click()

        live = get_item.locator(".live-responses-table")
        await expect(live.locator("tr.response .response-col_status")).to_have_text("200")
        await expect(live.locator("tr.response .highlight-code .microlight")).to_have_text(
            '{\n  "id": 42,\n  "name": "item 42",\n  "currency": "USD"\n}'
        )
        await expect(live.locator("tr.response .microlight", has_text="content-type")).to_contain_text(
            "content-type: application/json"
        )
        await expect(get_item.locator(".request-url pre")).to_have_text(f"{url}/items/42?currency=USD")

        assert f"{url}/items/42?currency=USD" in requests
        assert f"{url}/docs/assets/swagger-ui-bundle.js" in requests
        assert f"{url}/schema/" in requests
        assert [seen for seen in requests if not seen.startswith((f"{url}/", "data:"))] == []

    async def test_mounted(self, server_factory, page):
        url = server_factory(Router([Mount("/shop", app_factory())]))
        requests = record(page)
        await page.goto(f"{url}/shop/docs/")

        create = page.locator(".opblock-post", has_text="/items")
        await create.locator(".opblock-summary").click()
        await create.get_by_role("button", name="Try it out").click()
        await create.locator("textarea.body-param__text").fill('{"name": "pen", "price": 2.5}')
        await create.get_by_role("button", name="Execute").click()

        live = create.locator(".live-responses-table")
        await expect(live.locator("tr.response .response-col_status")).to_have_text("200")
        await expect(live.locator("tr.response .highlight-code .microlight")).to_have_text(
            '{\n  "name": "pen",\n  "price": 2.5\n}'
        )
        assert f"{url}/shop/items" in requests
        assert [seen for seen in requests if not seen.startswith((f"{url}/shop/", "data:"))] == []
