"""BFCL multi-turn: stateful environments, an eval-free executor, the inference loop and the checker.

See docs/bfcl_multi_turn.md. Public entry points: `scoring.score_result` /
`scoring.score_result_line` (score BFCL result lists), `loop.run_episodes`
(drive a model), `checker.check_decoded` (the official checker's logic).
"""
