"""Virstack provider catalog: listProviders, getProvider, listProviderModels, getProviderModel
(active entries, any authenticated caller) and the admin operations adminListProviders,
adminCreateProvider, adminUpdateProvider, adminDeleteProvider, adminListProviderModels,
adminCreateProviderModel, adminUpdateProviderModel, adminDeleteProviderModel.

The catalog is global, so editing it is reserved to catalog administrators: users with role
``admin`` of the install's operator organization (the first one registered) or listed in
``VIRSTACK_CATALOG_ADMIN_EMAILS``. Other callers get 403.
"""

from __future__ import annotations

from typing import Any

from adapters.storage.virstack_voiceai.catalog import DuplicateEntry, ModelRecord, ProviderRecord
from generated.models.virstack_voiceai import (
    CreateProviderBody,
    CreateProviderModelBody,
    UpdateProviderBody,
    UpdateProviderModelBody,
)
from handlers.errors import ApiError, parse_request
from handlers.virstack_voiceai.common import not_found, ok, require_admin, ts
from handlers.virstack_voiceai.bundle import bundle


def provider_json(p: ProviderRecord) -> dict[str, Any]:
    return {"provider_id": p.provider_id, "display_name": p.display_name, "is_active": p.is_active}


def provider_detail_json(p: ProviderRecord) -> dict[str, Any]:
    return {**provider_json(p),
            "models": [{"model_id": m.model_id, "display_name": m.display_name, "is_default": m.is_default,
                        "voice_count": len([v for v in m.voices if v.get("is_active", True)])} for m in p.models]}


def model_json(m: ModelRecord) -> dict[str, Any]:
    return {"model_id": m.model_id, "provider_id": m.provider_id, "display_name": m.display_name,
            "is_active": m.is_active, "is_default": m.is_default, "capabilities": m.capabilities,
            "voices": m.voices, "validation_rules": m.validation_rules}


def admin_provider_json(p: ProviderRecord) -> dict[str, Any]:
    return {**provider_detail_json(p), "created_at": ts(p.created_at), "updated_at": ts(p.updated_at)}


def admin_model_json(m: ModelRecord) -> dict[str, Any]:
    return {**model_json(m), "created_at": ts(m.created_at), "updated_at": ts(m.updated_at)}


async def require_catalog_admin(token_info: dict[str, Any]) -> None:
    """403 unless the caller may edit the global catalog (see module docstring)."""
    require_admin(token_info)
    v = bundle()
    if token_info["org_id"] == await v.accounts.operator_org_id():
        return
    allowed = {e.strip().lower() for e in v.settings.virstack_catalog_admin_emails}
    user = await v.accounts.get_user(token_info["sub"])
    if user is None or user.email not in allowed:
        raise ApiError(403, "FORBIDDEN", "Editing the provider catalog is reserved to catalog administrators")


# ---------------------------------------------------------------- discovery


async def list_providers(token_info: dict[str, Any]):  # noqa: ARG001
    """``GET /v1/providers`` (listProviders) → 200 ``data`` array of active providers."""
    return ok([provider_json(p) for p in await bundle().catalog.list_providers(active_only=True)])


async def get_provider(provider_id: str, token_info: dict[str, Any]):  # noqa: ARG001
    """``GET /v1/providers/{provider_id}`` (getProvider) → 200 ``ProviderDetailResponse`` with a
    summary of its active models (``voice_count``). 404 unknown or inactive."""
    provider = await bundle().catalog.get_provider(provider_id, active_only=True)
    if provider is None:
        raise not_found("Provider", provider_id)
    return ok(provider_detail_json(provider))


async def list_provider_models(provider_id: str, token_info: dict[str, Any]):  # noqa: ARG001
    """``GET /v1/providers/{provider_id}/models`` (listProviderModels) → 200 ``data`` array of
    active models with capabilities, voices and validation rules. 404 unknown provider."""
    provider = await bundle().catalog.get_provider(provider_id, active_only=True)
    if provider is None:
        raise not_found("Provider", provider_id)
    return ok([model_json(m) for m in provider.models])


async def get_provider_model(provider_id: str, model_id: str, token_info: dict[str, Any]):  # noqa: ARG001
    """``GET /v1/providers/{provider_id}/models/{model_id}`` (getProviderModel) → 200
    ``ProviderModelResponse``. 404 unknown or inactive."""
    model = await bundle().catalog.get_model(provider_id, model_id, active_only=True)
    if model is None:
        raise not_found("Model", f"{provider_id}/{model_id}")
    return ok(model_json(model))


# ---------------------------------------------------------------- administration


async def admin_list_providers(token_info: dict[str, Any]):
    """``GET /v1/admin/providers`` (adminListProviders) → 200 ``data`` array of every provider,
    inactive ones too, with all their models summarised."""
    await require_catalog_admin(token_info)
    return ok([admin_provider_json(p) for p in await bundle().catalog.list_providers(active_only=False)])


async def admin_create_provider(body: dict[str, Any], token_info: dict[str, Any]):
    """``POST /v1/admin/providers`` (adminCreateProvider) → 201 the provider. 409 duplicate id."""
    await require_catalog_admin(token_info)
    req = parse_request(CreateProviderBody, body)
    try:
        provider = await bundle().catalog.create_provider(req.provider_id, req.display_name, req.is_active)
    except DuplicateEntry:
        raise ApiError(409, "CONFLICT", f"Provider {req.provider_id} already exists") from None
    return ok(admin_provider_json(provider), 201, "Provider created")


async def admin_update_provider(provider_id: str, body: dict[str, Any], token_info: dict[str, Any]):
    """``PATCH /v1/admin/providers/{provider_id}`` (adminUpdateProvider) → 200 the provider
    (``display_name``, ``is_active``). 404 unknown."""
    await require_catalog_admin(token_info)
    parse_request(UpdateProviderBody, body)
    provider = await bundle().catalog.update_provider(provider_id, body)
    if provider is None:
        raise not_found("Provider", provider_id)
    return ok(admin_provider_json(provider), 200, "Provider updated")


async def admin_delete_provider(provider_id: str, token_info: dict[str, Any]):
    """``DELETE /v1/admin/providers/{provider_id}`` (adminDeleteProvider) → 200 ``data:
    {provider_id, models_deleted}``: the provider and all its models. 404 unknown."""
    await require_catalog_admin(token_info)
    deleted = await bundle().catalog.delete_provider(provider_id)
    if deleted is None:
        raise not_found("Provider", provider_id)
    return ok({"provider_id": provider_id, "models_deleted": deleted}, 200, "Provider deleted")


async def admin_list_provider_models(provider_id: str, token_info: dict[str, Any]):
    """``GET /v1/admin/providers/{provider_id}/models`` (adminListProviderModels) → 200 ``data``
    array of every model of the provider, inactive ones too. 404 unknown provider."""
    await require_catalog_admin(token_info)
    provider = await bundle().catalog.get_provider(provider_id, active_only=False)
    if provider is None:
        raise not_found("Provider", provider_id)
    return ok([admin_model_json(m) for m in provider.models])


async def admin_create_provider_model(provider_id: str, body: dict[str, Any], token_info: dict[str, Any]):
    """``POST /v1/admin/providers/{provider_id}/models`` (adminCreateProviderModel) → 201 the
    model; ``is_default`` true makes it the provider's only default. 404 unknown provider,
    409 duplicate model id."""
    await require_catalog_admin(token_info)
    parse_request(CreateProviderModelBody, body)
    values = {"is_active": True, "is_default": False, **body}
    try:
        model = await bundle().catalog.create_model(provider_id, values)
    except DuplicateEntry:
        raise ApiError(409, "CONFLICT", f"Model {body['model_id']} already exists for {provider_id}") from None
    if model is None:
        raise not_found("Provider", provider_id)
    return ok(admin_model_json(model), 201, "Model created")


async def admin_update_provider_model(provider_id: str, model_id: str, body: dict[str, Any],
                                      token_info: dict[str, Any]):
    """``PATCH /v1/admin/providers/{provider_id}/models/{model_id}`` (adminUpdateProviderModel)
    → 200 the model (fields given replace the stored ones). 404 unknown."""
    await require_catalog_admin(token_info)
    parse_request(UpdateProviderModelBody, body)
    model = await bundle().catalog.update_model(provider_id, model_id, body)
    if model is None:
        raise not_found("Model", f"{provider_id}/{model_id}")
    return ok(admin_model_json(model), 200, "Model updated")


async def admin_delete_provider_model(provider_id: str, model_id: str, token_info: dict[str, Any]):
    """``DELETE /v1/admin/providers/{provider_id}/models/{model_id}`` (adminDeleteProviderModel)
    → 200 ``data: {provider_id, model_id}``. 404 unknown."""
    await require_catalog_admin(token_info)
    if not await bundle().catalog.delete_model(provider_id, model_id):
        raise not_found("Model", f"{provider_id}/{model_id}")
    return ok({"provider_id": provider_id, "model_id": model_id}, 200, "Model deleted")
