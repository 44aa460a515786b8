"""Elicitation over multi-round-trip requests: ``input_required`` results and a signed ``requestState``.

A 2026-07-28 server never sends a request of its own. A handler that needs the user's input raises
:class:`InputRequired` (through :meth:`flama.mcp.Context.elicit`); the server answers the call with
``resultType: "input_required"``, the ``inputRequests`` to fulfil and a ``requestState``. The client retries the same
call with the ``inputResponses`` and the state, and the handler runs again from the start, this time finding its
answers. The state carries the answers of earlier rounds, bound to the call (method, name, arguments) and to an
expiry, and signed with HMAC-SHA256 so a client cannot forge or replay it elsewhere.

A handshake-era client that takes event streams is asked directly instead: :class:`ClientRequests` sends the
requests on the call's stream and waits for the answers the client POSTs back.
"""

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from typing import Any

import anyio
from flama.core import JSONDecodeError, json_decode, json_encode
from flama.mcp.protocol import INTERNAL_ERROR, INVALID_PARAMS, INVALID_REQUEST, MCPError
from flama.mcp.transport import Exchange

__all__ = ["ClientRequests", "InputRequired", "RequestState"]


class InputRequired(Exception):
    """Raised inside a handler to answer its call with ``input_required``.

    Args:
        requests: The input requests by key (``{"elicit-0": {"method": "elicitation/create", "params": ...}}``).
        answers: The answers gathered so far, carried to the next round in the signed state.
    """

    def __init__(self, requests: dict[str, Any], answers: dict[str, Any]) -> None:
        super().__init__("input required")
        self.requests = requests
        self.answers = answers


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


class RequestState:
    """Signs and verifies the ``requestState`` of multi-round-trip calls.

    Args:
        secret: The HMAC key. Every server process answering the same clients needs the same key.
        max_age: Seconds a state stays valid.
    """

    def __init__(self, secret: bytes, max_age: float = 600.0) -> None:
        self._secret = secret
        self.max_age = max_age

    @staticmethod
    def _binding(method: str, name: str, arguments: Any) -> str:
        return hashlib.sha256(json_encode([method, name, arguments], sort_keys=True)).hexdigest()

    def sign(self, method: str, name: str, arguments: Any, answers: dict[str, Any]) -> str:
        """A state carrying ``answers`` for this call, valid for :attr:`max_age` seconds."""
        payload = json_encode(
            {"b": self._binding(method, name, arguments), "a": answers, "e": time.time() + self.max_age}
        )
        signature = hmac.new(self._secret, payload, hashlib.sha256).digest()
        return f"{_b64(payload)}.{_b64(signature)}"

    def verify(self, state: Any, method: str, name: str, arguments: Any) -> dict[str, Any]:
        """The answers a state carries for this call.

        Raises:
            MCPError: ``INVALID_PARAMS``: the state is malformed, forged, expired or belongs to another call.
        """
        if not isinstance(state, str) or state.count(".") != 1:
            raise MCPError(INVALID_PARAMS, "requestState is malformed")
        encoded, signature = state.split(".")
        try:
            payload, mac = _unb64(encoded), _unb64(signature)
        except (binascii.Error, ValueError):
            raise MCPError(INVALID_PARAMS, "requestState is malformed") from None
        if not hmac.compare_digest(mac, hmac.new(self._secret, payload, hashlib.sha256).digest()):
            raise MCPError(INVALID_PARAMS, "requestState was not issued by this server")
        try:
            data = json_decode(payload)
        except JSONDecodeError:  # pragma: no cover - a signed payload is always ours
            raise MCPError(INVALID_PARAMS, "requestState is malformed") from None
        if data["e"] < time.time():
            raise MCPError(INVALID_PARAMS, "requestState has expired; call again without it")
        if data["b"] != self._binding(method, name, arguments):
            raise MCPError(INVALID_PARAMS, "requestState belongs to another request")
        answers: dict[str, Any] = data["a"]
        return answers


class ClientRequests:
    """Requests sent to handshake-era clients on a call's event stream, waiting for the answers they POST.

    Args:
        timeout: Seconds a call waits for the client's answer.
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._pending: dict[str, tuple[anyio.Event, list[dict[str, Any]]]] = {}

    async def ask(self, exchange: Exchange, requests: dict[str, dict[str, Any]]) -> dict[str, Any]:
        """Send ``requests`` (by key) on the exchange's stream and wait for each answer.

        Raises:
            MCPError: ``INTERNAL_ERROR`` when the client does not answer in time, ``INVALID_REQUEST`` when it
                answers with an error.
        """
        answers: dict[str, Any] = {}
        for key, request in requests.items():
            request_id = f"flama-{secrets.token_urlsafe(16)}"
            done, answer = anyio.Event(), list[dict[str, Any]]()
            self._pending[request_id] = (done, answer)
            try:
                await exchange.event(json_encode({"jsonrpc": "2.0", "id": request_id, **request}))
                with anyio.fail_after(self.timeout):
                    await done.wait()
            except TimeoutError:
                raise MCPError(INTERNAL_ERROR, f"the client did not answer {request['method']} in time") from None
            finally:
                self._pending.pop(request_id, None)
            if "error" in answer[0]:
                raise MCPError(INVALID_REQUEST, f"the client refused {request['method']}", answer[0]["error"])
            answers[key] = answer[0].get("result", {})
        return answers

    def answered(self, message: dict[str, Any]) -> None:
        """Hand a client's JSON-RPC response to the call waiting for it (an unknown id is ignored)."""
        pending = self._pending.get(message["id"]) if isinstance(message["id"], str) else None
        if pending is not None and not pending[0].is_set():
            pending[1].append(message)
            pending[0].set()
