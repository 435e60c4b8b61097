"""Speed and memory of groupwise.datasets.generate_dataset.

For each shape: wall/CPU seconds and peak RSS of generating the DataFrame, next to
the raw ``rng.standard_normal`` draws of the same size (the floor). Goals (issue):
CPU ≤ 2× the raw draws; memory added ≤ 1.5× the output's size.
With ``--peers``: biomedical-data-generator 1.0.0 in its own venv, same shapes.

    python benchmarks/bench_generate.py            # groupwise + floor
    python benchmarks/bench_generate.py --peers    # + biomedical-data-generator
    python benchmarks/bench_generate.py --quick    # small shapes (smoke test)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness as h

CASES = {
    # name: (n_samples, n_features, dtype, n_batches)
    "1M x 100 float64": (1_000_000, 100, "float64", 0),
    "1M x 100 float32": (1_000_000, 100, "float32", 0),
    "10k x 1000 float64": (10_000, 1000, "float64", 0),
    "1M x 100 float64, 4 batches": (1_000_000, 100, "float64", 4),
    "1M x 100 float32, 4 batches": (1_000_000, 100, "float32", 4),
    "10k x 1000 float64, 4 batches": (10_000, 1000, "float64", 4),
}
QUICK = {f"{k} (quick)": (max(v[0] // 100, 500), v[1], v[2], v[3]) for k, v in CASES.items()}


def _config(n, p, dtype, batches):
    n_inf = max(p // 10, 2)
    cfg = dict(n_samples=n, n_informative=n_inf, n_noise=p - n_inf, dtype=dtype, random_state=0)
    if batches:
        cfg.update(n_batches=batches, batch_effect="per_feature", batch_sd=1.0)
    return cfg


def child(kind: str, n: int, p: int, dtype: str, batches: int) -> None:
    import numpy as np

    if kind == "floor":

        def run():
            x = np.random.default_rng(0).standard_normal((n, p), dtype=dtype)
            return {"output_bytes": int(x.nbytes)}
    elif kind == "groupwise":
        from groupwise.datasets import DatasetConfig, generate_dataset

        cfg = DatasetConfig(**_config(n, p, dtype, batches))

        def run():
            X, y, _ = generate_dataset(cfg)
            return {
                "output_bytes": int(X.memory_usage(deep=True).sum() + y.memory_usage(deep=True))
            }
    else:  # biomedical-data-generator 1.0.0, run inside its own venv
        from biomedical_data_generator import DatasetConfig, generate_dataset
        from biomedical_data_generator.config import BatchEffectsConfig, ClassConfig

        n_inf = max(p // 10, 2)
        kwargs = dict(
            n_informative=n_inf,
            n_noise=p - n_inf,
            class_configs=[ClassConfig(n_samples=n // 2), ClassConfig(n_samples=n - n // 2)],
            random_state=0,
        )
        if batches:
            kwargs["batch_effects"] = BatchEffectsConfig(
                n_batches=batches, effect_granularity="per_feature"
            )
        cfg = DatasetConfig(**kwargs)

        def run():
            X, y, _ = generate_dataset(cfg, return_dataframe=True)
            return {"output_bytes": int(X.memory_usage(deep=True).sum())}

    h.emit(h.measure(run))


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--peers", action="store_true", help="also measure biomedical-data-generator 1.0.0"
    )
    ap.add_argument("--quick", action="store_true", help="small shapes, for a smoke test")
    ap.add_argument(
        "--repeat", type=int, default=3, help="fresh processes per measurement (median)"
    )
    ap.add_argument("--child", nargs=5, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        kind, n, p, dtype, batches = args.child
        child(kind, int(n), int(p), dtype, int(batches))
        return

    cases = QUICK if args.quick else CASES
    bdg = h.peer_python("bdg-1.0.0", ["biomedical-data-generator==1.0.0"]) if args.peers else None
    rows, notes = [], []
    misses = 0
    for name, (n, p, dtype, batches) in cases.items():
        spec = [str(n), str(p), dtype, str(batches)]
        floor = h.run_child_median(
            [sys.executable, __file__, "--child", "floor", *spec], repeat=args.repeat
        )
        ours = h.run_child_median(
            [sys.executable, __file__, "--child", "groupwise", *spec], repeat=args.repeat
        )
        if "error" in ours:
            rows.append([name, "groupwise", "error", ours["error"], "", "", "", ""])
            misses += 1
            continue
        cpu_ratio = ours["cpu_s"] / floor["cpu_s"]
        mem_ratio = ours["rss_added"] / ours["output_bytes"]
        ok = cpu_ratio <= 2.0 and mem_ratio <= 1.5
        misses += not ok
        rows.append([
            name, "groupwise", f"{ours['wall_s']:.2f}", f"{ours['cpu_s']:.2f}", f"{floor['cpu_s']:.2f}",
            f"{cpu_ratio:.2f}×", f"{h.fmt_bytes(ours['rss_added'])} / {h.fmt_bytes(ours['output_bytes'])} ({mem_ratio:.2f}×)",
            "yes" if ok else "**no**",
        ])  # fmt: skip
        if bdg is not None:
            peer = h.run_child([str(bdg), __file__, "--child", "bdg", *spec])
            if "error" in peer:
                rows.append([name, "bdg 1.0.0", "error", peer["error"][:80], "", "", "", ""])
            else:
                rows.append([
                    name, "bdg 1.0.0", f"{peer['wall_s']:.2f}", f"{peer['cpu_s']:.2f}", f"{floor['cpu_s']:.2f}",
                    f"{peer['cpu_s'] / floor['cpu_s']:.2f}×",
                    f"{h.fmt_bytes(peer['rss_added'])} / {h.fmt_bytes(peer['output_bytes'])} "
                    f"({peer['rss_added'] / peer['output_bytes']:.2f}×)",
                    "",
                ])  # fmt: skip
    notes.append(
        "CPU ratio = generator CPU / raw standard_normal CPU for the same shape (goal ≤ 2×)."
    )
    notes.append(
        "Memory = peak RSS added during generation / size of the returned X and y (goal ≤ 1.5×)."
    )
    notes.append("With batches: 4 batches, per-feature intercepts on all features.")
    notes.append(f"groupwise and floor: median of {args.repeat} fresh processes; peers: one run.")
    h.report(
        "bench_generate" + (" (quick)" if args.quick else ""),
        [
            "case",
            "tool",
            "wall s",
            "CPU s",
            "floor CPU s",
            "CPU / floor",
            "memory added / output",
            "goal met",
        ],
        rows,
        notes,
        record=not args.quick,
    )


if __name__ == "__main__":
    main()
