"""Embedders: text -> unit vectors, behind one interface chosen by TASKHUB_EMBEDDINGS.

- `local` (default): all-MiniLM-L6-v2 in this process (taskhub.search.minilm), loaded
  in the background so the server answers before the model is ready.
- `openai`: any OpenAI-compatible `POST {url}/v1/embeddings` (OpenAI, Ollama, vLLM...).
- `off`: no semantic features; callers answer 409 (SPEC §7).

Callers check `ready` before a request-path embedding (search falls back to text while
it is False); background jobs simply await `embed`, which waits for the load.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from taskhub.settings import ConfigError, Settings

if TYPE_CHECKING:
    from taskhub.search.minilm import MiniLM

Vector = list[float]
DISABLED = "Semantic search is not enabled on this server"


class EmbeddingError(Exception):
    """Embeddings could not be computed; the message says why, without secrets."""


class EmbeddingsDisabled(EmbeddingError):
    def __init__(self) -> None:
        super().__init__(DISABLED)


class Embedder(Protocol):
    @property
    def name(self) -> str:
        """The model's name: stored with each vector so a model change is detected."""

    @property
    def dimension(self) -> int | None:
        """Vector length; None until known (an `openai` model's before its first answer)."""

    @property
    def ready(self) -> bool:
        """True once `embed` can answer without waiting for a load or a probe."""

    def start(self) -> None:
        """Begin loading in the background; returns at once. Needs a running loop."""

    async def embed(self, texts: list[str]) -> list[Vector]:
        """One unit vector per text, in order. Raises EmbeddingError."""

    async def aclose(self) -> None: ...


class OffEmbedder:
    name = "off"
    dimension = None
    ready = False

    def start(self) -> None:
        return None

    async def embed(self, texts: list[str]) -> list[Vector]:
        raise EmbeddingsDisabled

    async def aclose(self) -> None:
        return None


def _load_minilm(directory: Path | None) -> MiniLM:
    # Imported here: numpy and tokenizers cost ~0.2 s and are not needed with `off`.
    from taskhub.search.minilm import MiniLM

    return MiniLM.load(directory)


class LocalEmbedder:
    """all-MiniLM-L6-v2 in-process, on one dedicated thread.

    One worker thread serialises the forward passes: BLAS already uses the cores, and
    two concurrent batches would only double the memory. The event loop never runs the
    model, so requests keep being answered while a batch is embedded.
    """

    dimension = 384

    def __init__(
        self,
        model_directory: Path | None = None,
        loader: Callable[[Path | None], MiniLM] = _load_minilm,
    ) -> None:
        from taskhub.search.minilm import MODEL_NAME

        self.name = MODEL_NAME
        self._directory = model_directory
        self._loader = loader
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="taskhub-embed")
        self._load: asyncio.Future[MiniLM] | None = None

    @property
    def ready(self) -> bool:
        load = self._load
        return load is not None and load.done() and load.exception() is None

    @property
    def error(self) -> str | None:
        """Why the model failed to load, once it has."""
        load = self._load
        if load is None or not load.done() or load.exception() is None:
            return None
        return str(load.exception())

    def start(self) -> None:
        if self._load is None:
            loop = asyncio.get_running_loop()
            self._load = loop.run_in_executor(self._executor, self._loader, self._directory)

    async def wait_ready(self) -> None:
        """Wait for the load; raises EmbeddingError if it failed."""
        self.start()
        assert self._load is not None
        try:
            await asyncio.shield(self._load)
        except Exception as exc:
            raise EmbeddingError(f"the local embedding model did not load: {exc}") from None

    async def embed(self, texts: list[str]) -> list[Vector]:
        await self.wait_ready()
        assert self._load is not None
        model = self._load.result()
        if not texts:
            return []
        loop = asyncio.get_running_loop()
        vectors = await loop.run_in_executor(self._executor, model.embed, texts)
        result: list[Vector] = vectors.tolist()
        return result

    async def aclose(self) -> None:
        # wait=False: a load still running finishes on its own; nothing awaits it any more.
        self._executor.shutdown(wait=False, cancel_futures=True)


class OpenAIEmbedder:
    """An OpenAI-compatible embeddings endpoint, called in batches with httpx."""

    def __init__(
        self,
        url: str,
        model: str,
        api_key: str | None = None,
        *,
        batch_size: int = 64,
        timeout_seconds: float = 30.0,
    ) -> None:
        base = url.rstrip("/").removesuffix("/v1")
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.name = model
        self._url = base + "/v1/embeddings"
        self._batch_size = batch_size
        self._client = httpx.AsyncClient(
            headers=headers,
            timeout=httpx.Timeout(timeout_seconds, connect=min(timeout_seconds, 5.0)),
        )
        self._dimension: int | None = None
        self._probe: asyncio.Task[list[Vector]] | None = None

    @property
    def dimension(self) -> int | None:
        return self._dimension

    @property
    def ready(self) -> bool:
        return self._dimension is not None

    def start(self) -> None:
        # One tiny request learns the dimension and proves the endpoint answers.
        if self._probe is None:
            self._probe = asyncio.get_running_loop().create_task(self.embed(["taskhub"]))
            self._probe.add_done_callback(_consume_exception)

    async def embed(self, texts: list[str]) -> list[Vector]:
        vectors: list[Vector] = []
        for start in range(0, len(texts), self._batch_size):
            vectors.extend(await self._embed_batch(texts[start : start + self._batch_size]))
        return vectors

    async def _embed_batch(self, texts: list[str]) -> list[Vector]:
        try:
            response = await self._client.post(self._url, json={"model": self.name, "input": texts})
        except httpx.TimeoutException:
            raise EmbeddingError(f"the embeddings server at {self._url} timed out") from None
        except httpx.HTTPError as exc:
            raise EmbeddingError(
                f"cannot reach the embeddings server at {self._url}: {type(exc).__name__}"
            ) from None
        if response.status_code != 200:
            raise EmbeddingError(
                f"the embeddings server at {self._url} answered {response.status_code}: "
                f"{response.text[:200]}"
            )
        vectors = _parse_embeddings(response, len(texts))
        dimension = len(vectors[0])
        if self._dimension is None:
            self._dimension = dimension
        elif dimension != self._dimension:
            raise EmbeddingError(
                f"the embeddings server changed dimension from {self._dimension} to {dimension}"
            )
        return [_unit(vector) for vector in vectors]

    async def aclose(self) -> None:
        if self._probe is not None:
            self._probe.cancel()
        await self._client.aclose()


def _consume_exception(task: asyncio.Task[Any]) -> None:
    # The probe's failure is reported by the next real call; don't warn "never retrieved".
    if not task.cancelled():
        task.exception()


def _parse_embeddings(response: httpx.Response, count: int) -> list[Vector]:
    """The vectors of an OpenAI-style answer, in input order (each item carries its index)."""
    try:
        items = response.json()["data"]
        by_index = {int(item["index"]): [float(x) for x in item["embedding"]] for item in items}
    except (ValueError, KeyError, TypeError):
        raise EmbeddingError(
            "the embeddings server's answer is not an OpenAI embeddings response"
        ) from None
    if sorted(by_index) != list(range(count)):
        raise EmbeddingError(
            f"the embeddings server answered {len(by_index)} vectors for {count} texts"
        )
    vectors = [by_index[i] for i in range(count)]
    if not vectors[0] or any(len(v) != len(vectors[0]) for v in vectors):
        raise EmbeddingError("the embeddings server answered vectors of different lengths")
    return vectors


def _unit(vector: Vector) -> Vector:
    # Cosine search assumes unit vectors; not every server normalises (Ollama's models vary).
    norm = math.sqrt(sum(x * x for x in vector))
    return vector if norm == 0 else [x / norm for x in vector]


def make_embedder(settings: Settings) -> Embedder:
    """The embedder TASKHUB_EMBEDDINGS names; ConfigError for a half-configured `openai`."""
    if settings.embeddings == "off":
        return OffEmbedder()
    if settings.embeddings == "local":
        return LocalEmbedder()
    if not settings.embeddings_url or not settings.embeddings_model:
        raise ConfigError(
            "TASKHUB_EMBEDDINGS=openai needs TASKHUB_EMBEDDINGS_URL and TASKHUB_EMBEDDINGS_MODEL"
        )
    key = settings.embeddings_api_key
    return OpenAIEmbedder(
        settings.embeddings_url,
        settings.embeddings_model,
        key.get_secret_value() if key is not None else None,
        timeout_seconds=settings.embeddings_timeout_seconds,
    )
