"""Request fields in two spellings: the contract's snake_case name and the deprecated camelCase alias
the original models also accepted (``populate_by_name``). The snake_case value wins when both are sent.

Reading an alias field of a generated model raises pydantic's DeprecationWarning (the contract marks
the alias ``deprecated: true``); that warning is meant for clients, and Python ignores it by default.
"""

from __future__ import annotations

from typing import TypeVar

T = TypeVar("T")


def either(snake: T | None, camel: T | None) -> T | None:
    """The request's value of one field: ``snake`` when it was sent (not None), else ``camel``."""
    return snake if snake is not None else camel
