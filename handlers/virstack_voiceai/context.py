"""The Virstack adapters, built once per :class:`handlers.deps.Services` (``services().extension``)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from adapters.secretbox import SecretBox
from adapters.storage.virstack_accounts import AccountStore
from adapters.storage.virstack_agents import AgentStore
from adapters.storage.virstack_calls import CallStore
from adapters.storage.virstack_catalog import CatalogStore
from adapters.storage.virstack_sip import SipStore
from adapters.telephony import build_telephony
from adapters.telephony.base import Telephony
from handlers.deps import Services, services

EXTENSION = "virstack"


@dataclass
class Virstack:
    """Stores and engines of the Virstack VoiceAI API."""

    services: Services
    accounts: AccountStore
    agents: AgentStore
    catalog: CatalogStore
    sip: SipStore
    calls: CallStore
    telephony: Telephony
    cache: dict[str, Any] = field(default_factory=dict)

    @property
    def settings(self):
        return self.services.settings


def build(s: Services) -> Virstack:
    """Create the stores (seeding the provider catalog on first start) and the telephony backend."""
    settings = s.settings
    sip = SipStore(s.db, SecretBox(settings.livekit_api_secret))
    catalog = CatalogStore(s.db)
    catalog.seed_once()
    return Virstack(
        services=s,
        accounts=AccountStore(s.db),
        agents=AgentStore(s.db),
        catalog=catalog,
        sip=sip,
        calls=CallStore(s.db),
        telephony=build_telephony(
            settings.telephony_backend,
            sip=sip,
            url=settings.livekit_url,
            api_key=settings.livekit_api_key,
            api_secret=settings.livekit_api_secret,
        ),
    )


def vs() -> Virstack:
    """The Virstack bundle of the installed services."""
    return services().extension(EXTENSION, build)
