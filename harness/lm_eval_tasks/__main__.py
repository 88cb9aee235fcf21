"""`python -m harness.lm_eval_tasks` prints the folder to give lm-eval's `--include_path`."""

from harness.lm_eval_tasks import PATH

print(PATH)
