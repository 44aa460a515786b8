"""The chat page in a real browser (Debian's Chromium) against a real server of the demo model.

Each test serves ``examples/models/assistant.flm`` with uvicorn and drives ``/llm/chat/`` like a person would: the
known replies of ``assistant.expect.json`` must stream in, reasoning fold into a thought, a tool call show as a card,
Stop cancel the generation on the server, and conversations survive a reload. Screenshots land in
``tests/artifacts/chat-ui/`` to be looked at.
"""

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from flama.llm.resource import LLMResource
from playwright.async_api import Browser, Page, Request, expect

from tests.e2e.chromium import chromium
from tests.e2e.test_llm_server import CONVERSATIONS, eos_ban, serve_demo, stream_over, wait_ready
from tests.servers import ServerFactory

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "tests" / "artifacts" / "chat-ui"
WEATHER_TOOLS = CONVERSATIONS["tool_call"]["tools"]
TIMEOUT = 60_000


def reply(conversation: str) -> str:
    text = CONVERSATIONS[conversation]["reply"]
    assert isinstance(text, str)
    return text


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    # Generation on a busy 2-core machine can take seconds: assertions wait longer than Playwright's default 5 s.
    async with chromium(expect_timeout=TIMEOUT) as browser:
        yield browser


async def demo(server_factory: ServerFactory, **options: Any) -> tuple[str, LLMResource]:
    """The demo model served for real, ready; the chat starts at temperature 0 so that its replies are known."""
    chat = {"params": {"temperature": 0}, **options.pop("chat", {})}
    url, resource = serve_demo(server_factory, "transformers", chat=chat, **options)
    async with httpx.AsyncClient(base_url=url, timeout=60) as client:
        await wait_ready(client)
    return url, resource


async def open_chat(browser: Browser, url: str, **context: Any) -> tuple[Page, list[str], list[str]]:
    """The chat page, with every URL it requests and every error it logs recorded."""
    page = await (await browser.new_context(**context)).new_page()
    page.set_default_timeout(TIMEOUT)
    requests: list[str] = []
    errors: list[str] = []

    def on_request(request: Request) -> None:
        requests.append(request.url)

    page.on("request", on_request)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    await page.goto(f"{url}/llm/chat/")
    await expect(page.get_by_role("heading", name="assistant", level=1)).to_be_visible()
    return page, requests, errors


async def set_thinking(page: Page, on: bool) -> None:
    await page.get_by_role("button", name="Settings").click()
    thinking = page.get_by_label("Thinking")
    await (thinking.check() if on else thinking.uncheck())
    await page.get_by_role("button", name="Close settings").click()


async def send(page: Page, text: str) -> None:
    box = page.get_by_role("textbox", name="Message", exact=True)
    await box.fill(text)
    await box.press("Enter")


def answers(page: Page) -> Any:
    return page.get_by_role("article", name="Answer")


async def shot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    await page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def local_only(requests: list[str], url: str) -> list[str]:
    return [seen for seen in requests if not seen.startswith((f"{url}/", "data:"))]


class TestCaseChatBrowser:
    async def test_plain_reply_and_reload(self, server_factory, browser):
        url, _ = await demo(server_factory)
        page, requests, errors = await open_chat(browser, url)
        await set_thinking(page, False)
        await send(page, "Hello! Who are you?")

        answer = answers(page).last
        await expect(answer).to_contain_text(reply("plain"))
        await expect(answer).to_have_attribute("aria-busy", "false")
        await expect(page.get_by_role("article", name="Your message")).to_have_text("Hello! Who are you?Edit")
        await expect(page.get_by_role("button", name="Send")).to_be_visible()
        await shot(page, "plain-desktop-light")

        # The conversation is kept in the browser: a reload shows it again, titled after its first message.
        await page.reload()
        await expect(answers(page).last).to_contain_text(reply("plain"))
        await expect(
            page.get_by_role("navigation", name="Conversations").get_by_role(
                "button", name="Hello! Who are you?", exact=True
            )
        ).to_be_visible()

        assert local_only(requests, url) == []
        assert f"{url}/llm/stream/" in requests
        assert errors == []

    async def test_reasoning_folds_into_a_thought(self, server_factory, browser):
        url, _ = await demo(server_factory)
        page, _, errors = await open_chat(browser, url)
        await set_thinking(page, True)
        await send(page, "What is 2 + 3?")

        answer = answers(page).last
        await expect(answer).to_contain_text("The answer is 5.")
        thought = answer.locator("details.thinking")
        await expect(thought.locator("summary")).to_have_text("Thought")
        # Once the answer is complete the reasoning is folded; a click opens it.
        await expect(thought).not_to_have_attribute("open", "")
        await thought.locator("summary").click()
        await expect(thought).to_have_attribute("open", "")
        await expect(thought.locator(".thinking-body")).to_have_text(reply("thinking").split("\n</think>")[0])
        await shot(page, "reasoning-open")
        assert errors == []

    async def test_tool_call_card_and_its_result(self, server_factory, browser):
        url, _ = await demo(server_factory, chat={"tools": WEATHER_TOOLS})
        page, _, errors = await open_chat(browser, url)
        await set_thinking(page, False)
        await send(page, "What is the weather in Paris?")

        card = page.get_by_role("region", name="Tool call: get_weather")
        await expect(card).to_be_visible()
        await expect(card.locator(".tool-name")).to_have_text("get_weather")
        await expect(card.locator("dt")).to_have_text(["city"])
        await expect(card.locator("dd .v-string")).to_have_text("Paris")
        await shot(page, "tool-call")

        # The person answers the call with the tool's result; the model goes on with it.
        await card.get_by_label("Result of get_weather").fill(
            json.dumps({"city": "Paris", "sky": "sunny", "celsius": 21})
        )
        await card.get_by_role("button", name="Send result").click()
        await expect(answers(page).last).to_contain_text(reply("tool_result"))
        await shot(page, "tool-result")
        assert errors == []

    async def test_reload_follows_and_stop_cancels_on_the_server(self, server_factory, browser):
        url, resource = await demo(server_factory)
        # A generation that never ends by itself: the end-of-text token is banned by the model's defaults.
        async with httpx.AsyncClient(base_url=url) as client:
            defaults = await client.put("/llm/", json={"logit_bias": eos_ban(resource), "temperature": 0})
            assert defaults.status_code == 200, defaults.text
        page, requests, errors = await open_chat(browser, url)
        await page.get_by_role("button", name="Settings").click()
        await page.get_by_label("Thinking").uncheck()
        await page.get_by_label("Max tokens").fill("2000")
        await page.get_by_role("button", name="Close settings").click()
        await send(page, "Tell me a story.")

        answer = answers(page).last
        await expect(answer.locator(".markdown")).not_to_be_empty()
        # A reload while it streams follows the same stream again (replayed from its start), no second request.
        await page.reload()
        answer = answers(page).last
        await expect(answer).to_have_attribute("aria-busy", "true")
        await expect(answer.locator(".markdown")).not_to_be_empty()
        assert requests.count(f"{url}/llm/stream/") == 1
        async with page.expect_response(lambda response: response.request.method == "DELETE") as cancelled:
            await page.get_by_role("button", name="Stop").click()
        response = await cancelled.value
        assert response.status == 200
        body = await response.json()
        assert body["cancelled"] is True
        await stream_over(resource, body["id"])

        await expect(answer.locator(".note")).to_have_text("Stopped.")
        await expect(page.get_by_role("button", name="Send")).to_be_visible()
        text = await answer.locator(".markdown").inner_text()
        assert 0 < len(text) < 2000
        await shot(page, "stopped")
        assert [error for error in errors if "net::ERR_ABORTED" not in error] == []

    async def test_edit_regenerate_and_conversations(self, server_factory, browser):
        url, _ = await demo(server_factory)
        page, _, errors = await open_chat(browser, url)
        await set_thinking(page, False)
        await send(page, "Hello! Who are you?")
        await expect(answers(page).last).to_contain_text(reply("plain"))

        # Regenerate asks again (same reply at temperature 0); editing the question replaces the turn.
        await answers(page).last.get_by_role("button", name="Regenerate").click()
        await expect(answers(page)).to_have_count(1)
        await expect(answers(page).last).to_contain_text(reply("plain"))
        await page.get_by_role("article", name="Your message").get_by_role("button", name="Edit").click()
        await page.get_by_label("Edit your message").fill("What is 2 + 3?")
        await page.get_by_role("button", name="Save and send").click()
        await expect(answers(page).last).to_contain_text(reply("no_thinking"))
        await expect(answers(page)).to_have_count(1)

        # A second conversation; then rename, switch and delete through the sidebar.
        sidebar = page.get_by_role("navigation", name="Conversations")
        await sidebar.get_by_role("button", name="+ New chat").click()
        await send(page, "Tell me a story.")
        await expect(answers(page).last).to_contain_text(reply("story"))
        await sidebar.get_by_role("button", name="Rename Tell me a story.").click()
        await sidebar.get_by_label("New name").fill("Lantern story")
        await sidebar.get_by_label("New name").press("Enter")
        await sidebar.get_by_role("button", name="What is 2 + 3?", exact=True).click()
        await expect(answers(page).last).to_contain_text(reply("no_thinking"))
        page.once("dialog", lambda dialog: dialog.accept())
        await sidebar.get_by_role("button", name="Delete What is 2 + 3?").click()
        await expect(sidebar.get_by_role("listitem")).to_have_count(1)
        await expect(answers(page).last).to_contain_text(reply("story"))
        await page.reload()
        await expect(sidebar.get_by_role("button", name="Lantern story", exact=True)).to_be_visible()
        await shot(page, "conversations")
        assert errors == []

    async def test_api_key(self, server_factory, browser):
        url, _ = await demo(server_factory, api_keys=["k-123"])
        page, _, _ = await open_chat(browser, url)
        # Without a key the page says what is missing and where to put it.
        await expect(page.get_by_role("alert")).to_contain_text("HTTP 401")
        await expect(page.get_by_role("alert")).to_contain_text("This model needs an API key: set it in Settings.")
        await page.get_by_role("button", name="Settings").click()
        await page.get_by_label("API key").fill("k-123")
        await page.get_by_label("Thinking").uncheck()
        await shot(page, "settings")
        await page.get_by_role("button", name="Close settings").click()
        await expect(page.get_by_role("alert")).to_have_count(0)
        await send(page, "Hello! Who are you?")
        await expect(answers(page).last).to_contain_text(reply("plain"))

    async def test_dark_phone_with_math_diagrams_and_code(self, server_factory, browser):
        url, _ = await demo(server_factory, chat={"suggestions": ["Hello! Who are you?"]})
        page, requests, errors = await open_chat(
            browser,
            url,
            viewport={"width": 390, "height": 844},
            color_scheme="dark",
            reduced_motion="reduce",  # the sidebar appears at once (no slide) for the screenshot
            has_touch=True,
            is_mobile=True,
        )
        await expect(page.locator("html")).to_have_attribute("data-theme", "dark")
        await shot(page, "phone-dark-empty")
        # A suggested prompt sends itself.
        await set_thinking(page, False)
        await page.get_by_role("button", name="Hello! Who are you?").click()
        await expect(answers(page).last).to_contain_text(reply("plain"))

        # An answer with Markdown, code, math and two diagrams (one broken) — the model is too small to write one,
        # so it is stored in the browser's history as a past answer, and the page reloaded.
        await page.evaluate(SEED, RICH_ANSWER)
        await page.reload()
        answer = answers(page).last
        await expect(answer.locator("table td")).to_have_text(["1", "2"])
        await expect(answer.locator("code .hljs-keyword").first).to_have_text("def")
        await expect(answer.locator(".math .katex").first).to_be_visible()
        await expect(answer.locator(".diagram-drawing svg")).to_have_count(1)
        await expect(answer.locator(".diagram-error")).to_contain_text("The diagram could not be drawn")
        await shot(page, "phone-dark-rich")

        # The sidebar slides over the chat on a phone.
        await page.get_by_role("button", name="Conversations").click()
        await expect(page.get_by_role("navigation", name="Conversations")).to_be_in_viewport()
        await shot(page, "phone-dark-sidebar")
        assert local_only(requests, url) == []
        assert errors == []


RICH_ANSWER = """Here is a table:

| a | b |
|---|---|
| 1 | 2 |

```python
def add(x, y):
    return x + y
```

Euler's identity: $e^{i\\pi} + 1 = 0$.

```mermaid
graph TD
  A[Question] --> B[Answer]
```

```mermaid
graph TD; A-->
```
"""

# Stores one more conversation in the page's IndexedDB (the database idb-keyval opens for the model at /llm/).
SEED = """async (text) => {
  const db = await new Promise((resolve, reject) => {
    const request = indexedDB.open("flama-chat:/llm/");
    request.onupgradeneeded = () => request.result.createObjectStore("conversations");
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
  const now = Date.now() + 1000;
  const conversation = {
    id: "rich", title: "Rich answer", created: now, updated: now,
    messages: [
      { role: "user", content: "Show me what you can render." },
      { role: "assistant", status: "done", blocks: [{ type: "text", text, done: true }] },
    ],
  };
  await new Promise((resolve, reject) => {
    const transaction = db.transaction("conversations", "readwrite");
    transaction.objectStore("conversations").put(conversation, conversation.id);
    transaction.oncomplete = resolve;
    transaction.onerror = () => reject(transaction.error);
  });
  db.close();
}"""
