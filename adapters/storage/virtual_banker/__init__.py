"""Virtual Banker storage: sessions, tenant overrides, voice sessions, webhooks (tables in ``tables``)."""
