"""Virstack VoiceAI API handlers (specs/virstack-voiceai, seed 004): one function per operationId.

Modules: accounts (users, API keys, organization), agents, providers (catalog and admin),
sip (trunks, dispatch rules, phone numbers), calls, webhooks (LiveKit webhooks, transcripts),
analysis (post-call analysis), tts. Adapters come from :func:`bundle.bundle`; ``plugin`` is what
the gateway reads (envelope, security, bundle; the provider catalog is seeded when it is built).
"""

from handlers.plugin import ApiPlugin
from handlers.virstack_voiceai.accounts import (
    add_team_member,
    create_api_key,
    get_organization_worker_name,
    list_team_members,
    login,
    logout,
    register_user,
    revoke_api_key,
)
from handlers.virstack_voiceai.agents import (
    create_agent,
    delete_agent,
    get_agent,
    list_agent_versions,
    list_agents,
    publish_agent_version,
    update_agent,
)
from handlers.virstack_voiceai.analysis import test_post_call_analysis
from handlers.virstack_voiceai.bundle import API, Virstack, build, on_shutdown
from handlers.virstack_voiceai.calls import (
    delete_call,
    end_call,
    get_call,
    initiate_phone_call,
    initiate_web_call,
    list_calls,
    list_calls_via_post,
    update_call_metadata,
)
from handlers.virstack_voiceai.envelope import VirstackEnvelope
from handlers.virstack_voiceai.providers import (
    admin_create_provider,
    admin_create_provider_model,
    admin_delete_provider,
    admin_delete_provider_model,
    admin_list_provider_models,
    admin_list_providers,
    admin_update_provider,
    admin_update_provider_model,
    get_provider,
    get_provider_model,
    list_provider_models,
    list_providers,
)
from handlers.virstack_voiceai.security import api_key_info, bearer_info
from handlers.virstack_voiceai.sip import (
    create_dispatch_rule,
    create_sip_trunk,
    delete_dispatch_rule,
    delete_phone_number,
    delete_sip_trunk,
    get_phone_number,
    import_phone_number,
    list_dispatch_rules,
    list_phone_numbers,
    list_sip_trunks,
    purchase_phone_number,
    update_phone_number,
)
from handlers.virstack_voiceai.tts import (
    generate_filler_transcript,
    generate_tts_audio,
    generate_tts_audio_full_prompt,
)
from handlers.virstack_voiceai.webhooks import receive_livekit_webhook, store_call_transcript

plugin: ApiPlugin[Virstack] = ApiPlugin(
    name=API,
    envelope=VirstackEnvelope(),
    validation_status=400,
    build=build,
    security={"BearerAuth": bearer_info, "LiveKitWebhook": api_key_info},
    on_shutdown=on_shutdown,
)

__all__ = [
    "plugin", "add_team_member", "admin_create_provider", "admin_create_provider_model", "admin_delete_provider",
    "admin_delete_provider_model", "admin_list_provider_models", "admin_list_providers", "admin_update_provider",
    "admin_update_provider_model", "create_agent", "create_api_key", "create_dispatch_rule", "create_sip_trunk",
    "delete_agent", "delete_call", "delete_dispatch_rule", "delete_phone_number", "delete_sip_trunk", "end_call",
    "generate_filler_transcript", "generate_tts_audio", "generate_tts_audio_full_prompt", "get_agent", "get_call",
    "get_organization_worker_name", "get_phone_number", "get_provider", "get_provider_model", "import_phone_number",
    "initiate_phone_call", "initiate_web_call", "list_agent_versions", "list_agents", "list_calls",
    "list_calls_via_post", "list_dispatch_rules", "list_phone_numbers", "list_provider_models", "list_providers",
    "list_sip_trunks", "list_team_members", "login", "logout", "publish_agent_version", "purchase_phone_number",
    "receive_livekit_webhook", "register_user", "revoke_api_key", "store_call_transcript", "test_post_call_analysis",
    "update_agent", "update_call_metadata", "update_phone_number",
]
