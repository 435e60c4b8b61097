"""The model loaded is the model checked (issue 13, items 3 and 4)."""

import hashlib
import json
import sys

import numpy as np
import pytest
from sklearn.base import BaseEstimator, ClassifierMixin

from groupwise.exceptions import ModelIntegrityError
from groupwise.runs import KEY_ENV, TRUSTED_TYPES, Run, RunLayout

from .conftest import FAST, assert_refused, make_table

_OPENED: list[str] = []
_WATCHING = {"on": False}


def _audit(event, args):
    if _WATCHING["on"] and event == "open" and args and isinstance(args[0], (str, bytes)):
        _OPENED.append(str(args[0]))


sys.addaudithook(_audit)


class EvilClassifier(ClassifierMixin, BaseEstimator):
    """A type no groupwise run contains (stands for anything an attacker could name)."""

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        return self

    def predict_proba(self, X):
        return np.tile([0.0, 1.0], (len(X), 1))


def _sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _rewrite_meta(run_dir, edit):
    """Edit run_meta.json and recompute the manifest, as someone who can write the run would."""
    layout = RunLayout(run_dir)
    meta = json.loads(layout.meta.read_text())
    edit(meta)
    layout.meta.write_text(json.dumps(meta, indent=2))
    manifest = json.loads((run_dir / "manifest.json").read_text())
    for rel in manifest["files"]:
        manifest["files"][rel] = _sha(run_dir / rel)
    (run_dir / "manifest.json").write_text(json.dumps(manifest))


# ------------------------------------------------------- 3. one read of the model file
def test_the_model_file_is_read_exactly_once_when_loaded(run_copy):
    models, run = run_copy
    fresh = Run(run.path)
    model_path = str(fresh.layout.model)
    _OPENED.clear()
    _WATCHING["on"] = True
    try:
        assert fresh.pipeline is not None
    finally:
        _WATCHING["on"] = False
    assert [p for p in _OPENED if p == model_path] == [model_path]


# ------------------------------------------------- 4. the run is not the root of trust
def test_types_listed_in_run_meta_are_not_trusted(run_copy, inputs):
    import skops.io as sio

    models, run = run_copy
    evil = EvilClassifier().fit(inputs[["x1"]], np.array([0, 1] * 30))
    run.layout.model.write_bytes(sio.dumps(evil))
    name = sio.get_untrusted_types(file=run.layout.model)
    assert name and not set(name) <= TRUSTED_TYPES

    def edit(meta):
        meta["model"]["sha256"] = _sha(run.layout.model)
        meta["model"]["trusted_types"] = sorted(set(meta["model"]["trusted_types"]) | set(name))

    _rewrite_meta(run.path, edit)
    with pytest.raises(ModelIntegrityError, match="does not trust"):
        _ = Run(run.path).pipeline


@pytest.mark.parametrize("obj", [{"a": 1}, [1.0, 2.0], np.random.default_rng(0)])
def test_a_trusted_object_that_is_not_a_model_is_refused(cli, run_copy, inputs, tmp_path, obj):
    import skops.io as sio

    models, run = run_copy
    run.layout.model.write_bytes(sio.dumps(obj))
    _rewrite_meta(run.path, lambda meta: meta["model"].update(sha256=_sha(run.layout.model)))
    src = tmp_path / "in.csv"
    inputs.to_csv(src, index=False)
    result = cli("predict", src, "--out", tmp_path / "p.csv", "--models-dir", models)
    assert_refused(result, "not a fitted model")
    assert not (tmp_path / "p.csv").exists()


@pytest.mark.parametrize(
    "edit",
    [
        lambda m: m["threshold"].update(threshold=0.01),
        lambda m: m.update(classes=list(reversed(m["classes"]))),
        lambda m: m["model"].update(trusted_types=[*m["model"]["trusted_types"], "os.system"]),
    ],
    ids=["threshold", "classes", "trusted_types"],
)
def test_editing_run_meta_is_refused(cli, run_copy, inputs, tmp_path, edit):
    models, run = run_copy
    meta = json.loads(run.layout.meta.read_text())
    edit(meta)
    run.layout.meta.write_text(json.dumps(meta))
    src = tmp_path / "in.csv"
    inputs.to_csv(src, index=False)
    result = cli("predict", src, "--out", tmp_path / "o.csv", "--models-dir", models)
    assert_refused(result, "run_meta.json", "changed after training")
    assert not (tmp_path / "o.csv").exists()


def test_editing_the_input_schema_is_refused(cli, run_copy, inputs, tmp_path):
    models, run = run_copy
    schema = json.loads(run.layout.schema.read_text())
    schema["features"][0]["kind"] = "categorical"
    run.layout.schema.write_text(json.dumps(schema))
    src = tmp_path / "in.csv"
    inputs.to_csv(src, index=False)
    result = cli("predict", src, "--out", tmp_path / "o.csv", "--models-dir", models)
    assert_refused(result, "input_schema.json", "changed after training")


def test_a_format_3_run_without_its_manifest_is_refused(run_copy):
    _, run = run_copy
    (run.path / "manifest.json").unlink()
    with pytest.raises(ModelIntegrityError, match="manifest"):
        Run(run.path)


# ----------------------------------------------------------------- signed runs
@pytest.fixture
def signed_run(tmp_path, monkeypatch):
    from groupwise.spec import TableSpec
    from groupwise.training import TrainConfig, train

    monkeypatch.setenv(KEY_ENV, "correct horse battery staple")
    run = train(make_table(120), TableSpec(target="y", group_col="batch"),
                TrainConfig(models_dir=str(tmp_path / "m"), **FAST))  # fmt: skip
    return run


def test_a_signed_run_loads_with_its_key_and_a_forged_one_does_not(signed_run, monkeypatch):
    manifest = json.loads((signed_run.path / "manifest.json").read_text())
    assert manifest["signature"]["algorithm"] == "hmac-sha256"
    assert Run(signed_run.path).pipeline is not None
    _rewrite_meta(signed_run.path, lambda m: m["threshold"].update(threshold=0.01))
    with pytest.raises(ModelIntegrityError, match="signed with another key"):
        Run(signed_run.path)
    # without the key the forgery is only a consistent set of checksums: it loads (the
    # documented limit of unsigned verification)
    monkeypatch.delenv(KEY_ENV)
    assert Run(signed_run.path).threshold == 0.01


def test_with_a_key_set_an_unsigned_run_is_refused(run_copy, monkeypatch):
    _, run = run_copy
    monkeypatch.setenv(KEY_ENV, "k")
    with pytest.raises(ModelIntegrityError, match="not signed"):
        Run(run.path)


def test_every_built_in_candidate_is_covered_by_the_allow_list():
    import skops.io as sio

    from groupwise.estimators import PartialPoolingRegressor
    from groupwise.estimators._crossfit import Blend, Calibrated, Stack
    from groupwise.estimators._imbalance import Rebalanced
    from groupwise.estimators._zoo import available_candidates, build_candidate
    from groupwise.spec import TableSpec

    df = make_table(200)
    seen = set()
    for task, target in (("classification", "y"), ("regression", "x2")):
        table = TableSpec(target=target, group_col="batch", task=task).resolve(df)
        X = table.frame[list(table.features)]
        models = [build_candidate(n, task, table.kinds, 0) for n in available_candidates()]

        def pair(task=task, kinds=table.kinds):
            return [(f"m{i}", build_candidate(n, task, kinds, 0)) for i, n in enumerate(("linear", "hist_gb"))]  # fmt: skip

        models += [Blend(pair(), task=task), Stack(pair(), task=task)]
        if task == "regression":
            models.append(PartialPoolingRegressor(hierarchy=["site"], unknown="global"))
        else:
            weighted = build_candidate("linear", task, table.kinds, 0)
            weighted.steps[-1] = ("model", Rebalanced(weighted.steps[-1][1], "balanced", "smote"))
            models += [Calibrated(weighted, "sigmoid"), Calibrated(pair()[1][1], "isotonic")]
        for model in models:
            model.fit(X, table.y, **({"groups": table.group_values()} if "groups" in model.fit.__code__.co_varnames else {}))  # fmt: skip
            seen |= set(sio.get_untrusted_types(data=sio.dumps(model)))
    assert seen <= TRUSTED_TYPES, sorted(seen - TRUSTED_TYPES)
