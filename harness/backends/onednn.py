"""fp32 linear layers through oneDNN on CPU: the same fp32 products, at twice the speed of torch's default here.

torch sends a CPU fp32 matmul to MKL, which takes a slow generic path on AMD
CPUs. On this machine (2 cores of an AMD EPYC with AVX-512) a 1024^3 product
ran at 206 GFLOP/s through MKL and 476 through oneDNN, which torch bundles as
mkldnn, with the weight packed once (`bench/eval_throughput.py --modes floor`).
Every `nn.Linear` of the loaded model becomes a `OneDNNLinear` that holds its
weight packed for oneDNN (an output layer tied to the embedding reads the
embedding's weight unpacked); inputs and outputs stay dense tensors, so nothing
else in the model changes. Both are fp32. The sums run in another order, so
logits differ in the last bits (about 1e-5), and a greedy text changes only
where two tokens were that close; the bench counts the texts that differ from
one-prompt-at-a-time `generate`.

This is for inference only: the weights stop being parameters (no gradients,
no LoRA hooks), so the hf backend converts after any adapter is merged. The
embedding and the norms are copied out of the checkpoint's memory map, which
lets the file's pages go; otherwise RSS would count the weights twice.
"""

from __future__ import annotations

from typing import Any

PACK_ROWS = 1024  # the row count oneDNN lays the weights out for; 64 to 4,096 rows ran within 6% of their own best


def _linear_class() -> type:
    import torch

    class OneDNNLinear(torch.nn.Module):
        """`y = x W^T + b` with W packed once for oneDNN; x and y are ordinary dense tensors of any leading shape."""

        def __init__(self, linear: torch.nn.Linear, shared_weight: torch.Tensor | None = None) -> None:
            """`shared_weight`: use this dense weight as it is (oneDNN reads it unpacked) instead of packing a copy."""
            super().__init__()
            self.in_features, self.out_features = linear.in_features, linear.out_features
            self.packed_weight = shared_weight if shared_weight is not None else (
                torch.ops.mkldnn._reorder_linear_weight(linear.weight.detach().contiguous(), PACK_ROWS))
            self.bias = None if linear.bias is None else linear.bias.detach().clone()

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            lead = x.shape[:-1]
            y = torch.ops.mkldnn._linear_pointwise(x.reshape(-1, self.in_features), self.packed_weight, self.bias,
                                                   "none", [], "")
            return y.view(*lead, self.out_features)

    return OneDNNLinear


def is_onednn_linear(module: Any) -> bool:
    """Whether `module` is a linear layer `convert` made (its packed weight is `packed_weight`)."""
    return type(module).__name__ == "OneDNNLinear" and hasattr(module, "packed_weight")


def convert(model: Any) -> int:
    """Replace every `nn.Linear` in `model` by a oneDNN one, in place; returns how many were replaced.

    An output layer tied to the input embedding (SmolLM2's) keeps sharing it: oneDNN reads that weight
    unpacked, so the model holds one copy of the vocabulary matrix, not two (113 MB for SmolLM2-135M). The
    unpacked read costs little: the output layer of a 32-row decode step took 7.1 against 5.2 ms packed."""
    import gc

    import torch

    cls = _linear_class()
    head, embed = model.get_output_embeddings(), model.get_input_embeddings()
    tied = (isinstance(head, torch.nn.Linear) and embed is not None and head.bias is None
            and head.weight.data_ptr() == embed.weight.data_ptr() and head.weight.shape == embed.weight.shape)
    replaced = 0
    with torch.no_grad():
        for module in list(model.modules()):
            for name, child in list(module.named_children()):
                if isinstance(child, torch.nn.Linear) and not (tied and child is head):
                    setattr(module, name, cls(child))
                    replaced += 1
        for tensor in [*model.parameters(), *model.buffers()]:  # out of the checkpoint's memory map
            tensor.data = tensor.data.clone()
        if tied:  # after the clone, so the head reads the embedding's own copy
            model.set_output_embeddings(cls(head, shared_weight=embed.weight.detach()))
            replaced += 1
    gc.collect()
    return replaced
