"""PeerManager: answers offers, enforces limits, leaves nothing behind."""

from __future__ import annotations

import asyncio
import gc

import pytest
from aiortc import RTCPeerConnection
from aiortc.jitterbuffer import JitterBuffer

from adapters.realtime.peer import AUDIO_PREFETCH, InvalidOffer, PeerLimitReached, PeerManager
from tools.caller import Caller


async def _noop(_event):
    return None


def _attach(_peer):
    return None


async def _connect(manager: PeerManager):
    caller = Caller()
    peer = await manager.open(await caller.offer(), _noop, _attach)
    await caller.accept(peer.answer_sdp)
    return caller, peer


@pytest.mark.parametrize("sdp", ["", "hello", "v=0\r\no=- 0 0 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n",
                                 "v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n"])
async def test_invalid_offers_leave_nothing(sdp):
    manager = PeerManager(host_addresses=["127.0.0.1"])
    with pytest.raises(InvalidOffer):
        await manager.open(sdp, _noop, _attach)
    assert manager.active == 0 and manager._reserved == 0


async def test_limit_and_close_all():
    manager = PeerManager(host_addresses=["127.0.0.1"], max_peers=2)
    callers = []
    for _ in range(2):
        callers.append((await _connect(manager))[0])
    with pytest.raises(PeerLimitReached):
        await manager.open(await Caller().offer(), _noop, _attach)
    assert manager.active == 2
    await manager.close_all()
    assert manager.active == 0
    for caller in callers:
        await caller.close()


async def test_idle_timeout_closes_peer():
    manager = PeerManager(host_addresses=["127.0.0.1"], idle_timeout=0.4)
    caller, peer = await _connect(manager)
    await asyncio.wait_for(peer.closed.wait(), 5)
    assert manager.active == 0 and peer.pc.connectionState == "closed"
    await caller.close()
    await manager.close_all()


async def test_fifty_peers_open_and_close_without_leaks():
    manager = PeerManager(host_addresses=["127.0.0.1"], max_peers=5)
    baseline_tasks = len(asyncio.all_tasks())
    for _ in range(50):
        caller, peer = await _connect(manager)
        await caller.close()
        await peer.close()
    await manager.close_all()
    await asyncio.sleep(0.2)
    gc.collect()
    assert manager.active == 0
    leftover = [t for t in asyncio.all_tasks() if not t.done()]
    assert len(leftover) <= baseline_tasks, [t.get_coro() for t in leftover]
    alive = [o for o in gc.get_objects() if isinstance(o, RTCPeerConnection) and o.connectionState != "closed"]
    assert alive == []


async def test_the_server_receives_audio_with_a_one_frame_jitter_buffer():
    """aiortc holds 4 frames (80 ms) per audio receiver; the server's peers hold 1 (issue 15).
    This fails loudly if an aiortc upgrade moves the buffer (the peer would log a warning)."""
    manager = PeerManager(host_addresses=["127.0.0.1"])
    caller, peer = await _connect(manager)
    try:
        [receiver] = [t.receiver for t in peer.pc.getTransceivers() if t.kind == "audio"]
        buffer = getattr(receiver, "_RTCRtpReceiver__jitter_buffer")  # noqa: B009 - aiortc's private attribute
        assert isinstance(buffer, JitterBuffer) and buffer._prefetch == AUDIO_PREFETCH == 1
        # the caller's own receiver keeps aiortc's default
        [theirs] = [t.receiver for t in caller.pc.getTransceivers() if t.kind == "audio"]
        assert getattr(theirs, "_RTCRtpReceiver__jitter_buffer")._prefetch == 4  # noqa: B009
    finally:
        await caller.close()
        await manager.close_all()
