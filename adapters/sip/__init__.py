"""SIP domain rules shared by storage and the telephony backends (LiveKit inbound routing)."""
