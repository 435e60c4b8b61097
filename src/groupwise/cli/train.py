"""``groupwise train``: a complete, honest run directory from a table."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from groupwise.cli._common import err, escape, fmt, frame_table, handle_errors, out
from groupwise.cli._config import (
    ConfigOption,
    DropOption,
    GroupOption,
    IdOption,
    PosLabelOption,
    TargetOption,
    TaskOption,
    TimeOption,
    load_options,
    merged,
    spec_from_options,
)

_OPTIONS = (
    "target", "id", "group", "time", "task", "pos_label", "drop", "metric", "models", "tune_trials",
    "tune_timeout", "tune_top", "tune_patience", "threshold", "holdout", "folds", "seed", "models_dir", "n_jobs", "fail_on",
    "bootstrap", "permutation_repeats", "naive_cv", "learning_curve", "audit", "hierarchy",
)  # fmt: skip
_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def _split(value):
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [v.strip() for v in str(value).split(",") if v.strip()]


@handle_errors
def train(
    table: Annotated[Path, typer.Argument(help="Training table (.parquet or .csv).")],
    target: TargetOption = None,
    id_cols: IdOption = None,
    group: GroupOption = None,
    time: TimeOption = None,
    task: TaskOption = None,
    pos_label: PosLabelOption = None,
    drop: DropOption = None,
    metric: Annotated[
        str | None, typer.Option(help="Primary metric (default by task and class balance).")
    ] = None,
    models: Annotated[
        str | None, typer.Option(help="Comma-separated candidates (dummy and linear always run).")
    ] = None,
    tune_trials: Annotated[
        int | None,
        typer.Option(help="Optuna trials for the best candidate; 0 = no tuning. [default: 25]"),
    ] = None,
    tune_patience: Annotated[
        int | None,
        typer.Option(help="Stop tuning after this many trials without improvement. [default: 10]"),
    ] = None,
    tune_timeout: Annotated[
        float | None, typer.Option(help="Stop tuning after this many seconds.")
    ] = None,
    threshold: Annotated[
        str | None,
        typer.Option(
            help="fixed:T | max_f1 | min_precision:P | min_recall:R | cost:fp=A,fn=B. [default: max_f1]"
        ),
    ] = None,
    holdout: Annotated[float | None, typer.Option(help="Holdout share. [default: 0.2]")] = None,
    folds: Annotated[int | None, typer.Option(help="CV folds. [default: 5]")] = None,
    seed: Annotated[
        int | None, typer.Option(help="Seed of every random choice. [default: 42]")
    ] = None,
    models_dir: Annotated[
        Path | None, typer.Option(help="Where runs are written. [default: models]")
    ] = None,
    n_jobs: Annotated[
        int | None,
        typer.Option(help="Parallel workers (default: all cores; threads capped per worker)."),
    ] = None,
    fail_on: Annotated[
        str | None,
        typer.Option(
            help="Stop before training at audit findings of this level, and exit 1 at model-check findings of it: never | error | warning. [default: never]"
        ),
    ] = None,
    bootstrap: Annotated[
        int | None, typer.Option(help="Bootstrap resamples for holdout CIs. [default: 2000]")
    ] = None,
    hierarchy: Annotated[
        str | None,
        typer.Option(
            help="Regression: comma-separated nested id columns (top → leaf) for the partial-pooling candidate."
        ),
    ] = None,
    no_audit: Annotated[bool, typer.Option("--no-audit", help="Skip the data audit.")] = False,
    no_naive_cv: Annotated[
        bool, typer.Option("--no-naive-cv", help="Skip the naive (row-level) CV comparison.")
    ] = False,
    no_learning_curve: Annotated[
        bool, typer.Option("--no-learning-curve", help="Skip the learning curve.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Plan honest splits, compare candidates, tune, evaluate on the holdout once, and write a run.

    Exit codes: 0 success; 1 findings at or above --fail-on; 2 bad input.
    """
    from groupwise.cli._progress import RichProgress
    from groupwise.io import read_table
    from groupwise.training import TrainConfig
    from groupwise.training import train as run_train

    opts = merged(
        {
            "target": target, "id": id_cols, "group": group, "time": time, "task": task, "pos_label": pos_label,
            "drop": drop, "metric": metric, "models": _split(models), "tune_trials": tune_trials,
            "tune_timeout": tune_timeout, "tune_patience": tune_patience, "threshold": threshold, "holdout": holdout, "folds": folds, "seed": seed,
            "models_dir": None if models_dir is None else str(models_dir), "n_jobs": n_jobs, "fail_on": fail_on,
            "bootstrap": bootstrap, "hierarchy": _split(hierarchy),
            "audit": False if no_audit else None, "naive_cv": False if no_naive_cv else None,
            "learning_curve": False if no_learning_curve else None,
        },
        load_options(config, "train", _OPTIONS),
        {"task": "auto"},
    )  # fmt: skip
    spec = spec_from_options(opts)
    cfg_fields = {
        k: opts[k]
        for k in _OPTIONS
        if k in opts and k not in ("target", "id", "group", "time", "task", "pos_label", "drop")
    }
    for k in ("models", "hierarchy"):
        if cfg_fields.get(k) is not None:
            cfg_fields[k] = tuple(_split(cfg_fields[k]))
    cfg = TrainConfig.from_dict(cfg_fields)
    df = read_table(table)
    progress = RichProgress(echo_stages=False)
    run = run_train(df, spec, cfg, dataset_path=str(table), progress=progress, events=_Printer(cfg))
    checks = run.read_metrics("model_checks")["findings"]
    print_model_checks(checks)
    out().print(f"\nrun:    [bold]{run.path}[/]\nreport: [bold]{run.path / 'report.html'}[/]")
    if cfg.fail_on != "never":
        from groupwise.audit._base import Finding

        if any(Finding.from_dict(f).at_least(cfg.fail_on) for f in checks):
            err().print(
                f"[bold red]model checks failed:[/] findings at or above --fail-on {cfg.fail_on}."
            )
            raise typer.Exit(1)


class _Printer:
    """Renders training events as they arrive."""

    def __init__(self, cfg):
        self.cfg = cfg

    def __call__(self, name: str, payload: Any) -> None:
        getattr(self, f"on_{name}", lambda p: None)(payload)

    def on_audit(self, report) -> None:
        c = report.counts()
        console = out()
        console.print(f"[bold]Data audit:[/] {report.summary()}")
        for f in report.findings:
            if f.severity in ("error", "warning"):
                console.print(
                    f"  [{_STYLE[f.severity]}]{f.severity}[/] {f.code} {escape(f.message)}"
                )
        if c["error"] or c["warning"]:
            console.print("  [dim](full audit in the run's audit/audit.md)[/]")

    def on_plan(self, plan) -> None:
        s = plan.summary
        rows = [
            ["holdout", plan.holdout_strategy, s["holdout"]["rows"]],
            ["cross-validation", plan.cv_strategy, s["development"]["rows"]],
        ]
        out().print(frame_table("Split plan", ["part", "strategy", "rows"], rows))
        for n in plan.notes:
            out().print(f"  [dim]{escape(n)}[/]")

    def on_leaderboard(self, board) -> None:
        if getattr(self, "_shown_board", False) and not board["tuned"].any():
            return
        self._shown_board = True
        from groupwise.evaluation._metrics import metric_names

        primary = board.attrs["metric"]
        task = board.attrs["task"]
        others = [m for m in metric_names(task) if m != primary][:3]
        rows = []
        for _, r in board.iterrows():
            flag = (
                ""
                if r["candidate"] == "dummy" or r["beats_dummy"]
                else "[red]does not beat dummy[/]"
            )
            rows.append([
                r["rank"], r["candidate"], fmt(r[primary]), f"{fmt(r[f'{primary}_mean'])} ± {fmt(r[f'{primary}_sd'])}",
                *[fmt(r[m]) for m in others], f"{r['fit_time_mean']:.2f}", flag,
            ])  # fmt: skip
        out().print(
            frame_table(
                f"Leaderboard (cross-validation, {primary} on pooled out-of-fold predictions)",
                ["#", "candidate", primary, "mean ± SD", *others, "fit s", ""],
                rows,
            )
        )

    def on_tuning(self, rec) -> None:
        out().print(
            f"Tuned {rec['candidate']}: {rec['trials']} trials, best {fmt(rec['best'], 4)} vs untuned "
            f"{fmt(rec['untuned'], 4)} → keeping the {rec['kept']} model."
        )

    def on_holdout(self, payload) -> None:
        metrics = payload["metrics"]
        rows = [
            [m, fmt(v["estimate"]), f"[{fmt(v['ci_low'])}, {fmt(v['ci_high'])}]"]
            for m, v in metrics.items()
        ]
        out().print(
            frame_table(
                "Holdout (touched once; 95% bootstrap CI)", ["metric", "estimate", "95% CI"], rows
            )
        )
        from groupwise.evaluation._bootstrap import few_groups_warning

        warning = few_groups_warning(payload.get("groups"))
        if warning:
            out().print(f"  [yellow]{escape(warning)}[/]")


def print_model_checks(findings) -> None:
    serious = [f for f in findings if f["severity"] != "info"]
    if not serious:
        out().print("[green]Model checks: no warning or error.[/]")
        return
    out().print("[bold]Model checks[/]")
    for f in findings:
        out().print(
            f"  [{_STYLE[f['severity']]}]{f['severity']}[/] {f['code']} {escape(f['message'])}"
        )
