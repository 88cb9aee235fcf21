"""Supervised baselines on a tiny random Llama: loss masking, region-weighted loss, LoRA save/load/merge, configs."""

from __future__ import annotations

import pytest
import torch

from harness.types import UserError
from trainer.models import load_warm_start
from trainer.regions import Region, RegionLabeller
from trainer.run import build_sft_trainer, train_sft
from trainer.sft_config import load_sft_config, maybe_run_sft
from trainer.sft_data import to_sft_dataset
from trainer.weights import region_weights, token_weights

GT = ('<think> the user wants the weather </think>\n<tool_call>\n'
      '{"name": "get_weather", "parameters": {"city": "Paris", "unit": "celsius"}}\n</tool_call>')
GT_RESP = "<think> nothing to call </think>\n<response> Hello there! </response>"


def rows(n: int = 4) -> list[dict]:
    sys_msg = "Tools: get_weather(city, unit). Answer with <think>...</think> then <tool_call> JSON lines </tool_call>."
    return [{"id": f"r{i}", "prompt": [{"role": "system", "content": sys_msg}, {"role": "user", "content": f"Weather in city {i}?"}],
             "ground_truth": GT if i % 2 == 0 else GT_RESP} for i in range(n)]


def make_cfg(tiny_model_dir, tmp_path, config: str = "sft", *overrides: str):
    return load_sft_config(config, [
        f"model={tiny_model_dir}", f"output_dir={tmp_path / 'run'}", "sft.use_cpu=true", "sft.bf16=false",
        "sft.per_device_train_batch_size=2", "sft.gradient_accumulation_steps=1", "sft.max_steps=2",
        "sft.learning_rate=1e-3", "sft.max_length=512", *overrides,
    ])


def trainer_and_batch(tiny_model_dir, tmp_path, config: str, *overrides: str, model=None):
    from trainer.models import load_model, load_tokenizer

    cfg = make_cfg(tiny_model_dir, tmp_path, config, *overrides)
    tok = load_tokenizer(str(tiny_model_dir))
    model = model if model is not None else load_model(str(tiny_model_dir))
    trainer = build_sft_trainer(cfg, model=model, tokenizer=tok, train_dataset=to_sft_dataset(rows()))
    batch = next(iter(trainer.get_train_dataloader()))
    return trainer, {k: v for k, v in batch.items()}, tok


def test_prompt_tokens_carry_no_loss(tiny_model_dir, tmp_path):
    trainer, batch, tok = trainer_and_batch(tiny_model_dir, tmp_path, "sft")
    assert trainer.weight_config is None  # plain SFT: TRL's own loss
    labels, ids = batch["labels"], batch["input_ids"]
    for i in range(labels.shape[0]):
        mask = labels[i] != -100
        pos = mask.nonzero().flatten()
        assert pos.numel() > 0
        # the supervised tokens are one contiguous run at the end of the real tokens: exactly the assistant turn
        assert torch.equal(pos, torch.arange(int(pos[0]), int(pos[-1]) + 1))
        supervised = tok.decode(ids[i][mask])
        assert supervised in (GT + "<|im_end|>\n", GT_RESP + "<|im_end|>\n")
        prompt_text = tok.decode(ids[i][: int(pos[0])])
        assert prompt_text.rstrip().endswith("<|im_start|>assistant") and "Weather in city" in prompt_text
    # the loss is the mean NLL over those tokens only: changing a prompt label would not change it, and
    # recomputing it by hand from the logits over the completion positions gives the same number
    model = trainer.model
    model.eval()
    with torch.no_grad():
        loss = trainer.compute_loss(model, dict(batch))
        logits = model(input_ids=ids, attention_mask=batch["attention_mask"]).logits[:, :-1].float()
    tgt = labels[:, 1:]
    m = tgt != -100
    logp = torch.log_softmax(logits, -1).gather(-1, tgt.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    assert float(loss) == pytest.approx(float(-(logp * m).sum() / m.sum()), rel=1e-5)


def test_weights_one_equal_plain_sft_exactly(tiny_model_dir, tmp_path):
    from trainer.models import load_model

    model = load_model(str(tiny_model_dir))
    plain, batch, _ = trainer_and_batch(tiny_model_dir, tmp_path / "a", "sft", model=model)
    ones, batch2, _ = trainer_and_batch(tiny_model_dir, tmp_path / "b", "tsft", *(f"weights.{k}=1.0" for k in (
        "format", "name", "args", "think", "response", "other")), model=model)
    assert ones.weight_config is not None and ones.weight_config.mode == "code"
    assert torch.equal(batch["input_ids"], batch2["input_ids"])
    w, _ = ones.token_weight_matrix(batch2["labels"])
    assert torch.equal(w, (batch2["labels"] != -100).float())  # every supervised token weighs exactly 1
    model.eval()
    with torch.no_grad():
        a = plain.compute_loss(model, dict(batch), num_items_in_batch=torch.tensor(123))
        b = ones.compute_loss(model, dict(batch2), num_items_in_batch=torch.tensor(123))
        c = plain.compute_loss(model, dict(batch))
        d = ones.compute_loss(model, dict(batch2))
    assert torch.equal(a, b) and torch.equal(c, d)


def test_weighted_loss_matches_hand_computation(tiny_model_dir, tmp_path):
    trainer, batch, tok = trainer_and_batch(tiny_model_dir, tmp_path, "tsft")
    cfg = trainer.weight_config
    labels, ids = batch["labels"], batch["input_ids"]
    labeller = RegionLabeller(tok)
    rw = region_weights(cfg, 0.0, 0)
    assert rw[int(Region.NAME)] == 2.0 and rw[int(Region.THINK)] == 1.0
    expected_w = torch.zeros(labels.shape)
    for i in range(labels.shape[0]):
        pos = (labels[i] != -100).nonzero().flatten()
        regions = labeller.label(ids[i][pos].tolist())
        expected_w[i, pos] = torch.tensor(token_weights(regions, rw, cfg))
    assert (expected_w[labels != -100] != 1.0).any()  # the tool-call row is really reweighted
    w, _ = trainer.token_weight_matrix(labels)
    assert torch.allclose(w, expected_w)
    model = trainer.model
    model.eval()
    with torch.no_grad():
        loss = trainer.compute_loss(model, dict(batch))
        logits = model(input_ids=ids, attention_mask=batch["attention_mask"]).logits[:, :-1].float()
    tgt = labels[:, 1:]
    m = (tgt != -100).float()
    nll = -torch.log_softmax(logits, -1).gather(-1, tgt.clamp(min=0).unsqueeze(-1)).squeeze(-1)
    hand = (nll * expected_w[:, 1:] * m).sum() / m.sum()
    plain = (nll * m).sum() / m.sum()
    assert float(loss) == pytest.approx(float(hand), rel=1e-5)
    assert abs(float(hand) - float(plain)) > 1e-4  # the weights changed the number


def test_lora_save_load_merge_and_warm_start_grpo(tiny_model_dir, tmp_path):
    """LoRA SFT -> adapter + merged model; both load back identically; 2 GRPO steps start from each."""
    from peft import PeftModel

    from tests.trainer.test_train_smoke import tiny_rows
    from trainer.config import load_config
    from trainer.metrics import read_metrics
    from trainer.models import load_tokenizer
    from trainer.run import train

    cfg = make_cfg(tiny_model_dir, tmp_path, "sft", "lora.enabled=true", "lora.r=4", "lora.alpha=8",
                   "lora.dropout=0.0", "data.holdout=[]")
    train_sft(cfg, train_dataset=to_sft_dataset(rows()))
    out = tmp_path / "run"
    assert (out / "adapter" / "adapter_config.json").is_file() and (out / "model.safetensors").is_file()
    assert (out / "train_stats.json").is_file() and (out / "metrics.jsonl").is_file()
    merged = load_warm_start(out)  # a full model dir
    from_adapter = load_warm_start(out / "adapter", merge=True)
    base = load_warm_start(tiny_model_dir)
    kept = load_warm_start(out / "adapter", merge=False)
    assert isinstance(kept, PeftModel) and not isinstance(from_adapter, PeftModel)
    trainable = [n for n, p in kept.named_parameters() if p.requires_grad]
    assert trainable and all("lora_" in n for n in trainable)
    x = torch.tensor([[1, 2, 3, 4, 5, 6]])
    with torch.no_grad():
        lm, la, lb, lk = (mdl(input_ids=x).logits for mdl in (merged, from_adapter, base, kept))
    assert torch.allclose(lm, la, atol=1e-5) and torch.allclose(lm, lk, atol=1e-5)
    assert not torch.allclose(lm, lb, atol=1e-4)  # the adapter learned something

    tok = load_tokenizer(str(out))
    for name, model in (("full", merged), ("adapter", kept)):
        rl = load_config("grpo", [
            f"model={out}", f"output_dir={tmp_path / ('rl-' + name)}", "grpo.max_steps=2", "grpo.save_steps=2",
            "grpo.use_cpu=true", "grpo.bf16=false", "grpo.per_device_train_batch_size=2", "grpo.num_generations=2",
            "grpo.max_completion_length=8", "grpo.learning_rate=1e-4",
        ])
        before = {n: p.detach().clone() for n, p in model.named_parameters() if p.requires_grad}
        train(rl, model=model, tokenizer=tok, train_dataset=tiny_rows())
        recs = [r for r in read_metrics(tmp_path / ("rl-" + name) / "metrics.jsonl") if "loss" in r]
        assert [r["step"] for r in recs] == [1, 2], name
        moved = any(not torch.equal(p, model.get_parameter(n)) for n, p in before.items())
        assert moved, f"{name}: no trainable parameter changed in 2 GRPO steps"


def test_sft_config_validation_and_dispatch(tmp_path, capsys):
    with pytest.raises(UserError, match="tsft or rsft"):
        load_sft_config("sft", ["weights.mode=code"])
    with pytest.raises(UserError, match="entropy"):
        load_sft_config("tsft", ["weights.mode=entropy"])
    with pytest.raises(UserError, match="method"):
        load_sft_config("sft", ["method=dpo"])
    with pytest.raises(UserError, match="unknown config key 'sft.learning_rat'"):
        load_sft_config("sft", ["sft.learning_rat=1"])
    assert maybe_run_sft("grpo", []) is None  # RL configs are not ours
    assert maybe_run_sft("rsft", ["sft.num_train_epochs=1"], output_dir=str(tmp_path / "x"), max_steps=3, dry_run=True) == 0
    text = capsys.readouterr().out
    assert "method: rsft" in text and "max_steps: 3" in text and str(tmp_path / "x") in text
    cfg = load_sft_config("trainer/configs/sft-smollm2.yaml")
    assert (cfg.method, cfg.data.max_tokens, cfg.sft.num_train_epochs, cfg.sft.use_cpu) == ("sft", 1024, 1.0, True)
    from trainer.config import load_config

    dr = load_config("trainer/configs/dr-grpo.yaml")
    assert (dr.grpo.loss_type, dr.grpo.scale_rewards, dr.weights.mode) == ("dr_grpo", "none", "uniform")
