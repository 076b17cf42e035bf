"""Virstack VoiceAI storage: accounts, agents, provider catalog, SIP, calls (tables in ``tables``)."""
