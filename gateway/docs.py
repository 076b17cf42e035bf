"""Swagger UI over every served document: the merged one and each API's own.

The UI at ``/docs/`` opens the merged ``/openapi.json`` and offers, in its top bar, each API's
own document (``/openapi/<api>.json``), whose ``servers`` start with the API's mount on this
deployment, so "Try it out" calls this server. Nothing here names an API: the contract lists them.
"""

from __future__ import annotations

from typing import Any

from connexion.options import SwaggerUIOptions

from gateway.contract import Contract

MERGED = "All APIs (merged)"


def document_urls(contract: Contract) -> list[dict[str, str]]:
    """``[{url, name}]`` of the merged document, then each API's own (in the contract's order)."""
    return [{"url": "/openapi.json", "name": MERGED}] + [
        {"url": f"/openapi/{api.name}.json", "name": api.title} for api in contract.apis.values()
    ]


def swagger_ui_options(contract: Contract) -> SwaggerUIOptions:
    """connexion's Swagger UI options: served at ``/docs``, listing :func:`document_urls`."""
    config: dict[str, Any] = {"urls": document_urls(contract), "urls.primaryName": MERGED}
    return SwaggerUIOptions(serve_spec=False, swagger_ui=True, swagger_ui_path="/docs", spec_path="/openapi.json",
                            swagger_ui_config=config)
