"""The Virstack VoiceAI service bundle: its stores, the telephony backend and the shared adapters."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from adapters.secretbox import SecretBox
from adapters.storage.virstack_voiceai.accounts import AccountStore
from adapters.storage.virstack_voiceai.agents import AgentStore
from adapters.storage.virstack_voiceai.calls import CallStore
from adapters.storage.virstack_voiceai.catalog import CatalogStore
from adapters.storage.virstack_voiceai.sip import SipStore
from adapters.telephony import build_telephony
from adapters.telephony.base import Telephony
from handlers.plugin import BundleSlot
from handlers.services import ApiBundle, Services

API = "virstack-voiceai"


@dataclass
class Virstack(ApiBundle):
    """Stores and engines of the Virstack VoiceAI API."""

    accounts: AccountStore
    agents: AgentStore
    catalog: CatalogStore
    sip: SipStore
    calls: CallStore
    telephony: Telephony
    cache: dict[str, Any] = field(default_factory=dict)


def build(services: Services) -> Virstack:
    """Create the stores (seeding the provider catalog on first start) and the telephony backend."""
    settings = services.settings
    sip = SipStore(services.db, SecretBox(settings.livekit_api_secret))
    catalog = CatalogStore(services.db)
    catalog.seed_once()
    services.engines.prefetch("livekit.api")  # participant tokens and webhook checks import it lazily
    return Virstack(
        services=services,
        accounts=AccountStore(services.db),
        agents=AgentStore(services.db),
        catalog=catalog,
        sip=sip,
        calls=CallStore(services.db),
        telephony=build_telephony(
            settings.telephony_backend,
            sip=sip,
            url=settings.livekit_url,
            api_key=settings.livekit_api_key,
            api_secret=settings.livekit_api_secret,
        ),
    )


async def on_shutdown(virstack: Virstack) -> None:
    """Release the telephony backend."""
    await virstack.telephony.close()


bundle: BundleSlot[Virstack] = BundleSlot(API)
