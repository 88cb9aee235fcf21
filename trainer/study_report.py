"""The study's board: per-item held-out scores -> per-run and per-arm figures, paired comparisons, plots.

Reads what the study driver (trainer/study.py) leaves in its work directory:
`evals/<name>/samples/*.jsonl` (one scored line per held-out item),
`runs/<arm>-s<seed>/metrics.jsonl` (training curves) and `stages.jsonl` (wall
times, load). Writes `study.json`, `board.md`, `board.csv`, `index.html`,
`items/<name>.csv` (per-item verdicts, so every comparison can be redone),
the PNG plots and README.md into the board folder. Everything but the file
and plot writers is pure.
"""

from __future__ import annotations

import csv
import html
import io
import json
import random
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from harness.rundir.store import task_file_name
from harness.stats.intervals import wilson
from harness.stats.paired import compare, item_means

METRICS = ("format_valid", "accuracy", "mean_correctness")
LABELS = {"format_valid": "format valid", "accuracy": "accuracy", "mean_correctness": "mean correctness [-3, 3]"}
BINARY = ("format_valid", "accuracy")
HELD_OUT = "toolrl:test"


def run_name(arm: str, seed: int) -> str:
    """The name of one arm-seed run in the study's folders and tables (`rest-s2`)."""
    return f"{arm}-s{seed}"


# ---------------------------------------------------------------- reading


def read_items(eval_dir: Path, task: str = HELD_OUT) -> dict[str, dict[str, float]] | None:
    """id -> {format_valid, accuracy, mean_correctness} of one evaluation (None if it has not run)."""
    path = eval_dir / "samples" / task_file_name(task)
    if not path.is_file():
        return None
    out: dict[str, dict[str, float]] = {}
    for line in path.read_text().splitlines():
        try:
            r = json.loads(line)
        except json.JSONDecodeError:
            continue  # a torn last line of an interrupted eval
        d = r.get("detail") or {}
        failed = bool(r.get("backend_error"))
        out[str(r["id"])] = {
            "format_valid": 0.0 if failed else float(bool(d.get("format_ok"))),
            "accuracy": 0.0 if failed else float(bool(r.get("valid"))),
            "mean_correctness": float(d.get("correctness", -3.0) if not failed else -3.0),
        }
    return out


def read_metrics(path: Path) -> list[dict[str, Any]]:
    if not path.is_file():
        return []
    recs = []
    for line in path.read_text().splitlines():
        try:
            recs.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return recs


def train_curves(metrics: Sequence[Mapping[str, Any]]) -> dict[str, list[float]]:
    """Per rollout: mean training reward and the share of completions with a valid format.

    The ToolRL format reward is binary (its range's max or min), so the valid share is
    (mean - min) / (max - min) with the ranges the trainer logs at every step.
    """
    reward, valid, rollout, length, step_time = [], [], [], [], []
    for r in metrics:
        if "rest/rollout" not in r or "reward" not in r:
            continue
        rollout.append(float(r["rest/rollout"]))
        reward.append(float(r["reward"]))
        fm, fmin, fmax = r.get("rewards/toolrl_format/mean"), r.get("reward/format_min"), r.get("reward/format_max")
        valid.append((fm - fmin) / (fmax - fmin) if None not in (fm, fmin, fmax) and fmax > fmin else float("nan"))
        length.append(float(r.get("completions/mean_length", float("nan"))))
        step_time.append(float(r.get("step_time", float("nan"))))
    return {"rollout": rollout, "reward": reward, "format_valid": valid, "mean_length": length, "step_time": step_time}


# ---------------------------------------------------------------- pure figures


def metric_summary(items: Mapping[str, Mapping[str, float]], metric: str, seed: int = 0) -> dict[str, Any]:
    """Value with a 95% interval: Wilson for 0/1 metrics, item bootstrap for the mean correctness."""
    vals = [v[metric] for v in items.values()]
    n = len(vals)
    mean = sum(vals) / n if n else 0.0
    if metric in BINARY:
        lo, hi = wilson(int(round(sum(vals))), n)
    else:
        lo, hi = _bootstrap_mean(vals, seed)
    return {"value": mean, "ci95": [lo, hi], "n": n}


def _bootstrap_mean(vals: Sequence[float], seed: int = 0, n_boot: int = 2000) -> tuple[float, float]:
    if not vals:
        return (0.0, 0.0)
    rng = random.Random(seed)
    n = len(vals)
    stats = sorted(sum(vals[rng.randrange(n)] for _ in range(n)) / n for _ in range(n_boot))
    return stats[int(0.025 * (n_boot - 1))], stats[int(0.975 * (n_boot - 1))]


def matrix(runs: Sequence[Mapping[str, Mapping[str, float]]], ids: Sequence[str], metric: str) -> list[list[float]]:
    return [[r[i][metric] for i in ids] for r in runs]


def arm_summary(runs: Sequence[Mapping[str, Mapping[str, float]]], ids: Sequence[str], metric: str) -> dict[str, Any]:
    """Mean over seeds, the seed range, and a 95% item-bootstrap interval of the seed-averaged score."""
    per_seed = [sum(r[i][metric] for i in ids) / len(ids) for r in runs]
    means = item_means(matrix(runs, ids, metric))
    lo, hi = _bootstrap_mean(means)
    return {"mean": sum(per_seed) / len(per_seed), "min": min(per_seed), "max": max(per_seed), "ci95": [lo, hi],
            "seeds": len(per_seed), "n": len(ids)}


def build_study(start: Mapping[str, Mapping[str, float]] | None, runs: Mapping[tuple[str, int], Mapping[str, Mapping[str, float]]],
                curves: Mapping[tuple[str, int], Mapping[str, list[float]]], arms: Sequence[str],
                extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """study.json: the start, every finished run, per-arm figures and the paired comparisons."""
    study: dict[str, Any] = {"held_out": HELD_OUT, **(extra or {})}
    ids = sorted(start) if start else []
    if start:
        study["start"] = {m: metric_summary(start, m)["value"] for m in METRICS} | {"n": len(start)}
        study["start_ci95"] = {m: metric_summary(start, m)["ci95"] for m in METRICS}
    study["runs"] = []
    for (arm, seed), items in sorted(runs.items()):
        c = curves.get((arm, seed), {})
        study["runs"].append({
            "method": arm, "seed": seed, "rollouts": int(max(c.get("rollout") or [0])),
            "final": {m: metric_summary(items, m)["value"] for m in METRICS} | {"n": len(items)},
            "final_ci95": {m: metric_summary(items, m)["ci95"] for m in METRICS},
            "train_reward": c.get("reward", []), "train_format_valid": c.get("format_valid", []),
            "train_mean_length": c.get("mean_length", []), "train_step_time": c.get("step_time", []),
        })
    by_arm = {a: [runs[k] for k in sorted(runs) if k[0] == a] for a in arms}
    by_arm = {a: rs for a, rs in by_arm.items() if rs}
    study["arms"] = {a: {m: arm_summary(rs, ids, m) for m in METRICS} for a, rs in by_arm.items() if ids}
    comps = []
    if start:
        for a, rs in by_arm.items():
            for m in METRICS:
                comps.append(compare(a, matrix(rs, ids, m), "start", matrix([start], ids, m), m).as_dict())
    base = "grpo" if "grpo" in by_arm else None
    for a in by_arm:
        if base and a != base and ids:
            for m in METRICS:
                pa = [runs[k] for k in sorted(runs) if k[0] == a]
                pb = [runs[(base, k[1])] for k in sorted(runs) if k[0] == a and (base, k[1]) in runs]
                if len(pa) == len(pb):  # paired by seed: same prompts, same order
                    comps.append(compare(a, matrix(pa, ids, m), base, matrix(pb, ids, m), m).as_dict())
    study["comparisons"] = comps
    return study


# ---------------------------------------------------------------- rendering


def _pct(v: float) -> str:
    return f"{100 * v:.1f}"


def _cell(metric: str, value: float, ci: Sequence[float]) -> str:
    if metric in BINARY:
        return f"{_pct(value)} [{_pct(ci[0])}–{_pct(ci[1])}]"
    return f"{value:.2f} [{ci[0]:.2f}–{ci[1]:.2f}]"


def board_rows(study: Mapping[str, Any]) -> list[dict[str, str]]:
    rows = []
    if "start" in study:
        rows.append({"row": "warm start (SFT)", "seeds": "1", "rollouts": "0",
                     **{m: _cell(m, study["start"][m], study["start_ci95"][m]) for m in METRICS}})
    for arm, ms in study.get("arms", {}).items():
        rows.append({"row": f"**{arm}** (mean of seeds)", "seeds": str(ms[METRICS[0]]["seeds"]),
                     "rollouts": str(max((r["rollouts"] for r in study["runs"] if r["method"] == arm), default=0)),
                     **{m: _cell(m, ms[m]["mean"], ms[m]["ci95"]) + (f" (seeds {_fmt(m, ms[m]['min'])}–{_fmt(m, ms[m]['max'])})")
                        for m in METRICS}})
    for r in study.get("runs", []):
        rows.append({"row": f"{r['method']} seed {r['seed']}", "seeds": "1", "rollouts": str(r["rollouts"]),
                     **{m: _cell(m, r["final"][m], r["final_ci95"][m]) for m in METRICS}})
    return rows


def _fmt(metric: str, v: float) -> str:
    return _pct(v) if metric in BINARY else f"{v:.2f}"


def render_md(study: Mapping[str, Any]) -> str:
    head = ["row", "seeds", "rollouts", *METRICS]
    lines = ["| " + " | ".join(["run", "seeds", "rollouts", *(LABELS[m] for m in METRICS)]) + " |",
             "|---|---:|---:|" + "---:|" * len(METRICS)]
    for r in board_rows(study):
        lines.append("| " + " | ".join(r[h] for h in head) + " |")
    comp = ["", "| a | b | metric | a − b | 95% interval | p (paired sign-flip) | items | seeds a/b |",
            "|---|---|---|---:|---:|---:|---:|---:|"]
    for c in study.get("comparisons", []):
        f = (lambda v: f"{100 * v:+.1f} pts") if c["metric"] in BINARY else (lambda v: f"{v:+.3f}")
        comp.append(f"| {c['a']} | {c['b']} | {LABELS[c['metric']]} | {f(c['delta'])} | {f(c['ci95'][0])} … "
                    f"{f(c['ci95'][1])} | {c['p']:.3g} | {c['n_items']} | {c['seeds_a']}/{c['seeds_b']} |")
    return "\n".join(lines + (comp if study.get("comparisons") else [])) + "\n"


def render_csv(study: Mapping[str, Any]) -> str:
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["row", "method", "seed", "rollouts", *(f"{m}{s}" for m in METRICS for s in ("", "_lo", "_hi"))])
    if "start" in study:
        w.writerow(["start", "sft", "", 0, *(x for m in METRICS for x in (study["start"][m], *study["start_ci95"][m]))])
    for r in study.get("runs", []):
        w.writerow([f"{r['method']}-s{r['seed']}", r["method"], r["seed"], r["rollouts"],
                    *(x for m in METRICS for x in (r["final"][m], *r["final_ci95"][m]))])
    return buf.getvalue()


def render_html(study: Mapping[str, Any], title: str, plots: Sequence[str]) -> str:
    rows = board_rows(study)
    th = "".join(f"<th>{html.escape(h)}</th>" for h in ["run", "seeds", "rollouts", *(LABELS[m] for m in METRICS)])
    body = "".join("<tr>" + "".join(f"<td>{html.escape(r[k].replace('**', ''))}</td>"
                                    for k in ["row", "seeds", "rollouts", *METRICS]) + "</tr>" for r in rows)
    comps = "".join(
        f"<tr><td>{html.escape(c['a'])}</td><td>{html.escape(c['b'])}</td><td>{html.escape(LABELS[c['metric']])}</td>"
        f"<td>{c['delta']:+.3f}</td><td>{c['ci95'][0]:+.3f} … {c['ci95'][1]:+.3f}</td><td>{c['p']:.3g}</td></tr>"
        for c in study.get("comparisons", []))
    imgs = "".join(f'<p><img src="{html.escape(p)}" alt="{html.escape(p)}" style="max-width:100%"></p>' for p in plots)
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
            "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}td,th{border:1px solid #ccc;"
            "padding:4px 8px;text-align:right}td:first-child{text-align:left}</style></head><body>"
            f"<h1>{html.escape(title)}</h1><p>Held out: {html.escape(study.get('held_out', ''))}. Cells: value [95% interval].</p>"
            f"<table><tr>{th}</tr>{body}</table><h2>Paired comparisons</h2><table><tr><th>a</th><th>b</th><th>metric</th>"
            f"<th>a − b</th><th>95% interval</th><th>p</th></tr>{comps}</table>{imgs}</body></html>\n")


def plot_curves(study: Mapping[str, Any], path: Path) -> bool:
    """Training reward and format validity vs rollout per arm: mean over seeds, shaded seed range."""
    runs = study.get("runs", [])
    if not runs:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, key, label in ((axes[0], "train_reward", "training reward (format + correctness)"),
                           (axes[1], "train_format_valid", "training completions with valid format")):
        for arm in sorted({r["method"] for r in runs}):
            series = [r[key] for r in runs if r["method"] == arm and r[key]]
            if not series:
                continue
            n = min(len(s) for s in series)
            xs = list(range(1, n + 1))
            cols = [[s[i] for s in series] for i in range(n)]
            mean = [sum(c) / len(c) for c in cols]
            line = ax.plot(xs, mean, label=f"{arm} (mean of {len(series)} seeds)")[0]
            ax.fill_between(xs, [min(c) for c in cols], [max(c) for c in cols], alpha=0.2, color=line.get_color())
        ax.set_xlabel("rollout")
        ax.set_title(label)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


def plot_held_out(study: Mapping[str, Any], path: Path) -> bool:
    """Held-out bars with 95% intervals: the start and each arm (seed means)."""
    if "start" not in study:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    names = ["start", *study.get("arms", {})]
    fig, axes = plt.subplots(1, len(METRICS), figsize=(12, 3.8))
    for ax, m in zip(axes, METRICS, strict=True):
        vals, los, his = [], [], []
        for n in names:
            if n == "start":
                v, (lo, hi) = study["start"][m], study["start_ci95"][m]
            else:
                a = study["arms"][n][m]
                v, (lo, hi) = a["mean"], a["ci95"]
            vals.append(v), los.append(v - lo), his.append(hi - v)
        ax.bar(names, vals, yerr=[los, his], capsize=4, color=["#999"] + ["C0", "C1", "C2", "C3"][: len(names) - 1])
        ax.set_title(f"{LABELS[m]} ({study.get('held_out')})")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True


# ---------------------------------------------------------------- the whole report


def write_items(path: Path, items: Mapping[str, Mapping[str, float]]) -> None:
    """Per-item verdicts of one evaluation as CSV (what the board is rebuilt from)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = ["id,format_valid,accuracy,mean_correctness"] + [
        f"{i},{int(v['format_valid'])},{int(v['accuracy'])},{v['mean_correctness']!r}" for i, v in sorted(items.items())]
    path.write_text("\n".join(lines) + "\n")


def read_items_csv(path: Path) -> dict[str, dict[str, float]] | None:
    if not path.is_file():
        return None
    rows = list(csv.DictReader(path.read_text().splitlines()))
    return {r["id"]: {m: float(r[m]) for m in METRICS} for r in rows}


def collect(board: Path, settings: Any) -> dict[str, Any]:
    """Everything recorded in the board folder -> the study dict (nothing is read from the work folder)."""
    import dataclasses


    items_dir = board / "items"
    start = read_items_csv(items_dir / "warm-start.csv")
    runs, curves = {}, {}
    for arm in settings.arms:
        for seed in settings.seeds:
            name = run_name(arm, seed)
            items = read_items_csv(items_dir / f"{name}.csv")
            if items is None or not (board / "runs" / f"{name}.json").is_file():
                continue
            if start and set(items) != set(start):
                raise ValueError(f"{items_dir / name}.csv scores other items than the warm start's")
            runs[(arm, seed)] = items
            curves[(arm, seed)] = train_curves(read_metrics(board / "curves" / f"{name}.jsonl"))
    apibank = {}
    for path in sorted(items_dir.glob("*-apibank.csv")):
        apibank[path.stem[: -len("-apibank")]] = metric_summary(read_items_csv(path) or {}, "accuracy")
    stages = read_metrics(board / "stages.jsonl")
    warm = json.loads((board / "warm_start.json").read_text()) if (board / "warm_start.json").is_file() else {}
    extra = {"settings": dataclasses.asdict(settings), "warm_start": warm, "apibank_level1": apibank,
             "stages": stages, "total_wall_s": round(sum(s.get("wall_s", 0) for s in stages), 1),
             "total_cpu_s": round(sum(s.get("cpu_s", 0) for s in stages), 1)}
    return build_study(start, runs, curves, settings.arms, extra)


def write_report(board: Path, settings: Any) -> dict[str, Any]:
    """Rebuild study.json, the board files, the plots and README.md from the board folder's records."""
    study = collect(board, settings)
    board.mkdir(parents=True, exist_ok=True)
    out = board
    (out / "study.json").write_text(json.dumps(study, indent=2) + "\n")
    (out / "board.json").write_text(json.dumps({"rows": board_rows(study), "comparisons": study["comparisons"]}, indent=2) + "\n")
    (out / "board.md").write_text(render_md(study))
    (out / "board.csv").write_text(render_csv(study))
    plots = [p for p, ok in (("train_curves.png", plot_curves(study, out / "train_curves.png")),
                             ("held_out.png", plot_held_out(study, out / "held_out.png"))) if ok]
    (out / "index.html").write_text(render_html(study, "CPU study: GRPO vs ResT on SmolLM2-135M", plots))
    (out / "README.md").write_text(render_readme(study, plots))
    return study


def _hms(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}h{s % 3600 // 60:02d}m{s % 60:02d}s" if s >= 3600 else f"{s // 60}m{s % 60:02d}s"


def training_costs(study: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Per finished run: wall and CPU seconds of its train stages (CPU None when a stage did not record it)."""
    out = []
    for r in study.get("runs", []):
        name = run_name(r["method"], r["seed"])
        parts = [s for s in study.get("stages", []) if s.get("stage") == f"train {name}"]
        cpu = None if any("cpu_s" not in s for s in parts) else sum(s["cpu_s"] for s in parts)
        steps = sorted(t for t in r.get("train_step_time", []) if t == t)  # NaN: a step that logged no time
        out.append({"run": name, "rollouts": r["rollouts"], "wall_s": sum(s.get("wall_s", 0) for s in parts),
                    "cpu_s": cpu, "median_step_s": steps[len(steps) // 2] if steps else None,
                    "fastest_step_s": steps[0] if steps else None})
    return out


def render_costs(study: Mapping[str, Any]) -> list[str]:
    """The training-cost table: per run, training wall, wall per rollout and CPU ('—' where not recorded)."""
    def sec(v: float | None) -> str:
        return "—" if v is None else f"{v:.0f} s"

    return ["| run | training wall | per rollout | median step | fastest step | CPU |", "|---|---:|---:|---:|---:|---:|"] + [
        f"| {c['run']} | {_hms(c['wall_s'])} | {c['wall_s'] / max(c['rollouts'], 1):.0f} s | {sec(c['median_step_s'])} | "
        f"{sec(c['fastest_step_s'])} | {_hms(c['cpu_s']) if c['cpu_s'] is not None else '—'} |"
        for c in training_costs(study)]


def render_readme(study: Mapping[str, Any], plots: Sequence[str]) -> str:
    """The board's README: what was run (the exact driver command), the figures, wall times and load."""
    st = study.get("settings", {})
    flags = (f"--arms {','.join(st.get('arms', []))} --seeds {','.join(map(str, st.get('seeds', [])))} "
             f"--max-steps {st.get('max_steps')} --prompts-per-step {st.get('prompts_per_step')} "
             f"--num-generations {st.get('num_generations')} --max-completion-length {st.get('max_completion_length')} "
             f"--max-prompt-length {st.get('max_prompt_length')} --learning-rate {st.get('learning_rate')} "
             f"--eval-max-new-tokens {st.get('eval_max_new_tokens')}")
    flags += "".join(f" --set {x}" for x in st.get("extra_rl", []))
    stages = ["| stage | wall | CPU | load (1-min avg) start → end | finished |", "|---|---:|---:|---|---|"]
    for r in study.get("stages", []):
        cpu = _hms(r["cpu_s"]) if "cpu_s" in r else "—"
        stages.append(f"| {r['stage']} | {_hms(r['wall_s'])} | {cpu} | {r['load_start']} → {r['load_end']} "
                      f"| {r['finished']} |")
    costs = render_costs(study)
    apibank = study.get("apibank_level1", {})
    api = ["| model | API-Bank Level-1 accuracy (first items) |", "|---|---:|"] + [
        f"| {k} | {_pct(v['value'])} [{_pct(v['ci95'][0])}–{_pct(v['ci95'][1])}] n={v['n']} |" for k, v in apibank.items()]
    done = len(study.get("runs", []))
    planned = len(st.get("arms", [])) * len(st.get("seeds", []))
    parts = [
        "# CPU study: does `rest train` make SmolLM2-135M better on held-out items? GRPO vs ResT",
        "",
        f"Progress: {done} of {planned} arm-seed runs finished"
        + (" (the study is still running; every figure below is from the finished runs only)." if done < planned else "."),
        "",
        "Reproduce (resumable: stop and restart at any point; finished stages are skipped):",
        "",
        "```bash",
        f"nice python -m trainer.study --work runs/cpu-study --out leaderboards/cpu-study {flags} --commit",
        "```",
        "",
        f"Held out: `{study.get('held_out')}` (ToolRL's 80 test items, scored by the harness; greedy, fp32). "
        "Metrics: format valid (ToolRL's format rule), accuracy (the task's verdict: exact calls, or a formatted "
        "response for no-call items), mean correctness (ToolRL's correctness reward in [-3, 3]). Cells: value "
        "[95% interval]: Wilson for one run's 0/1 metrics, item bootstrap otherwise; arm rows are the mean over seeds "
        "with the seed range. Comparisons are paired over items (seeds of an item averaged): mean difference, item-bootstrap "
        "95% interval, two-sided sign-flip p (exact McNemar for one seed of 0/1 verdicts).",
        "",
        "## Held-out results",
        "",
        render_md(study),
        *(f"![{p}]({p})\n" for p in plots),
        "## API-Bank Level-1 (ToolRL protocol)",
        "",
        *api,
        "",
        "## Stages, wall times and machine load",
        "",
        f"Total wall so far: {_hms(study.get('total_wall_s', 0))} on 2 CPU cores; CPU time "
        f"{_hms(study.get('total_cpu_s', 0))} over the stages that recorded it (the CPU column; '—': the stage ran "
        "before the driver recorded CPU time).",
        "",
        "Training cost per arm-seed run (every `train` stage of the run, resumed parts included; the wall time "
        "depends on the load in the stage table; step times are the trainer's own per-rollout `step_time`, whose "
        "fastest is the nearest to a quiet machine):",
        "",
        *costs,
        "",
        *stages,
        "",
        "Per-item verdicts of every evaluation are in `items/`; `study.json` holds every figure above.",
        "",
    ]
    return "\n".join(parts)
