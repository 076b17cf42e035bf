"""The APIs' plugins, found from the contract: each API's ``package`` exposes ``plugin``.

:func:`load_plugins` imports every package named in ``generated/apis.json`` and checks that its
plugin agrees with the contract (name, validation status, a security function for every
security scheme the API's operations use). A disagreement is a start-up error, never a
request-time surprise.
"""

from __future__ import annotations

import importlib
from typing import Any

from gateway.contract import Contract
from handlers.plugin import ApiPlugin


class PluginMismatch(LookupError):
    """An API package has no plugin, or its plugin disagrees with the contract."""


def _used_schemes(contract: Contract, namespace: str) -> set[str]:
    """Local names of the security schemes the API's non-pending operations require."""
    document = contract.document
    default = document.get("security", [])
    used: set[str] = set()
    api = contract.apis[namespace]
    for _path, _method, op in contract.operations():
        ns, local = op["operationId"].split(".", 1)
        if ns != namespace or api.aliases.get(local, local) in api.pending:
            continue
        for requirement in op.get("security", default):
            used.update(name.split(".", 1)[1] for name in requirement if name.startswith(namespace + "."))
    return used


def load_plugins(contract: Contract) -> dict[str, ApiPlugin[Any]]:
    """``{namespace: plugin}`` for every API of the contract, in contract order.

    Raises :class:`PluginMismatch` when a package lacks ``plugin``, names another API, declares
    another validation status than ``specs/merge.yaml``, or lacks a security function for a
    scheme its operations require.
    """
    plugins: dict[str, ApiPlugin[Any]] = {}
    for namespace, api in contract.apis.items():
        package = importlib.import_module(api.package)
        plugin = getattr(package, "plugin", None)
        if not isinstance(plugin, ApiPlugin):
            raise PluginMismatch(f"{api.package} has no `plugin` (an handlers.plugin.ApiPlugin)")
        if plugin.name != api.name:
            raise PluginMismatch(f"{api.package}.plugin is named {plugin.name!r}, the contract says {api.name!r}")
        if plugin.validation_status != api.validation_status:
            raise PluginMismatch(f"{api.name}: plugin validation status {plugin.validation_status}, "
                                 f"specs/merge.yaml says {api.validation_status}")
        missing = _used_schemes(contract, namespace) - set(plugin.security)
        if missing:
            raise PluginMismatch(f"{api.name}: no security function for {sorted(missing)}")
        plugins[namespace] = plugin
    return plugins
