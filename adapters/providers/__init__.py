"""Speech and language provider adapters (TTS, ASR, LLM). Handlers see only these interfaces."""
