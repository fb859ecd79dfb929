"""Choose the duplicate-warning threshold from labelled pairs (tests/search/data/duplicates.json).

Prints each pair's cosine similarity under all-MiniLM-L6-v2 and, for every candidate
threshold, precision and recall of "is a duplicate": the threshold kept in
search.semantic.DUPLICATE_THRESHOLD is the one with the best F1, ties going to the
higher threshold (a false warning annoys more than a missed one).

    .venv/bin/python scripts/calibrate_duplicates.py
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from taskhub.search.embedders import LocalEmbedder

DATA = Path(__file__).resolve().parents[1] / "tests" / "search" / "data" / "duplicates.json"


async def similarities() -> list[tuple[str, str, bool, float]]:
    pairs = json.loads(DATA.read_text())["pairs"]
    embedder = LocalEmbedder()
    try:
        left = await embedder.embed([a for a, _, _ in pairs])
        right = await embedder.embed([b for _, b, _ in pairs])
    finally:
        await embedder.aclose()
    return [
        (a, b, bool(same), sum(x * y for x, y in zip(u, v, strict=True)))
        for (a, b, same), u, v in zip(pairs, left, right, strict=True)
    ]


def best_threshold(scored: list[tuple[str, str, bool, float]]) -> tuple[float, float]:
    """(threshold, F1) of the best candidate in 0.50 .. 0.95 by 0.05."""
    best = (0.0, -1.0)
    for step in range(10, 20):
        threshold = round(step * 0.05, 2)
        hits = [same for *_, same, score in scored if score >= threshold]
        true_positive = sum(hits)
        positives = sum(same for _, _, same, _ in scored)
        precision = true_positive / len(hits) if hits else 1.0
        recall = true_positive / positives
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        print(
            f"threshold {threshold:.2f}: precision {precision:.2f} recall {recall:.2f} F1 {f1:.3f}"
        )
        if f1 >= best[1]:
            best = (threshold, f1)
    return best


def main() -> None:
    scored = asyncio.run(similarities())
    for a, b, same, score in sorted(scored, key=lambda item: item[3]):
        print(f"{score:.3f} {'DUP ' if same else 'diff'} {a!r} ~ {b!r}")
    threshold, f1 = best_threshold(scored)
    print(f"best: {threshold:.2f} (F1 {f1:.3f})")


if __name__ == "__main__":
    main()
