"""``groupwise train``: a complete, honest run directory from a table.

Its options are the fields of :class:`~groupwise.training.TrainConfig` (help from the
field docs), plus the column roles and ``--config``.
"""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import Annotated, Any

import typer

from groupwise.cli._common import err, escape, fmt, frame_table, handle_errors, out
from groupwise.cli._config import (
    ConfigOption,
    DropOption,
    GroupKindOption,
    GroupOption,
    IdOption,
    PosLabelOption,
    TargetOption,
    TaskOption,
    TimeOption,
    accepted,
    dataclass_options,
    flag_names,
    flags_of,
    load_options,
    merged,
    spec_from_options,
)
from groupwise.training._config import TrainConfig

_ROLES = {"target": "target", "id_cols": "id", "group": "group", "group_kind": "group_kind",
          "time": "time", "task": "task", "pos_label": "pos_label", "drop": "drop"}  # fmt: skip
_LIST_FIELDS = ("models", "hierarchy")
_STYLE = {"error": "bold red", "warning": "yellow", "info": "cyan"}


def _folds_text(folds) -> str:
    return f"fold {folds[0]}" if len(folds) == 1 else "folds " + ", ".join(map(str, folds))


def _split(value):
    if value is None:
        return None
    if isinstance(value, (list, tuple)):
        return [str(v) for v in value]
    return [v.strip() for v in str(value).split(",") if v.strip()]


def _train(table: Path, config: Path | None = None, **options: Any) -> None:
    """Plan honest splits, compare candidates, tune, evaluate on the holdout once, and write a run.

    Exit codes: 0 success; 1 findings at or above --fail-on; 2 bad input.
    """
    from groupwise.cli._progress import RichProgress
    from groupwise.io import read_table
    from groupwise.runs import check_models_dir

    given = {_ROLES.get(k, k): v for k, v in options.items()}
    for k in _LIST_FIELDS:
        given[k] = _split(given.get(k))
    allowed = [*_ROLES.values(), *flags_of(TrainConfig)]
    config_opts = load_options(config, "train", allowed)
    opts = merged(given, config_opts, {"task": "auto"})
    opts["accept"] = accepted(given.get("accept"), config_opts.get("accept"))
    spec = spec_from_options(opts)
    fields = {k: opts[k] for k in flags_of(TrainConfig) if k in opts}
    for k in _LIST_FIELDS:
        if fields.get(k) is not None:
            fields[k] = tuple(_split(fields[k]))
    if isinstance(fields.get("models_dir"), Path):
        fields["models_dir"] = str(fields["models_dir"])
    with flag_names(flags_of(TrainConfig)):
        cfg = TrainConfig.from_dict(fields)
        check_models_dir(cfg.models_dir)
        df = read_table(table)
        executor = _started_executor(cfg)  # before importing scikit-learn and the training code
        try:
            from groupwise.training import train as run_train

            run = run_train(
                df,
                spec,
                cfg,
                dataset_path=str(table),
                progress=RichProgress(),
                events=_Printer(cfg, pos_label_given=spec.pos_label is not None),
                executor=executor,
            )
        finally:
            if executor is not None:
                executor.close()
    print_model_checks(run.model_checks)
    out().print(f"\nrun:    [bold]{run.path}[/]\nreport: [bold]{run.layout.report}[/]")
    if run.exit_code(cfg.fail_on):
        err().print(
            f"[bold red]model checks failed:[/] findings at or above --fail-on {cfg.fail_on}."
        )
        raise typer.Exit(1)


def _started_executor(cfg: TrainConfig):
    """The local executor, its workers already importing the estimators while this process
    imports scikit-learn and the training code (0.5 s; the first fits used to wait 0.7 s
    for the workers); None for a Dask executor, which ``train`` starts and stops itself."""
    from groupwise._parallel import LocalExecutor, check_executor
    from groupwise.training._config import WORKER_MODULES

    if check_executor(cfg.executor) != "local":
        return None
    executor = LocalExecutor(cfg.n_jobs)
    executor.warm_up(WORKER_MODULES)
    return executor


def _signature() -> tuple[inspect.Signature, dict[str, Any]]:
    P = inspect.Parameter
    table = P(
        "table",
        P.POSITIONAL_OR_KEYWORD,
        annotation=Annotated[Path, typer.Argument(help="Training table (.parquet or .csv).")],
    )
    roles = [
        P(name, P.KEYWORD_ONLY, default=None, annotation=annotation)
        for name, annotation in (
            ("target", TargetOption), ("id_cols", IdOption), ("group", GroupOption),
            ("group_kind", GroupKindOption), ("time", TimeOption), ("task", TaskOption), ("pos_label", PosLabelOption),
            ("drop", DropOption),
        )
    ]  # fmt: skip
    config = P("config", P.KEYWORD_ONLY, default=None, annotation=ConfigOption)
    params = [table, *roles, *dataclass_options(TrainConfig), config]
    return inspect.Signature(params), {p.name: p.annotation for p in params}


@handle_errors
def train(table: Path, **options: Any) -> None:
    _train(table, **options)


train.__doc__ = _train.__doc__
train.__signature__, train.__annotations__ = _signature()


class _Printer:
    """Renders training events as they arrive."""

    def __init__(self, cfg, *, pos_label_given: bool = False):
        self.cfg = cfg
        self.cfg_pos_label = pos_label_given

    def __call__(self, name: str, payload: Any) -> None:
        getattr(self, f"on_{name}", lambda p: None)(payload)

    def on_tracked(self, result) -> None:
        if result.ok:
            out().print(
                f"tracked in MLflow: run {result.mlflow_run_id} in experiment "
                f"{escape(repr(result.experiment))} at {escape(result.uri)} ({result.seconds:.1f} s)"
            )
        else:
            err().print(
                f"[yellow]warning:[/] tracking in MLflow at {escape(result.uri)} failed "
                f"({escape(result.error or '')}); the run directory is complete. Check the "
                "tracking URI (--tracking-uri, MLFLOW_TRACKING_URI) or the server."
            )

    def on_prepared(self, prep) -> None:
        t = prep.table
        text = f"[bold]Task:[/] {t.task} of {escape(repr(t.target))}"
        if t.task == "classification" and len(t.classes) == 2:
            how = (
                "given by --pos-label"
                if self.cfg_pos_label
                else "by the naming rule, else the minority class"
            )
            text += (
                f"; positive class {escape(repr(t.pos_label))} ({how}; change it with --pos-label)"
            )
        elif t.task == "classification":
            text += f"; {len(t.classes)} classes"
        text += f"; primary metric {prep.metric}"
        out().print(text)

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
        shown = getattr(self, "_shown_board", set())
        if set(board["candidate"]) <= shown:
            return
        self._shown_board = set(board["candidate"])
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
        short = {"balanced_accuracy": "bal. acc.", "accuracy": "acc.", "log_loss": "log loss"}
        columns = ["#", "candidate", primary, "mean ± SD", *(short.get(m, m) for m in others),
                   "fit s", "note"]  # fmt: skip
        if not any(r[-1] for r in rows):  # no candidate to flag: no empty column
            columns, rows = columns[:-1], [r[:-1] for r in rows]
        out().print(
            frame_table(
                f"Leaderboard (cross-validation, {primary} on pooled out-of-fold predictions)",
                columns,
                rows,
                no_wrap=("candidate", "#", "mean ± SD", "fit s"),
            )
        )

    def on_tuning(self, rec) -> None:
        out().print(
            f"Tuned {rec['candidate']}: {rec['trials']} trials, best {fmt(rec['best'], 4)} vs untuned "
            f"{fmt(rec['untuned'], 4)} → keeping the {rec['kept']} model."
        )

    def on_racing(self, info) -> None:
        for label, v in info["raced_out"].items():
            scores = ", ".join(fmt(x) for x in v["scores"])
            lead = ", ".join(fmt(x) for x in v["leader_scores"])
            out().print(
                f"Raced out {escape(label)} after {_folds_text(v.get('folds', info['folds']))}: "
                f"{info['metric']} {scores} vs {escape(v['leader'])} {lead} (behind by more than "
                f"{fmt(v['margin'])}"
                + (" on each)." if len(v.get("folds", info["folds"])) > 1 else ").")
            )

    def on_ensembles(self, info) -> None:
        for kind, v in info.get("verdicts", {}).items():
            mark = "[green]selectable[/]" if v["selectable"] else "[dim]not selected[/]"
            out().print(
                f"{kind.capitalize()} of {escape(', '.join(info['members']))}: {mark} — {escape(v['reason'])}."
            )

    def on_calibration(self, info) -> None:
        b, a = info["before"], info["after"]
        out().print(
            f"Calibrated {escape(info['of'])} ({info['method']}, cross-fitted; {escape(info['reason'])}): "
            f"expected calibration error {fmt(b['ece'])} → {fmt(a['ece'])}, Brier {fmt(b['brier'])} → "
            f"{fmt(a['brier'])} (out-of-fold)."
        )

    def on_imbalance(self, info) -> None:
        cols = [
            "candidate",
            "weights",
            "resample",
            "threshold",
            "pr_auc",
            "recall",
            "precision",
            "bal. acc.",
        ]
        rows = [
            [escape(r["candidate"]), r["class_weight"] or "none", r["resample"], fmt(r["threshold"]),
             fmt(r["pr_auc"]), fmt(r["recall"]), fmt(r["precision"]), fmt(r["balanced_accuracy"])]
            for r in info["table"].to_dict(orient="records")
        ]  # fmt: skip
        out().print(
            frame_table(
                "Class imbalance: the same candidate with and without (same folds)", cols, rows
            )
        )

    def on_holdout(self, payload) -> None:
        metrics = payload["metrics"]
        rows = [
            [m, fmt(v["estimate"]), f"[{fmt(v['ci_low'])}, {fmt(v['ci_high'])}]"]
            for m, v in metrics.items()
        ]
        nested = payload.get("scheme") == "nested"
        title = (
            f"Nested CV over all {payload.get('groups') or ''} groups"
            if nested
            else "Holdout (touched once)"
        )
        out().print(frame_table(title, ["metric", "estimate", "95% CI"], rows))
        out().print(f"  [dim]95% CI: {escape(payload.get('method', ''))}[/]")
        if nested:
            from collections import Counter

            out().print("  [dim]each group scored once, by a model that never saw it[/]")

            picks = Counter(o["selected"] for o in payload.get("outer", []))
            out().print(
                "  [dim]selected in the outer folds: "
                + ", ".join(f"{k} ×{v}" for k, v in picks.items())
                + "[/]"
            )
            return
        from groupwise.evaluation._bootstrap import few_groups_warning

        warning = few_groups_warning(payload.get("groups"))
        if warning:
            out().print(f"  [yellow]{escape(warning)}[/]")


def print_model_checks(findings) -> None:
    serious = [f for f in findings if f["severity"] != "info" and f.get("accepted") is None]
    if not serious:
        out().print("[green]Model checks: no warning or error.[/]")
        return
    out().print("[bold]Model checks[/]")
    for f in findings:
        if f.get("accepted") is not None:
            out().print(f"  [dim]{f['severity']} (accepted) {f['code']} {escape(f['message'])}[/]")
            continue
        out().print(
            f"  [{_STYLE[f['severity']]}]{f['severity']}[/] {f['code']} {escape(f['message'])}"
        )


__all__ = ["print_model_checks", "train"]
