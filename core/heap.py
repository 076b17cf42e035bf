"""The garbage collector of a long-running server process: what start-up built is left out of it.

CPython's cyclic collector walks every tracked object of the generation it collects. A server
holds ~150,000 of them after start-up (the merged contract, pydantic and SQLAlchemy schemas,
modules), ~250,000 once its engines are loaded, and keeps them for its whole life; yet each
full (generation 2) collection walked them all again: ~160 ms with the GIL held, every few
hundred requests under load — half of the CPU a createAgent cost (1.2 of 2.3 ms per request,
measured with gc callbacks in the server under ``wrk -c32``) and the 100-ms-plus outliers of
every operation's p99.

:func:`freeze` moves every object alive now into the permanent generation (``gc.freeze()``),
which collections skip: afterwards they walk only what requests created. Start-up garbage is not
kept alive by it (a collection right after start-up finds none; anything that becomes garbage
later is freed by reference counting as before, only cycles among frozen objects would stay).
The server freezes once its lifespan has started and again when its engines have loaded
(``GC_FREEZE``, on by default; tests that build many apps in one process turn it off).
"""

from __future__ import annotations

import gc


def freeze() -> None:
    """Leave every object alive now out of future collections (cheap: no walk)."""
    gc.freeze()
