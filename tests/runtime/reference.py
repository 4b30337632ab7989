"""A numpy (float64) BERT forward pass for checking llama.cpp: sentence-transformers mean pooling for embeddings, and a
cross-encoder score (pooler + classifier on [CLS]) for a test reranker built from the same weights."""

from __future__ import annotations

import json
import math
import zipfile
from functools import cache

import numpy as np

from studio.runtime.bert_gguf import bundled_zip


@cache
def reference_tokenizer():
    """Hugging Face's own tokenizer for the bundled model, without its 128-token padding/truncation."""
    from tokenizers import Tokenizer

    with zipfile.ZipFile(bundled_zip()) as zf:
        tok = Tokenizer.from_str(zf.read("tokenizer.json").decode("utf-8"))
    tok.no_padding()
    tok.no_truncation()
    return tok


@cache
def _weights() -> tuple[dict, dict]:
    from safetensors.numpy import load

    with zipfile.ZipFile(bundled_zip()) as zf:
        return json.loads(zf.read("config.json")), load(zf.read("model.safetensors"))


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def _erf(x: np.ndarray) -> np.ndarray:
    """Abramowitz & Stegun 7.1.26 (error < 1.5e-7): vectorised, where math.erf per element is slow."""
    sign, a = np.sign(x), np.abs(x)
    t = 1.0 / (1.0 + 0.3275911 * a)
    poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))))
    return sign * (1.0 - poly * np.exp(-a * a))


def _gelu(x: np.ndarray) -> np.ndarray:
    return 0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)))  # BERT's exact (erf) GELU, not the tanh one


def _layer(h: np.ndarray, t: dict, p: str, heads: int, eps: float) -> np.ndarray:
    def dense(x, name):
        return x @ t[f"{p}{name}.weight"].T + t[f"{p}{name}.bias"]

    n, dim = h.shape
    hd = dim // heads
    q, k, v = (dense(h, f"attention.self.{n_}").reshape(n, heads, hd).transpose(1, 0, 2)
               for n_ in ("query", "key", "value"))
    scores = q @ k.transpose(0, 2, 1) / math.sqrt(hd)
    scores = np.exp(scores - scores.max(-1, keepdims=True))
    ctx = (scores / scores.sum(-1, keepdims=True)) @ v
    attn = dense(ctx.transpose(1, 0, 2).reshape(n, dim), "attention.output.dense")
    h = _layer_norm(attn + h, t[f"{p}attention.output.LayerNorm.weight"], t[f"{p}attention.output.LayerNorm.bias"], eps)
    ff = dense(_gelu(dense(h, "intermediate.dense")), "output.dense")
    return _layer_norm(ff + h, t[f"{p}output.LayerNorm.weight"], t[f"{p}output.LayerNorm.bias"], eps)


def _hidden(ids: list[int], type_ids: list[int] | None = None) -> np.ndarray:
    """The last layer's hidden states, one row per token; token type 0 everywhere unless `type_ids` says."""
    config, t = _weights()
    eps = config["layer_norm_eps"]
    ids_arr = np.asarray(ids)
    types = np.zeros(len(ids), dtype=int) if type_ids is None else np.asarray(type_ids)
    h = (t["embeddings.word_embeddings.weight"][ids_arr] + t["embeddings.position_embeddings.weight"][:len(ids)]
         + t["embeddings.token_type_embeddings.weight"][types]).astype(np.float64)
    h = _layer_norm(h, t["embeddings.LayerNorm.weight"], t["embeddings.LayerNorm.bias"], eps)
    for i in range(config["num_hidden_layers"]):
        h = _layer(h, t, f"encoder.layer.{i}.", config["num_attention_heads"], eps)
    return h


def reference_embedding(ids: list[int]) -> np.ndarray:
    """Mean-pooled, L2-normalised sentence embedding of one token-id sequence (all tokens attended)."""
    pooled = _hidden(ids).mean(0)
    return (pooled / np.linalg.norm(pooled)).astype(np.float32)


# -- a test cross-encoder ------------------------------------------------------------------------------------------
# No package ships cross-encoder weights, so the reranker tests use MiniLM's encoder with a seeded random head in
# BertForSequenceClassification's layout: pooler (dense + tanh on [CLS]) and a one-logit classifier. Its scores mean
# nothing for relevance; llama.cpp must reproduce them. The scales keep tanh out of saturation and spread the logits
# over a few units, so scores differ well beyond float16 rounding.
HEAD_SEED = 20240917


@cache
def rerank_head() -> dict[str, np.ndarray]:
    config, _ = _weights()
    dim = int(config["hidden_size"])
    rng = np.random.default_rng(HEAD_SEED)
    return {
        "pooler.dense.weight": (rng.standard_normal((dim, dim)) / math.sqrt(dim)).astype(np.float32),
        "pooler.dense.bias": (0.1 * rng.standard_normal(dim)).astype(np.float32),
        "classifier.weight": (4.0 * rng.standard_normal((1, dim)) / math.sqrt(dim)).astype(np.float32),
        "classifier.bias": np.asarray([0.25], dtype=np.float32),
    }


def write_test_reranker(path) -> None:
    """A real cross-encoder GGUF (rank pooling) through Studio's own converter: the bundled weights + rerank_head()."""
    from studio.runtime import bert_gguf

    config, tensors = _weights()
    with zipfile.ZipFile(bundled_zip()) as zf:
        tokenizer = json.loads(zf.read("tokenizer.json"))
    heads = {k: v for k, v in tensors.items() if not k.startswith("pooler.")}
    bert_gguf.write_gguf(path, name="minilm-test-reranker", config=config, tokenizer=tokenizer,
                         tensors={**heads, **rerank_head()})


def reference_rerank_logit(ids: list[int], type_ids: list[int] | None = None) -> float:
    """The head's logit for one "[CLS] query [SEP] passage [SEP]" sequence. llama.cpp's BERT graph adds token-type
    row 0 to every token (models/bert.cpp: "token types are hardcoded to zero"), so that is the default here; pass
    Hugging Face's type_ids (1 for the passage) to see what a transformers cross-encoder would compute instead."""
    head = {k: v.astype(np.float64) for k, v in rerank_head().items()}
    cls = _hidden(ids, type_ids)[0]
    pooled = np.tanh(head["pooler.dense.weight"] @ cls + head["pooler.dense.bias"])
    return float(head["classifier.weight"][0] @ pooled + head["classifier.bias"][0])


def reference_rerank_score(ids: list[int], type_ids: list[int] | None = None) -> float:
    """The sigmoid of reference_rerank_logit: what LlamaReranker.rerank returns."""
    return 1.0 / (1.0 + math.exp(-reference_rerank_logit(ids, type_ids)))
