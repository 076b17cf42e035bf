"""What every API's command-line tool (``python -m handlers.<api>.manage``) starts from."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TypeVar

from core.settings import get_settings
from handlers.plugin import install
from handlers.services import Services

B = TypeVar("B")


@contextmanager
def api_bundle(api: str, build: Callable[[Services], B]) -> Iterator[B]:
    """``with api_bundle(API, build) as bundle:`` — the API's bundle on the configured database
    (migrated first), installed so handler code called by the tool finds it; closed afterwards."""
    services = Services.build(get_settings())
    services.db.migrate()
    try:
        bundle = build(services)
        install({api: bundle})
        yield bundle
    finally:
        services.close()
