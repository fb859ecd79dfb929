"""The `local` embedder reproduces sentence-transformers: cosine >= 0.999 on every text.

The reference vectors come from scripts/make_reference_vectors.py, run once with
sentence-transformers on torch; this test needs neither.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from taskhub.search.embedders import LocalEmbedder
from taskhub.search.minilm import MAX_TOKENS, MODEL_SHA256

REFERENCE = Path(__file__).parent / "data" / "reference_vectors.json"


@pytest.fixture(scope="module")
def reference() -> dict[str, Any]:
    record: dict[str, Any] = json.loads(REFERENCE.read_text(encoding="utf-8"))
    return record


def cosine(a: list[float], b: list[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


async def test_local_vectors_match_sentence_transformers(reference: dict[str, Any]) -> None:
    assert reference["model_sha256"] == MODEL_SHA256
    assert reference["max_seq_length"] == MAX_TOKENS
    texts = [item["text"] for item in reference["items"]]
    embedder = LocalEmbedder()
    try:
        vectors = await embedder.embed(texts)
    finally:
        await embedder.aclose()

    scores = {
        item["text"][:40]: cosine(vector, item["vector"])
        for item, vector in zip(reference["items"], vectors, strict=True)
    }
    below = {text: score for text, score in scores.items() if score < 0.999}
    assert not below, below
    assert all(len(vector) == embedder.dimension for vector in vectors)
    assert all(abs(math.sqrt(sum(x * x for x in v)) - 1) < 1e-5 for v in vectors)


async def test_text_past_the_token_window_is_truncated(reference: dict[str, Any]) -> None:
    # The reference set holds a long text with and without a tail beyond 256 tokens.
    longest = sorted(reference["items"], key=lambda item: len(item["text"]))[-2:]
    embedder = LocalEmbedder()
    try:
        short, long = await embedder.embed([item["text"] for item in longest])
    finally:
        await embedder.aclose()
    assert longest[1]["text"].startswith(longest[0]["text"])
    assert cosine(short, long) > 0.99999


async def test_batch_order_does_not_change_a_vector() -> None:
    # Texts are sorted by length and padded per batch inside; padding must not leak in.
    texts = [f"task number {i} " + "word " * (i % 17) for i in range(40)]
    embedder = LocalEmbedder()
    try:
        together = await embedder.embed(texts)
        alone = [(await embedder.embed([text]))[0] for text in texts[:3]]
    finally:
        await embedder.aclose()
    for one, batched in zip(alone, together[:3], strict=True):
        assert cosine(one, batched) > 0.99999
