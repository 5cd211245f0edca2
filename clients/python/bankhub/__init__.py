"""Async client for the BankHub wire protocol v1 (see docs/protocol.md)."""
from .client import PROTOCOL, Error, Hub, connect

__all__ = ["PROTOCOL", "Error", "Hub", "connect"]
__version__ = "0.1.0"
