"""The `openai` embedder against a real OpenAI-compatible server started by the test."""

from __future__ import annotations

import math
from collections.abc import AsyncIterator, Iterator

import pytest

from taskhub.search.embedders import (
    DISABLED,
    EmbeddingError,
    EmbeddingsDisabled,
    OpenAIEmbedder,
    make_embedder,
)
from taskhub.settings import ConfigError, Settings
from tests.search.stub_openai import StubState, running_stub, stub_vector
from tests.support.servers import free_port


@pytest.fixture
def state() -> StubState:
    return StubState(api_key="sk-test-key")


@pytest.fixture
def stub_url(state: StubState) -> Iterator[str]:
    with running_stub(state) as url:
        yield url


@pytest.fixture
async def embedder(stub_url: str) -> AsyncIterator[OpenAIEmbedder]:
    embedder = OpenAIEmbedder(stub_url, "stub-model", "sk-test-key", batch_size=4)
    yield embedder
    await embedder.aclose()


def unit(vector: list[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in vector))
    return [x / norm for x in vector]


async def test_vectors_come_back_in_input_order_normalised(
    embedder: OpenAIEmbedder, state: StubState
) -> None:
    texts = ["buy milk", "a banana", "", "call Anna about the invoice", "x"]
    vectors = await embedder.embed(texts)
    expected = [unit(stub_vector(t)) for t in texts]
    assert len(vectors) == len(expected)
    for got, want in zip(vectors, expected, strict=True):
        assert got == pytest.approx(want)
    assert embedder.dimension == 3
    assert embedder.ready


async def test_inputs_are_sent_in_batches_with_the_model_and_key(
    embedder: OpenAIEmbedder, state: StubState
) -> None:
    texts = [f"task {i}" for i in range(10)]
    await embedder.embed(texts)
    assert [r["input"] for r in state.requests] == [texts[0:4], texts[4:8], texts[8:10]]
    assert {r["model"] for r in state.requests} == {"stub-model"}
    assert set(state.authorizations) == {"Bearer sk-test-key"}


async def test_url_with_v1_suffix_is_accepted(stub_url: str) -> None:
    embedder = OpenAIEmbedder(stub_url + "/v1/", "stub-model", "sk-test-key")
    try:
        assert len(await embedder.embed(["one"])) == 1
    finally:
        await embedder.aclose()


async def test_start_probes_the_dimension_in_the_background(stub_url: str) -> None:
    embedder = OpenAIEmbedder(stub_url, "stub-model", "sk-test-key")
    try:
        assert not embedder.ready
        assert embedder.dimension is None
        embedder.start()
        await embedder.embed(["wait for the server once"])
        assert embedder.ready
        assert embedder.dimension == 3
    finally:
        await embedder.aclose()


async def test_wrong_key_is_an_error_naming_the_status_not_the_key(stub_url: str) -> None:
    embedder = OpenAIEmbedder(stub_url, "stub-model", "sk-wrong-secret")
    try:
        with pytest.raises(EmbeddingError, match="answered 401") as caught:
            await embedder.embed(["buy milk"])
    finally:
        await embedder.aclose()
    assert "sk-wrong-secret" not in str(caught.value)
    assert not embedder.ready


@pytest.mark.parametrize(
    ("behaviour", "message"),
    [
        ("500", "answered 500: model crashed"),
        ("garbage", "not an OpenAI embeddings response"),
        ("short", "answered 3 vectors for 4 texts"),
        ("ragged", "different lengths"),
    ],
)
async def test_bad_answers_are_clear_errors(
    embedder: OpenAIEmbedder, state: StubState, behaviour: str, message: str
) -> None:
    state.behaviour = behaviour
    with pytest.raises(EmbeddingError, match=message):
        await embedder.embed(["one", "two", "three", "four"])


async def test_a_slow_server_times_out(stub_url: str, state: StubState) -> None:
    state.behaviour, state.delay_seconds = "slow", 3.0
    embedder = OpenAIEmbedder(stub_url, "stub-model", "sk-test-key", timeout_seconds=0.3)
    try:
        with pytest.raises(EmbeddingError, match="timed out"):
            await embedder.embed(["buy milk"])
    finally:
        await embedder.aclose()


async def test_an_unreachable_server_is_a_clear_error() -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    embedder = OpenAIEmbedder(url, "stub-model", None, timeout_seconds=2)
    try:
        with pytest.raises(EmbeddingError, match="cannot reach the embeddings server"):
            await embedder.embed(["buy milk"])
    finally:
        await embedder.aclose()


async def test_settings_choose_the_embedder(stub_url: str) -> None:
    chosen = make_embedder(
        Settings(
            embeddings="openai",
            embeddings_url=stub_url,
            embeddings_model="stub-model",
            embeddings_api_key="sk-test-key",
        )
    )
    try:
        assert chosen.name == "stub-model"
        assert len(await chosen.embed(["one"])) == 1
    finally:
        await chosen.aclose()

    local = make_embedder(Settings())
    assert (local.name, local.dimension, local.ready) == ("all-MiniLM-L6-v2", 384, False)
    await local.aclose()


async def test_off_refuses_with_the_spec_message() -> None:
    off = make_embedder(Settings(embeddings="off"))
    assert not off.ready
    with pytest.raises(EmbeddingsDisabled, match=DISABLED):
        await off.embed(["buy milk"])


def test_openai_without_url_or_model_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="TASKHUB_EMBEDDINGS_URL"):
        make_embedder(Settings(embeddings="openai", embeddings_model="m"))
