"""The server's WebRTC peer (aiortc) and the manager that bounds how many exist.

A :class:`ServerPeer` answers one SDP offer, receives the caller's audio track (resampled to
16 kHz mono for the speech loop), plays replies on its own outbound audio track, and sends
loop events (transcripts, replies, visemes) over a data channel the caller opens. The
:class:`PeerManager` enforces the maximum number of peers and idle/total timeouts, and closes
every peer — tasks cancelled, connections closed — on hang-up or shutdown.

Networks: ``ice_servers`` (STUN/TURN, ``[{"urls": [...], "username": ..., "credential": ...}]``)
are passed to every peer; ``host_addresses`` (e.g. ``["127.0.0.1"]``) restricts the host
candidates aioice offers (it offers only non-loopback addresses by default).

Uplink latency (issue 15): aiortc's audio receiver holds every frame until 4 later ones have
arrived (a jitter buffer with ``prefetch=4``: 80 ms of 20-ms Opus frames) before decoding it.
The speech loop waits for the *end* of the caller's speech, so those 80 ms are added to every
reply. The server's receivers hold :data:`AUDIO_PREFETCH` frame instead (one frame, so a frame
is released when the next arrives): 60 ms less. What is given up is reordering tolerance: a
packet overtaken by a later one is dropped rather than slotted in (a 20 ms gap the recogniser
shrugs off; aiortc does no loss concealment either way).

The WebRTC engine (aiortc, aioice, PyAV, NumPy: ~0.25 s of CPU to import) is imported when the
first peer opens or when :meth:`PeerManager.load` is called (the server does so in the
background after start-up), not when this module is: a server starts without it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio

if TYPE_CHECKING:
    from aiortc import RTCPeerConnection, RTCRtpReceiver

logger = logging.getLogger("adapters.realtime.peer")


class InvalidOffer(ValueError):
    """The SDP offer is malformed or offers no usable audio."""


class PeerLimitReached(RuntimeError):
    """The maximum number of concurrent peers is in use."""


def restrict_host_addresses(addresses: list[str] | None) -> None:
    """Make aioice gather host candidates only on ``addresses`` (None restores its default)."""
    import aioice.ice

    original = getattr(aioice.ice, "_gateway_original_get_host_addresses", None)
    if original is None:
        original = aioice.ice.get_host_addresses
        setattr(aioice.ice, "_gateway_original_get_host_addresses", original)  # noqa: B010 - a foreign module
    if addresses:
        pinned = list(addresses)

        def only_these(use_ipv4: bool = True, use_ipv6: bool = True) -> list[str]:
            return list(pinned)

        aioice.ice.get_host_addresses = only_these
    else:
        aioice.ice.get_host_addresses = original


#: Frames the server's audio receivers hold back for reordering (aiortc's default is 4).
AUDIO_PREFETCH = 1
_JITTER_BUFFER = "_RTCRtpReceiver__jitter_buffer"  # aiortc's private attribute (name-mangled)


def shorten_jitter_buffer(receiver: RTCRtpReceiver, prefetch: int = AUDIO_PREFETCH) -> bool:
    """Give an audio ``receiver`` a jitter buffer that holds ``prefetch`` frames back (see the
    module docstring); call before media flows. False (and nothing changed) when the receiver is
    not audio or aiortc no longer keeps its buffer where this expects it."""
    from aiortc.jitterbuffer import JitterBuffer

    buffer = getattr(receiver, _JITTER_BUFFER, None)
    if getattr(receiver, "_RTCRtpReceiver__kind", None) != "audio" or not isinstance(buffer, JitterBuffer):
        return False
    setattr(receiver, _JITTER_BUFFER, JitterBuffer(capacity=buffer.capacity, prefetch=prefetch))
    return True


def _check_offer(sdp: str) -> None:
    if not isinstance(sdp, str) or not sdp.startswith("v=0"):
        raise InvalidOffer("SDP offer must start with 'v=0'")
    if "\nm=audio" not in sdp.replace("\r\n", "\n"):
        raise InvalidOffer("SDP offer has no audio media section")


class ServerPeer:
    """One caller's WebRTC connection. Build it through :meth:`PeerManager.open`."""

    def __init__(self, manager: PeerManager, pc: RTCPeerConnection, on_event: Callable[[dict], Awaitable[None]]):
        import av

        from adapters.realtime.tracks import SpeechOutputTrack

        self.id = f"peer-{secrets.token_hex(8)}"
        self.manager = manager
        self.pc = pc
        self.output = SpeechOutputTrack()
        self.on_event = on_event
        self.loop = None  # set by the owner (a SpeechLoop)
        self.answer_sdp = ""
        self.created = time.monotonic()
        self.closed = asyncio.Event()
        self._closing = False
        self._tasks: set[asyncio.Task] = set()
        self._channel = None
        self._resampler = av.AudioResampler(format="s16", layout="mono", rate=16000)

        @pc.on("datachannel")
        def on_datachannel(channel) -> None:
            self._channel = channel

        @pc.on("track")
        def on_track(track) -> None:
            if track.kind == "audio":
                self._spawn(self._read_audio(track))

        @pc.on("connectionstatechange")
        async def on_state() -> None:
            if pc.connectionState in ("failed", "closed"):
                await self.close()

    def _spawn(self, coro) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _read_audio(self, track) -> None:
        from aiortc.mediastreams import MediaStreamError

        try:
            while True:
                frame = await track.recv()
                for out in self._resampler.resample(frame):
                    pcm = bytes(out.planes[0])[: out.samples * 2]
                    if self.loop is not None:
                        await self.loop.feed(pcm)
        except MediaStreamError:
            pass
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - a bad frame must not leave the peer half-alive
            logger.exception("peer %s audio reader failed", self.id)
            await self.close()

    async def send(self, event: dict[str, Any]) -> None:
        """Send a loop event on the caller's data channel (when open) and to ``on_event``."""
        if self._channel is not None and self._channel.readyState == "open":
            self._channel.send(json.dumps(event, separators=(",", ":")))
        await self.on_event(event)

    async def add_ice_candidate(self, candidate: dict[str, Any]) -> None:
        """A trickled remote ICE candidate ``{candidate, sdpMid, sdpMLineIndex}``.

        Raises ValueError for a malformed candidate."""
        from aiortc.sdp import candidate_from_sdp

        line = candidate.get("candidate") or ""
        if not line:
            return  # end-of-candidates
        try:
            parsed = candidate_from_sdp(line.split(":", 1)[1] if line.startswith("candidate:") else line)
        except (ValueError, IndexError) as exc:
            raise ValueError(f"malformed ICE candidate: {exc}") from None
        parsed.sdpMid = candidate.get("sdpMid")
        parsed.sdpMLineIndex = candidate.get("sdpMLineIndex")
        await self.pc.addIceCandidate(parsed)

    async def close(self) -> None:
        """Hang up: stop the loop, cancel every task, close the connection (idempotent)."""
        if self._closing:
            await self.closed.wait()
            return
        self._closing = True
        if self.loop is not None:
            await self.loop.close()
        self.output.stop()
        current = asyncio.current_task()
        tasks = [t for t in self._tasks if t is not current]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        await self.pc.close()
        self.manager._forget(self)
        self.closed.set()


class PeerManager:
    """Creates peers within limits: ``max_peers`` concurrent; a peer is closed after
    ``idle_timeout`` seconds without caller speech or replies, or ``total_timeout`` seconds."""

    def __init__(self, *, max_peers: int = 20, idle_timeout: float = 120.0, total_timeout: float = 3600.0,
                 ice_servers: list[dict[str, Any]] | None = None, host_addresses: list[str] | None = None) -> None:
        self.max_peers = max_peers
        self.idle_timeout = idle_timeout
        self.total_timeout = total_timeout
        self.ice_server_config = [dict(server) for server in (ice_servers or [])]
        self.ice_servers: list[Any] = []  # aiortc RTCIceServer objects, made by load()
        self.host_addresses = host_addresses
        self.peers: dict[str, ServerPeer] = {}
        self._reserved = 0
        self._reaper: asyncio.Task | None = None
        self._loaded = False
        self._load_lock = threading.Lock()

    @property
    def loaded(self) -> bool:
        """True once the WebRTC engine is imported and configured (:meth:`load`)."""
        return self._loaded

    @staticmethod
    def installed() -> bool:
        """True when aiortc and PyAV are installed (nothing is imported)."""
        import importlib.util

        return all(importlib.util.find_spec(name) is not None for name in ("aiortc", "av"))

    def load(self) -> None:
        """Import the WebRTC engine (aiortc, aioice, PyAV and the output track), pin aioice's host
        addresses and build the ICE server objects; idempotent, blocking (~0.25 s the first time:
        the server calls it in a worker thread after start-up, :meth:`open` at the latest)."""
        with self._load_lock:
            if self._loaded:
                return
            from aiortc import RTCIceServer

            import adapters.realtime.tracks  # noqa: F401 - the output track's module (PyAV, NumPy)

            self.ice_servers = [RTCIceServer(**server) for server in self.ice_server_config]
            restrict_host_addresses(self.host_addresses)
            self._loaded = True

    @property
    def active(self) -> int:
        return len(self.peers)

    async def open(self, offer_sdp: str, on_event: Callable[[dict], Awaitable[None]],
                   attach: Callable[[ServerPeer], None]) -> ServerPeer:
        """Answer ``offer_sdp``; ``attach(peer)`` wires the speech loop before media flows.

        Raises :class:`InvalidOffer` or :class:`PeerLimitReached`.
        """
        _check_offer(offer_sdp)
        if len(self.peers) + self._reserved >= self.max_peers:
            raise PeerLimitReached(f"{self.max_peers} realtime peers are already connected")
        self._reserved += 1
        try:
            if not self._loaded:  # not yet loaded in the background: load it off the event loop
                await anyio.to_thread.run_sync(self.load)
        except BaseException:
            self._reserved -= 1
            raise
        from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription

        pc = RTCPeerConnection(RTCConfiguration(iceServers=self.ice_servers))
        peer = ServerPeer(self, pc, on_event)
        try:
            attach(peer)
            pc.addTrack(peer.output)
            await pc.setRemoteDescription(RTCSessionDescription(sdp=offer_sdp, type="offer"))
            for transceiver in pc.getTransceivers():
                if transceiver.kind == "audio" and not shorten_jitter_buffer(transceiver.receiver):
                    import aiortc

                    logger.warning("aiortc %s: audio jitter buffer not found, uplink keeps its 80 ms",
                                   getattr(aiortc, "__version__", "?"))
            answer = await pc.createAnswer()
            await pc.setLocalDescription(answer)
            peer.answer_sdp = pc.localDescription.sdp
        except Exception as exc:
            self._reserved -= 1
            await pc.close()
            if peer.loop is not None:
                await peer.loop.close()
            if isinstance(exc, InvalidOffer):
                raise
            raise InvalidOffer(f"SDP offer rejected: {exc}") from None
        self._reserved -= 1
        self.peers[peer.id] = peer
        self._ensure_reaper()
        return peer

    def _forget(self, peer: ServerPeer) -> None:
        self.peers.pop(peer.id, None)

    def _ensure_reaper(self) -> None:
        if self._reaper is None or self._reaper.done():
            self._reaper = asyncio.get_running_loop().create_task(self._reap())

    async def _reap(self) -> None:
        while self.peers:
            await asyncio.sleep(min(1.0, self.idle_timeout / 4))
            now = time.monotonic()
            for peer in list(self.peers.values()):
                last = peer.loop.last_activity if peer.loop is not None else peer.created
                if now - peer.created > self.total_timeout or now - last > self.idle_timeout:
                    reason = "total" if now - peer.created > self.total_timeout else "idle"
                    logger.info("closing peer %s: %s timeout", peer.id, reason)
                    await peer.send({"type": "closed", "reason": f"{reason}_timeout"})
                    await peer.close()

    async def close_all(self) -> None:
        """Close every peer (server shutdown) and stop the reaper."""
        await asyncio.gather(*(peer.close() for peer in list(self.peers.values())), return_exceptions=True)
        if self._reaper is not None:
            self._reaper.cancel()
            await asyncio.gather(self._reaper, return_exceptions=True)
            self._reaper = None
