"""Adapters: storage, speech providers, telephony and realtime media. Adapters never know HTTP."""
