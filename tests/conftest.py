"""Shared fixtures: tiny models built from config (no downloads), offline env."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("WANDB_MODE", "offline")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


@pytest.fixture(scope="session")
def smollm_tokenizer():
    from harness.embedded import embedded_tokenizer

    return embedded_tokenizer()


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory, smollm_tokenizer):
    """A randomly initialised 2-layer Llama with the real SmolLM2 tokenizer and chat template, saved to disk."""
    import torch
    from transformers import AutoModelForCausalLM, LlamaConfig

    tok = smollm_tokenizer
    torch.manual_seed(0)
    cfg = LlamaConfig(vocab_size=len(tok), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                      num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=4096,
                      bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                      pad_token_id=tok.pad_token_id, tie_word_embeddings=True)
    model = AutoModelForCausalLM.from_config(cfg)
    out = tmp_path_factory.mktemp("tiny_llama")
    model.save_pretrained(out)
    tok.save_pretrained(out)
    return out


# ---------------------------------------------------------------- benchmark data (see tests/data_paths.py)


def pytest_configure(config):
    from tests import data_paths

    config.addinivalue_line("markers", f"{data_paths.MARKER}(*datasets): reads these datasets; skipped with the "
                            f"reason when they are missing (failed under {data_paths.REQUIRE_ENV}=1)")

    def say(line: str) -> None:  # the fetch's progress line, past pytest's output capture
        reporter = config.pluginmanager.get_plugin("terminalreporter")  # registered after this hook runs
        capture = config.pluginmanager.get_plugin("capturemanager")
        if reporter is None or capture is None:
            return data_paths.to_stderr(line)
        with capture.global_and_fixture_disabled():
            reporter.write_line(f"tests: {line}")

    data_paths.say = say


def pytest_collection_modifyitems(config, items):
    """Tests in files that read ../shared/data themselves need that copy (see data_paths.READS_CI_COPY)."""
    from tests import data_paths

    for item in items:
        if data_paths.reads_ci_copy(item):
            item.add_marker(data_paths.needs(data_paths.CI_COPY))


def pytest_runtest_setup(item):
    """Runs before the test's fixtures: a test marked needs_data(...) starts only when its data is here."""
    from tests import data_paths

    for mark in item.iter_markers(data_paths.MARKER):
        for name in mark.args:
            data_paths.require(name)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A test that is not marked but stops on missing benchmark data is skipped with that reason, not failed.

    Not every data reader goes through the harness lookups (the trainer resolves its
    ToolRL aliases itself and raises a plain one-line UserError), and marking each test
    that reaches one would go stale; this turns exactly that failure, and the harness's
    DataMissing, into a stated skip, but only when the lookup agrees the data is
    missing, and never under REST_REQUIRE_DATA=1.
    """
    from tests import data_paths

    outcome = yield
    report = outcome.get_result()
    if call.excinfo is None or report.when not in ("setup", "call") or report.outcome != "failed":
        return
    dataset = data_paths.missing_dataset_of(call.excinfo.value)
    if dataset is None or os.environ.get(data_paths.REQUIRE_ENV) == "1":
        return
    folder, why = data_paths.locate(dataset)
    if folder is None:
        report.outcome = "skipped"
        report.longrepr = (str(item.path), item.location[1] + 1, f"Skipped: needs {dataset} data: {why}")
