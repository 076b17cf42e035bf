"""TF-IDF over small corpora of stem lists (sentences of a text, knowledge snippets), and cosine similarity."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence


class _Tfidf:
    """TF-IDF over a small corpus of stem lists; ``vector`` gives L2-normalised sparse vectors."""

    def __init__(self, docs: Sequence[Sequence[str]]) -> None:
        n = len(docs)
        df: Counter[str] = Counter()
        for doc in docs:
            df.update(set(doc))
        self.idf = {t: math.log((1 + n) / (1 + c)) + 1.0 for t, c in df.items()}
        self.unknown_idf = math.log(1 + n) + 1.0

    def vector(self, terms: Iterable[str]) -> dict[str, float]:
        """The unit-length TF-IDF vector of ``terms`` (``{}`` for none); unseen terms get the highest IDF."""
        tf = Counter(terms)
        vec = {t: (1.0 + math.log(c)) * self.idf.get(t, self.unknown_idf) for t, c in tf.items()}
        norm = math.sqrt(sum(x * x for x in vec.values()))
        return {t: x / norm for t, x in vec.items()} if norm else {}


def _cosine(a: Mapping[str, float], b: Mapping[str, float]) -> float:
    """The dot product of two sparse vectors (their cosine, when both have unit length)."""
    if len(a) > len(b):
        a, b = b, a
    return sum(x * b.get(t, 0.0) for t, x in a.items())
