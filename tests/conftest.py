"""Shared test configuration: fixtures every test folder can use."""

from tests.servers import server_factory

__all__ = ["server_factory"]
