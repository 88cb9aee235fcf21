"""`rest leaderboard`: build boards from run directories, publish them to W&B."""

from __future__ import annotations

import argparse


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("leaderboard", help="build leaderboards (Markdown, CSV, JSON, HTML) and publish them to W&B",
                       description="Build a board from run directories, or publish a built board to W&B.")
    lsub = p.add_subparsers(dest="leaderboard_command", metavar="ACTION")
    b = lsub.add_parser("build", help="collect runs into a board directory",
                        description="One row per evaluated model or checkpoint. A RESULT_DIR may be a run dir "
                                    "(summary.json), a parent of many, or a training output dir with "
                                    "checkpoint-*/eval/summary.json. Writes README.md, board.csv, board.json and "
                                    "index.html to --out.")
    b.add_argument("result_dirs", nargs="+", metavar="RESULT_DIR")
    b.add_argument("--out", required=True, help="board directory to write, e.g. leaderboards/smollm2")
    b.add_argument("--name", default=None, help="board title (default: the --out folder name)")
    b.add_argument("--references", action="store_true",
                   help="add the papers' reference figures as marked rows (never ranked with measured rows)")
    b.add_argument("--n-boot", type=int, default=1000, help="bootstrap resamples for aggregate intervals (default 1000)")
    b.add_argument("--seed", type=int, default=0, help="bootstrap seed (default 0)")
    b.add_argument("--sort", default=None, metavar="COLUMN",
                   help="column key to rank rows by, e.g. apibank/overall or bfcl:simple_python (default: the first "
                        "of bfcl/overall, apibank/overall, apibank-original/overall that some row has complete)")
    b.add_argument("--baseline", default=None, metavar="RUN_ID_OR_LABEL",
                   help="a row (its id or label) that every other row is compared with item by item: each cell "
                        "then shows the paired difference, its 95%% interval and p (default: checkpoint rows "
                        "against their training run's start, other rows not compared)")
    b.add_argument("--exclude-failed", action="store_true",
                   help="leave failed generations out of every figure (the board says so), instead of counting "
                        "them wrong as the headline does")
    b.set_defaults(func=run_build)
    pub = lsub.add_parser("publish", help="log a built board to W&B as a Table plus bar charts",
                          description="Honours WANDB_MODE (offline writes a local run to sync later) and WANDB_DIR.")
    pub.add_argument("board_dir", metavar="BOARD_DIR")
    pub.add_argument("--wandb-project", required=True, help="W&B project")
    pub.add_argument("--entity", default=None, help="W&B entity (team or user)")
    pub.add_argument("--run-name", default=None, help="W&B run name (default leaderboard-<board name>)")
    pub.set_defaults(func=run_publish)
    p.set_defaults(func=lambda args: (p.print_help(), 2)[1])


def run_build(args: argparse.Namespace) -> int:
    from harness.leaderboard.build import BOARD_FILES, build_board_files
    from harness.leaderboard.render_md import paired_text

    board = build_board_files(args.result_dirs, args.out, name=args.name, references=args.references,
                              n_boot=args.n_boot, seed=args.seed, sort=args.sort,
                              baseline=args.baseline, exclude_failed=args.exclude_failed)
    measured = [r for r in board["rows"] if not r.get("reference")]
    key = board.get("primary")
    print(f"board {board['name']}: {len(measured)} measured rows, "
          f"{len(board['rows']) - len(measured)} reference rows, sorted by {key}"
          + (" (failed generations EXCLUDED)" if board.get("exclude_failed") else ""))
    for r in measured[:10]:
        cell = r["cells"].get(key) or {}
        name = r["label"] + (f"  ({r['model']})" if r.get("model") and r["model"] != r["label"] else "")
        if r.get("baseline"):
            name += "  [baseline]"
        if cell.get("accuracy") is not None:
            lo, hi = cell["ci95"]
            delta = paired_text(cell)
            print(f"  {100 * cell['accuracy']:6.2f} [{100 * lo:.1f}-{100 * hi:.1f}] n={cell['total']}  {name}"
                  + (f"  failed={r['failed']}" if r.get("failed") else "") + (f"  {delta}" if delta else ""))
        else:
            print(f"     N/A  {name}")
    print("wrote " + ", ".join(f"{args.out}/{n}" for n in BOARD_FILES.values()))
    return 0


def run_publish(args: argparse.Namespace) -> int:
    from harness.leaderboard.build import load_board
    from harness.leaderboard.wandb_publish import publish

    board = load_board(args.board_dir)
    where = publish(board, args.wandb_project, entity=args.entity, run_name=args.run_name)
    import wandb

    wandb.teardown()  # wait for the W&B service to flush the run (offline: the .wandb file) before exiting
    print(f"published {len(board['rows'])} rows of board {board['name']} to W&B: {where}")
    return 0
