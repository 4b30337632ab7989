"""A numpy (float64) BERT forward pass (sentence-transformers mean pooling) for checking llama.cpp's embeddings."""

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


def reference_embedding(ids: list[int]) -> np.ndarray:
    """Mean-pooled, L2-normalised sentence embedding of one token-id sequence (all tokens attended)."""
    config, t = _weights()
    eps = config["layer_norm_eps"]
    ids_arr = np.asarray(ids)
    h = (t["embeddings.word_embeddings.weight"][ids_arr] + t["embeddings.position_embeddings.weight"][:len(ids)]
         + t["embeddings.token_type_embeddings.weight"][0]).astype(np.float64)
    h = _layer_norm(h, t["embeddings.LayerNorm.weight"], t["embeddings.LayerNorm.bias"], eps)
    for i in range(config["num_hidden_layers"]):
        h = _layer(h, t, f"encoder.layer.{i}.", config["num_attention_heads"], eps)
    pooled = h.mean(0)
    return (pooled / np.linalg.norm(pooled)).astype(np.float32)
