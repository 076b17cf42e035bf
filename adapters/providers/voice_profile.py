"""The voice-training computation of Vertebro Voice: a speaker *voice profile* from samples.

A documented placeholder for real voice-model training (which needs a GPU and a TTS model
family this project does not ship), but a real computation on the real audio:

1. **prepare** each sample: decode to 16 kHz mono, 25 ms frames every 10 ms, keep voiced frames
   (energy above the sample's 30th percentile), compute 20 log-mel band energies per frame and
   the frame's pitch (autocorrelation, 60-400 Hz). At most :data:`FRAMES_PER_SAMPLE` frames are
   kept (evenly spaced) so a checkpoint stays small.
2. **train**: k-means (:data:`CLUSTERS` centroids) over all kept frames, one Lloyd iteration per
   epoch; the centroids after each epoch are the checkpoint.
3. **validate**: each sample's mean distance to its nearest centroid (lower = the sample is
   consistent with the profile); the profile is accepted when every sample is within
   :data:`MAX_SAMPLE_DISTANCE` × the overall mean distance.

Units: seconds, Hz, dB. Every function is pure (NumPy in, plain data out) and deterministic.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from adapters.providers import audio as codec

__all__ = ["CLUSTERS", "FRAMES_PER_SAMPLE", "kmeans_step", "prepare_sample", "initial_centroids", "validate"]

RATE = 16000
FRAME = 400  # 25 ms
HOP = 160  # 10 ms
BANDS = 20
FRAMES_PER_SAMPLE = 300
CLUSTERS = 8
MAX_SAMPLE_DISTANCE = 3.0


def _mel_filters(n_fft: int = 512, bands: int = BANDS, low: float = 60.0, high: float = 7600.0) -> np.ndarray:
    def mel(f):
        return 2595.0 * np.log10(1.0 + f / 700.0)

    def hz(m):
        return 700.0 * (10 ** (m / 2595.0) - 1.0)

    points = hz(np.linspace(mel(low), mel(high), bands + 2))
    bins = np.floor((n_fft + 1) * points / RATE).astype(int)
    filters = np.zeros((bands, n_fft // 2 + 1))
    for b in range(bands):
        left, centre, right = bins[b], bins[b + 1], max(bins[b + 2], bins[b + 1] + 1)
        for k in range(left, centre):
            filters[b, k] = (k - left) / max(centre - left, 1)
        for k in range(centre, right):
            filters[b, k] = (right - k) / max(right - centre, 1)
    return filters


_FILTERS = _mel_filters()


def _pitch(frame: np.ndarray) -> float | None:
    """Fundamental frequency of one frame by autocorrelation (60-400 Hz), None when unvoiced."""
    frame = frame - frame.mean()
    corr = np.correlate(frame, frame, mode="full")[len(frame) - 1 :]
    if corr[0] <= 0:
        return None
    lo, hi = RATE // 400, RATE // 60
    lag = lo + int(np.argmax(corr[lo:hi]))
    return RATE / lag if corr[lag] / corr[0] > 0.3 else None


def prepare_sample(data: bytes) -> dict[str, Any]:
    """Features of one encoded sample: ``{duration_seconds, frames (list of 20-float lists),
    pitch_hz (median, or None), energy_db}``. Raises AudioDecodeError for undecodable audio."""
    pcm = codec.decode(data, sample_rate=RATE)
    samples = codec.pcm_to_float32(pcm).astype(np.float64)
    duration = len(samples) / RATE
    if len(samples) < FRAME:
        samples = np.pad(samples, (0, FRAME - len(samples)))
    count = 1 + (len(samples) - FRAME) // HOP
    index = np.arange(FRAME)[None, :] + HOP * np.arange(count)[:, None]
    frames = samples[index] * np.hanning(FRAME)
    energy = (frames ** 2).mean(axis=1)
    voiced = energy >= np.percentile(energy, 30) if count > 3 else np.ones(count, bool)
    spectrum = np.abs(np.fft.rfft(frames[voiced], n=512)) ** 2
    logmel = np.log(spectrum @ _FILTERS.T + 1e-10)
    keep = np.linspace(0, len(logmel) - 1, min(len(logmel), FRAMES_PER_SAMPLE)).astype(int)
    pitches = [p for p in (_pitch(samples[i * HOP : i * HOP + FRAME]) for i in np.flatnonzero(voiced)[::5])
               if p is not None]
    return {
        "duration_seconds": round(duration, 4),
        "frames": np.round(logmel[keep], 4).tolist(),
        "pitch_hz": round(float(np.median(pitches)), 2) if pitches else None,
        "energy_db": round(float(10 * np.log10(energy[voiced].mean() + 1e-12)), 2),
    }


def _stack(prepared: list[dict[str, Any]]) -> np.ndarray:
    return np.concatenate([np.asarray(p["frames"], dtype=np.float64).reshape(-1, BANDS) for p in prepared])


def initial_centroids(prepared: list[dict[str, Any]], k: int = CLUSTERS) -> list[list[float]]:
    """Deterministic k-means initialisation: ``k`` frames evenly spaced over all frames."""
    frames = _stack(prepared)
    picks = np.linspace(0, len(frames) - 1, min(k, len(frames))).astype(int)
    return frames[picks].tolist()


def kmeans_step(prepared: list[dict[str, Any]], centroids: list[list[float]]) -> tuple[list[list[float]], float]:
    """One Lloyd iteration: ``(new centroids, mean squared distance before the update)``."""
    frames = _stack(prepared)
    c = np.asarray(centroids, dtype=np.float64)
    distances = ((frames[:, None, :] - c[None, :, :]) ** 2).sum(-1)
    nearest = distances.argmin(1)
    inertia = float(distances[np.arange(len(frames)), nearest].mean())
    updated = np.array([frames[nearest == j].mean(0) if np.any(nearest == j) else c[j] for j in range(len(c))])
    return np.round(updated, 6).tolist(), round(inertia, 6)


def validate(prepared: list[dict[str, Any]], centroids: list[list[float]]) -> dict[str, Any]:
    """Per-sample consistency with the profile and the profile summary."""
    c = np.asarray(centroids, dtype=np.float64)
    per_sample = []
    for p in prepared:
        frames = np.asarray(p["frames"], dtype=np.float64).reshape(-1, BANDS)
        per_sample.append(float(np.sqrt(((frames[:, None, :] - c[None]) ** 2).sum(-1).min(1)).mean()))
    overall = float(np.mean(per_sample)) if per_sample else 0.0
    pitches = [p["pitch_hz"] for p in prepared if p.get("pitch_hz")]
    return {
        "sample_distances": [round(d, 4) for d in per_sample],
        "mean_distance": round(overall, 4),
        "consistent": all(d <= MAX_SAMPLE_DISTANCE * overall for d in per_sample) if overall else True,
        "pitch_hz": round(float(np.median(pitches)), 2) if pitches else None,
        "energy_db": round(float(np.mean([p["energy_db"] for p in prepared])), 2) if prepared else None,
        "total_duration_seconds": round(sum(p["duration_seconds"] for p in prepared), 3),
    }
