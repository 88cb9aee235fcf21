"""The weighted loss: bitwise TRL's own with weights 1, and a hand computation otherwise.

Each test builds one inputs dict (as `_generate_and_score_completions` would) and
runs it through `RestGRPOTrainer._compute_loss` and through TRL's
`GRPOTrainer._compute_loss` or a formula written out here.
"""

from __future__ import annotations

import pytest
import torch
from datasets import Dataset
from transformers import AutoModelForCausalLM
from trl import GRPOConfig, GRPOTrainer

from trainer.grpo_trainer import RestGRPOTrainer

B, P, T = 4, 6, 7


def _reward(completions, **kw):
    return [0.0 for _ in completions]


@pytest.fixture(scope="module")
def shared_trainer(tiny_model_dir, smollm_tokenizer, tmp_path_factory):
    """One trainer for the module (building one decodes the vocab); tests switch loss_type/beta on it."""
    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, dtype=torch.float32)
    args = GRPOConfig(output_dir=str(tmp_path_factory.mktemp("loss")), use_cpu=True, bf16=False, per_device_train_batch_size=B,
                      num_generations=2, max_completion_length=T, report_to="none", save_strategy="no", logging_steps=1)
    ds = Dataset.from_list([{"prompt": [{"role": "user", "content": "hi"}]}] * 4)
    trainer = RestGRPOTrainer(model=model, reward_funcs=[_reward], args=args, train_dataset=ds, processing_class=smollm_tokenizer)
    trainer.model.train()
    trainer.current_gradient_accumulation_steps = 1  # set by Trainer's loop; we call the loss directly
    return trainer


def make_trainer(trainer, loss_type="dapo", beta=0.0):
    """`_compute_loss` reads these attributes at call time, so switching them is the same as a new trainer."""
    trainer.loss_type, trainer.beta = loss_type, beta
    trainer.model.zero_grad(set_to_none=True)
    trainer._entropy_window.zero_()
    return trainer


def make_inputs(vocab: int, weights: torch.Tensor | None = None, old_shift: float | None = None, ref_shift: float | None = None):
    g = torch.Generator().manual_seed(1)
    completion_mask = torch.ones(B, T, dtype=torch.long)
    completion_mask[1, 5:] = 0
    completion_mask[3, 2:] = 0
    inputs = {
        "prompt_ids": torch.randint(0, vocab, (B, P), generator=g),
        "prompt_mask": torch.ones(B, P, dtype=torch.long),
        "completion_ids": torch.randint(0, vocab, (B, T), generator=g),
        "completion_mask": completion_mask,
        "advantages": torch.tensor([1.5, -0.5, 0.25, -1.25]),
        "num_items_in_batch": completion_mask.sum(),
    }
    w = torch.ones(B, T) if weights is None else weights
    inputs["token_weights"] = w
    inputs["region_ids"] = torch.zeros(B, T, dtype=torch.long)
    inputs["weighted_items_in_batch"] = (w * completion_mask).sum()
    noise = torch.randn(B, T, generator=g)
    if old_shift is not None:
        inputs["_old_noise"] = noise * old_shift
    if ref_shift is not None:
        inputs["_ref_noise"] = torch.randn(B, T, generator=g) * ref_shift
    return inputs


def logps(trainer, inputs):
    ids = torch.cat([inputs["prompt_ids"], inputs["completion_ids"]], 1)
    mask = torch.cat([inputs["prompt_mask"], inputs["completion_mask"]], 1)
    lp, _, _ = GRPOTrainer._get_per_token_logps_and_entropies(trainer, trainer.model, ids, mask, T)
    return lp


def add_old_and_ref(trainer, inputs):
    with torch.no_grad():
        lp = logps(trainer, inputs)
    if "_old_noise" in inputs:
        inputs["old_per_token_logps"] = lp + inputs.pop("_old_noise")
    if "_ref_noise" in inputs:
        inputs["ref_per_token_logps"] = lp + inputs.pop("_ref_noise")
    return inputs


@pytest.mark.parametrize("loss_type, beta", [("dapo", 0.0), ("dapo", 0.05), ("grpo", 0.05), ("bnpo", 0.0), ("dr_grpo", 0.0)])
def test_weights_one_equal_trl_exactly(shared_trainer, smollm_tokenizer, loss_type, beta):
    trainer = make_trainer(shared_trainer, loss_type, beta)
    inputs = add_old_and_ref(trainer, make_inputs(len(smollm_tokenizer), old_shift=0.3, ref_shift=0.2 if beta else None))
    ours = trainer._compute_loss(trainer.model, inputs)
    ours.backward()
    g_ours = [p.grad.clone() for p in trainer.model.parameters() if p.grad is not None]
    trainer.model.zero_grad()
    plain = {k: v for k, v in inputs.items() if k not in ("token_weights", "region_ids", "weighted_items_in_batch")}
    theirs = GRPOTrainer._compute_loss(trainer, trainer.model, plain)
    theirs.backward()
    g_theirs = [p.grad.clone() for p in trainer.model.parameters() if p.grad is not None]
    assert torch.equal(ours, theirs), (ours.item(), theirs.item())
    assert len(g_ours) == len(g_theirs) and all(torch.equal(a, b) for a, b in zip(g_ours, g_theirs, strict=True))


def hand_loss(trainer, inputs, loss_type, beta, eps=0.2):
    """The ResT objective written out: Σ w·m·ℓ / Σ w·m (+ β·unweighted KL token mean)."""
    lp = logps(trainer, inputs)
    m = inputs["completion_mask"].float()
    w = inputs["token_weights"]
    a = inputs["advantages"].unsqueeze(1)
    r = torch.exp(lp - inputs["old_per_token_logps"])
    surrogate = -torch.min(r * a, torch.clamp(r, 1 - eps, 1 + eps) * a)
    kl = None
    if beta:
        ref = inputs["ref_per_token_logps"]
        kl = (torch.exp(ref - lp) - (ref - lp) - 1) * r  # TRL's k3 with its bias correction
    if loss_type == "dapo":
        loss = (surrogate * w * m).sum() / (w * m).sum()
        if beta:
            loss = loss + beta * (kl * m).sum() / m.sum()
    elif loss_type == "grpo":
        per_seq = (surrogate * w * m).sum(-1) / (w * m).sum(-1)
        if beta:
            per_seq = per_seq + beta * (kl * m).sum(-1) / m.sum(-1)
        loss = per_seq.mean()
    else:
        raise AssertionError(loss_type)
    return loss


@pytest.mark.parametrize("loss_type, beta", [("dapo", 0.05), ("grpo", 0.0)])
def test_weighted_loss_matches_hand_computation(shared_trainer, smollm_tokenizer, loss_type, beta):
    trainer = make_trainer(shared_trainer, loss_type, beta)
    w = torch.tensor([[0.0, 1.2, 1.2, 0.6, 0.6, 0.0, 1.0],
                      [1.0, 0.0, 0.0, 2.0, 1.0, 0.0, 0.0],
                      [0.5, 0.5, 0.5, 0.5, 3.0, 0.0, 1.0],
                      [0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0]])
    inputs = add_old_and_ref(trainer, make_inputs(len(smollm_tokenizer), weights=w, old_shift=0.3, ref_shift=0.2 if beta else None))
    ours = trainer._compute_loss(trainer.model, inputs)
    ours.backward()
    g_ours = [p.grad.clone() for p in trainer.model.parameters() if p.grad is not None]
    trainer.model.zero_grad()
    expected = hand_loss(trainer, inputs, loss_type, beta)
    expected.backward()
    g_expected = [p.grad.clone() for p in trainer.model.parameters() if p.grad is not None]
    torch.testing.assert_close(ours, expected, rtol=1e-5, atol=1e-7)
    for a, b in zip(g_ours, g_expected, strict=True):
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-7)
    # and the weights matter: the unweighted loss differs
    plain = {k: v for k, v in inputs.items() if k not in ("token_weights", "region_ids", "weighted_items_in_batch")}
    assert not torch.allclose(GRPOTrainer._compute_loss(trainer, trainer.model, plain), ours)


def test_zero_weight_tokens_get_no_gradient(shared_trainer, smollm_tokenizer):
    """A sequence whose weights are all 0 contributes nothing: same gradient as dropping its advantage."""
    trainer = make_trainer(shared_trainer)
    w = torch.ones(B, T)
    w[0] = 0.0
    inputs = make_inputs(len(smollm_tokenizer), weights=w)
    ours = trainer._compute_loss(trainer.model, inputs)
    ours.backward()
    g_ours = [p.grad.clone() for p in trainer.model.parameters() if p.grad is not None]
    trainer.model.zero_grad()
    ref = dict(inputs, advantages=inputs["advantages"].clone(), token_weights=torch.ones(B, T))
    ref["advantages"][0] = 0.0
    ref["num_items_in_batch"] = inputs["weighted_items_in_batch"]  # same denominator: Σ m·w
    ref["weighted_items_in_batch"] = inputs["weighted_items_in_batch"]
    theirs = trainer._compute_loss(trainer.model, ref)
    theirs.backward()
    for a, b in zip(g_ours, [p.grad for p in trainer.model.parameters() if p.grad is not None], strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-8)


def test_region_entropies_are_caught_from_the_loss_forward(shared_trainer, smollm_tokenizer):
    trainer = make_trainer(shared_trainer)
    inputs = make_inputs(len(smollm_tokenizer))
    inputs["region_ids"][:, :3] = 2  # NAME
    trainer._compute_loss(trainer.model, inputs)
    ids = torch.cat([inputs["prompt_ids"], inputs["completion_ids"]], 1)
    mask = torch.cat([inputs["prompt_mask"], inputs["completion_mask"]], 1)
    with torch.no_grad():
        _, ent, _ = GRPOTrainer._get_per_token_logps_and_entropies(trainer, trainer.model, ids, mask, T, compute_entropy=True)
    m = inputs["completion_mask"].bool()
    name = m.clone()
    name[:, 3:] = False
    other = m & ~name
    sums, counts = trainer._entropy_window
    torch.testing.assert_close(float(sums[2] / counts[2]), float(ent[name].mean()), rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(float(sums[0] / counts[0]), float(ent[other].mean()), rtol=1e-5, atol=1e-6)
    assert counts[2] == name.sum() and counts[0] == other.sum()
    assert trainer._metrics["train"]["rest/entropy/name"][-1] == pytest.approx(float(ent[name].mean()), rel=1e-5)
