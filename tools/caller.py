"""A WebRTC caller for tests, benchmarks and manual checks: an aiortc peer that speaks synthesized
audio (espeak-ng) into a call and records what the other side sends back."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import av
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from adapters.providers import audio as codec
from adapters.providers.base import VoiceSettings
from adapters.providers.espeak import EspeakTTS
from adapters.realtime.tracks import SpeechOutputTrack


async def speech_48k(text: str) -> bytes:
    """``text`` spoken by espeak-ng as 48 kHz mono PCM."""
    synthesis = await EspeakTTS().synthesize(text, VoiceSettings(voice_id="en-us", rate=0.85), 22050)
    return codec.pcm_resample(synthesis.pcm, 22050, 48000)


class Caller:
    """Client side: offers audio send/recv plus an ``events`` data channel."""

    def __init__(self) -> None:
        self.pc = RTCPeerConnection()
        self.mic = SpeechOutputTrack()
        self.pc.addTrack(self.mic)
        self.channel = self.pc.createDataChannel("events")
        self.events: list[dict[str, Any]] = []
        self.received = bytearray()
        self._tasks: list[asyncio.Task[None]] = []
        self._resampler = av.AudioResampler(format="s16", layout="mono", rate=16000)
        self.channel.on("message", lambda m: self.events.append(json.loads(m)))

        @self.pc.on("track")
        def on_track(track: MediaStreamTrack) -> None:
            self._tasks.append(asyncio.get_running_loop().create_task(self._record(track)))

    async def _record(self, track: MediaStreamTrack) -> None:
        try:
            while True:
                frame = await track.recv()
                if not isinstance(frame, av.AudioFrame):  # an audio track only yields audio frames
                    continue
                for out in self._resampler.resample(frame):
                    self.received.extend(bytes(out.planes[0])[: out.samples * 2])
        except (MediaStreamError, asyncio.CancelledError):
            pass

    async def offer(self) -> str:
        await self.pc.setLocalDescription(await self.pc.createOffer())
        return self.pc.localDescription.sdp

    async def accept(self, answer_sdp: str) -> None:
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer_sdp, type="answer"))

    async def wait_for(self, predicate: Callable[[dict[str, Any]], bool], timeout: float = 30.0) -> dict[str, Any]:
        """The first data-channel event ``predicate`` accepts (AssertionError after ``timeout`` seconds)."""
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            for event in self.events:
                if predicate(event):
                    return event
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"timed out; events so far: {self.events}")
            await asyncio.sleep(0.05)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await self.pc.close()
