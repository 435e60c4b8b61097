"""``groupwise demo``: the main job end to end on embedded synthetic data.

generate → audit → train (small budget) → predict on fresh rows from new batches
→ skew-check, then compare what grouped and naive CV promised with what the model
does on the new batches.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from groupwise.cli._common import handle_errors, out

#: The demo table: grouped, batch × class confounding, a little missingness.
DEMO_CONFIG = dict(
    n_samples=1200,
    n_informative=8,
    n_pseudo=2,
    n_noise=6,
    class_sep=1.6,
    n_batches=10,
    batch_sd=1.2,
    batch_effect="per_feature",
    confounding=0.6,
    missing_rate=0.03,
    n_categorical=2,
    random_state=7,
)
QUICK = dict(n_samples=500, n_batches=8)


def _rule(title: str) -> None:
    out().rule(f"[bold]{title}[/]", align="left")


@handle_errors
def demo(
    directory: Annotated[
        Path, typer.Option("--dir", help="Working directory for the demo's files.")
    ] = Path("groupwise-demo"),
    quick: Annotated[
        bool, typer.Option("--quick", help="A smaller table and budget (for tests).")
    ] = False,
) -> None:
    """Run generate → audit → train → predict → skew-check on embedded synthetic data."""
    import numpy as np

    from groupwise.audit import audit
    from groupwise.cli._progress import RichProgress
    from groupwise.cli.audit import print_report
    from groupwise.cli.generate import print_summary
    from groupwise.cli.predict import _print_violations
    from groupwise.cli.train import _Printer, print_model_checks
    from groupwise.datasets import DatasetConfig, generate_dataset, summarize_dataset
    from groupwise.evaluation import MetricSet
    from groupwise.io import read_table, write_json, write_table
    from groupwise.predict import skew_check
    from groupwise.spec import TableSpec
    from groupwise.training import TrainConfig, train

    directory.mkdir(parents=True, exist_ok=True)
    cfg = DatasetConfig(**{**DEMO_CONFIG, **(QUICK if quick else {})})

    _rule("1. generate a grouped table with batch × class confounding")
    X, y, meta = generate_dataset(cfg)
    X.insert(0, "sample_id", [f"S{i:05d}" for i in range(len(X))])
    table = directory / "train.parquet"
    write_table(X.assign(y=y), table)
    write_json(meta.to_dict(), directory / "train.meta.json")
    print_summary(summarize_dataset(X, y, meta))
    # fresh rows from new batches: same biology, new batch offsets, truth kept aside
    Xn, yn, _ = generate_dataset(
        dataclasses.replace(cfg, n_samples=cfg.n_samples // 2, random_state=cfg.random_state + 1000)
    )
    Xn["batch"] = "N" + Xn["batch"].str[1:]
    Xn.insert(0, "sample_id", [f"N{i:05d}" for i in range(len(Xn))])
    new_rows = directory / "new_batches.csv"
    write_table(Xn, new_rows)
    write_table(Xn[["sample_id"]].assign(y=yn), directory / "new_batches_truth.csv")
    out().print(
        f"wrote {table} and {new_rows} (rows from {Xn['batch'].nunique()} new batches, no target)"
    )

    spec = TableSpec(target="y", group_col="batch", id_cols=["sample_id"])
    _rule("2. audit")
    report = audit(read_table(table), spec, progress=RichProgress())
    print_report(report)

    _rule("3. train (small budget)")
    budget = (
        dict(
            tune_trials=3,
            bootstrap=300,
            models=("dummy", "linear", "hist_gb"),
            learning_curve=False,
        )
        if quick
        # the same four candidates on every machine (the boosting extras may be missing)
        else dict(
            tune_trials=3, bootstrap=1000, models=("dummy", "linear", "hist_gb", "random_forest")
        )
    )
    train_cfg = TrainConfig(models_dir=str(directory / "models"), **budget)
    run = train(
        read_table(table),
        spec,
        train_cfg,
        dataset_path=str(table),
        progress=RichProgress(),
        events=_Printer(train_cfg),
    )
    print_model_checks(run.model_checks)

    _rule("4. predict rows from new batches")
    predictions = directory / "new_batches_predictions.parquet"
    result = run.predictor.predict_file(new_rows, predictions, progress=RichProgress())
    _print_violations(result["report"])
    out().print(f"predicted {result['rows']} rows → {predictions}")

    _rule("5. skew-check")
    sk = skew_check(run)
    if not sk["ok"]:
        out().print(f"[bold red]skew-check failed[/]: {sk}")
        raise typer.Exit(1)
    out().print(
        f"[green]passed[/]: the serving path reproduces training's {sk['rows']} holdout predictions exactly."
    )

    _rule("6. what the estimates promised vs new batches")
    pred = read_table(predictions)
    metric = run.metric
    classes = run.classes
    codes = np.array([classes.index(v) for v in yn])
    proba = pred[[f"proba_{c}" for c in classes]].to_numpy()
    achieved = MetricSet("classification", codes, proba=proba, pos=run.positive_code).point(
        [metric]
    )[metric]
    ng = run.metrics.naive_vs_grouped()
    if ng:
        g, n = ng["grouped"][metric], ng["naive"][metric]
        out().print(
            f"  grouped CV promised  {metric} {g['estimate']:.3f}  [{g['ci_low']:.3f}, {g['ci_high']:.3f}]"
        )
        out().print(
            f"  naive CV promised    {metric} {n['estimate']:.3f}  [{n['ci_low']:.3f}, {n['ci_high']:.3f}]"
        )
    out().print(f"  on {Xn['batch'].nunique()} new batches  {metric} [bold]{achieved:.3f}[/]")
    out().print(
        f"\nreport: [bold]{run.layout.report}[/]   model card: [bold]{run.layout.model_card}[/]"
    )
