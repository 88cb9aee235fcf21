"""`python -m harness.cli ...` (what `accelerate launch -m harness.cli train` and child processes run)."""

import sys

from harness.cli import main

sys.exit(main())
