"""Search fixtures: one local model per test session, a stub OpenAI-compatible server."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import pytest

from taskhub.search.embedders import LocalEmbedder
from tests.search.stub_openai import StubState, running_stub


@pytest.fixture(scope="session")
async def local_embedder() -> AsyncIterator[LocalEmbedder]:
    """all-MiniLM-L6-v2, loaded once: apps borrow it (tests/search/semantic_scenarios.Shared)."""
    embedder = LocalEmbedder()
    await embedder.wait_ready()
    yield embedder
    await embedder.aclose()


@pytest.fixture(scope="module")
def chat_stub() -> Iterator[tuple[StubState, str]]:
    """A real OpenAI-compatible server (chat completions) on a free port, and its state."""
    state = StubState()
    with running_stub(state) as url:
        yield state, url
