"""Realtime media: a WebRTC server peer (aiortc), voice activity detection, and the speech loop
(caller audio → ASR → LLM → TTS → outbound audio + visemes) shared by every realtime entry point."""
