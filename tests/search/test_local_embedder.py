"""The `local` embedder: loads in the background, verifies its weights, fails clearly."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from taskhub.search.embedders import EmbeddingError, LocalEmbedder
from taskhub.search.minilm import MiniLM, ModelError, model_dir


async def test_not_ready_until_the_background_load_finishes() -> None:
    gate = threading.Event()

    def slow_loader(directory: Path | None) -> MiniLM:
        gate.wait(timeout=30)
        return MiniLM.load(directory)

    embedder = LocalEmbedder(loader=slow_loader)
    try:
        embedder.start()  # returns at once: the load runs on the embedder's thread
        assert not embedder.ready
        gate.set()
        await embedder.wait_ready()
        assert embedder.ready
        [vector] = await embedder.embed(["buy milk and eggs"])
        assert len(vector) == 384
    finally:
        gate.set()
        await embedder.aclose()


async def test_embed_waits_for_the_load_when_called_first() -> None:
    embedder = LocalEmbedder()
    try:
        vectors = await embedder.embed(["a", "b"])
    finally:
        await embedder.aclose()
    assert len(vectors) == 2
    assert embedder.ready


def _model_copy(tmp_path: Path, weights: bytes) -> Path:
    """The package's model directory, copied, with `weights` as model.safetensors."""
    source = model_dir()
    for item in source.iterdir():
        if item.is_file() and item.name != "model.safetensors":
            (tmp_path / item.name).write_bytes(item.read_bytes())
    (tmp_path / "model.safetensors").write_bytes(weights)
    return tmp_path


async def test_weights_with_another_checksum_are_refused(tmp_path: Path) -> None:
    weights = bytearray((model_dir() / "model.safetensors").read_bytes())
    weights[-1] ^= 0xFF  # one flipped bit in the last tensor: still a valid file
    embedder = LocalEmbedder(model_directory=_model_copy(tmp_path, bytes(weights)))
    try:
        with pytest.raises(EmbeddingError, match="sha256") as caught:
            await embedder.embed(["buy milk"])
    finally:
        await embedder.aclose()
    assert "refusing to load" in str(caught.value)
    assert not embedder.ready
    assert embedder.error is not None
    assert "sha256" in embedder.error


async def test_missing_weights_are_a_clear_error(tmp_path: Path) -> None:
    embedder = LocalEmbedder(model_directory=tmp_path)
    try:
        with pytest.raises(EmbeddingError, match="cannot read"):
            await embedder.wait_ready()
    finally:
        await embedder.aclose()


def test_loader_refuses_weights_not_matching_the_expected_hash() -> None:
    with pytest.raises(ModelError, match=r"expected 0{64}"):
        MiniLM.load(model_dir(), sha256="0" * 64)


async def test_empty_input_gives_no_vectors() -> None:
    embedder = LocalEmbedder()
    try:
        assert await embedder.embed([]) == []
    finally:
        await embedder.aclose()
