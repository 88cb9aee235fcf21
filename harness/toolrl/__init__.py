"""ToolRL (arXiv 2504.13958), the data format and reward ResT builds on: one home for all of it.

- `format`: the `<think>` / `<tool_call>` / `<response>` output format (system prompt, tags, block rules);
- `data`: ToolRL-format files (aliases, where they are looked up, the reader), shared by harness and trainer;
- `convert`: API-Bank and BFCL items rendered as ToolRL rows (held-out checks only);
- `schedule`: the reward ranges and their schedules over training;
- `reward`: the format and correctness rewards (ToolRL/ResT's official reward);
- `task`: the held-out evaluation task (`toolrl:test`, `toolrl:<path>`).

Importing the package loads none of them, so the reward stays free of pandas and the task registry.
TRL adapters (reward functions with TRL's signature, datasets in TRL's shape) live in `trainer/`.
"""
