"""A run directory on disk: per-task sample files (`store`), the one-writer lock (`lock`), and the
settings each generating session used, against which `--resume` is checked (`settings`)."""
