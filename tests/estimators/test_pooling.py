import pickle

import numpy as np
import pytest
from scipy.stats import multivariate_normal
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline

from groupwise.datasets import make_nested_regression
from groupwise.estimators import GroupedRidge, PartialPoolingRegressor
from groupwise.estimators._eb_tree import Tree, gaussian_pass, leaf_stats
from groupwise.exceptions import DataError, GroupwiseWarning

HIER = ["compound", "cluster", "species"]


@pytest.fixture(scope="module")
def nested():
    df, truth = make_nested_regression(
        n_clusters=5, n_species=100, n_compounds=80, pair_fraction=0.5, mean_rows=5,
        scale_range=(0.2, 1.5), sigma=0.2, random_state=0,
    )  # fmt: skip
    return df, truth


@pytest.fixture(scope="module")
def fitted(nested):
    df, _ = nested
    return PartialPoolingRegressor(hierarchy=HIER, scale_by="cluster").fit(
        df.drop(columns="y"), df["y"]
    )


# ---------------------------------------------------------------- exactness
def _dense_case(seed=0, r=1):
    """A small tree (2 top keys → 3 → 6 leaves) with top-key descriptors, fixed variances."""
    rng = np.random.default_rng(seed)
    par1, par2 = np.array([0, 0, 1]), np.array([0, 0, 1, 1, 2, 2])
    W = rng.normal(size=(r, 2))
    tree = Tree((2, 3, 6), (None, par1, par2), W)
    n = 25
    leaf = np.r_[np.arange(6), rng.integers(0, 6, n - 6)]
    Z = np.column_stack([np.ones(n), rng.normal(size=n)])
    y = rng.normal(size=n)
    groups = np.array([0, 1, 0, 1, 0, 1])
    D0 = np.array([0.7, 0.3])
    D1 = np.array([0.5, 0.2])
    D2 = np.array([[0.4, 0.1], [0.9, 0.3]])[groups].T  # per-leaf (scale groups)
    D = [np.repeat(D0[:, None], 2, 1), np.repeat(D1[:, None], 3, 1), D2]
    return tree, leaf, Z, y, D, 0.3, 0.6  # s2, s2_gamma


def _dense(tree, leaf, Z, y, D, s2, s2g, *, v0=0.0):
    """Joint Gaussian of every node and the root: prior covariance, design, data covariance."""
    q = Z.shape[1]
    nodes = [(d, i) for d in range(3) for i in range(tree.sizes[d])]
    pars = [None, tree.parent[1], tree.parent[2]]

    def chain(d, i):
        out = [(d, i)]
        while d > 0:
            i = pars[d][i]
            d -= 1
            out.append((d, i))
        return out

    # θ_node = Σ_{segments on its path} δ + A_top ρ, ρ = [β, γ]
    N = len(nodes)
    r = tree.r
    segs = np.zeros((N * q, N * q))  # covariance of the summed segments
    for a, na in enumerate(nodes):
        for b, nb in enumerate(nodes):
            shared = set(chain(*na)) & set(chain(*nb))
            block = sum((np.diag(D[d][:, i]) for d, i in shared), np.zeros((q, q)))
            segs[a * q : (a + 1) * q, b * q : (b + 1) * q] = block
    A = np.zeros((N * q, q + r))
    for a, (d, i) in enumerate(nodes):
        top = chain(d, i)[-1][1]
        A[a * q : (a + 1) * q, :q] = np.eye(q)
        A[a * q, q:] = tree.W[:, top]
    rho = np.diag(np.r_[np.full(q, v0), np.full(r, s2g)])
    prior = segs + A @ rho @ A.T
    H = np.zeros((len(y), N * q))
    for row in range(len(y)):
        k = nodes.index((2, leaf[row]))
        H[row, k * q : (k + 1) * q] = Z[row]
    return nodes, prior, H, A


def test_posterior_and_likelihood_equal_a_dense_gaussian_computation():
    """With the variances fixed, the tree pass is exact (REML: β integrated)."""
    tree, leaf, Z, y, D, s2, s2g = _dense_case()
    v0 = 1e4  # a proper prior on β keeps the dense computation well conditioned
    post = gaussian_pass(tree, leaf_stats(Z, y, leaf, 6), s2, D, s2g, method="reml", v0=v0)
    nodes, prior, H, _ = _dense(tree, leaf, Z, y, D, s2, s2g, v0=v0)
    K = H @ prior @ H.T + s2 * np.eye(len(y))
    mean = prior @ H.T @ np.linalg.solve(K, y)
    cov = prior - prior @ H.T @ np.linalg.solve(K, H @ prior)
    q = Z.shape[1]
    got = np.concatenate([post.m[d][:, i] for d, i in nodes])
    np.testing.assert_allclose(got, mean, rtol=0, atol=1e-8)
    for a, (d, i) in enumerate(nodes):
        np.testing.assert_allclose(
            post.C[d][:, :, i], cov[a * q : (a + 1) * q, a * q : (a + 1) * q], atol=1e-8
        )
    # REML's constant on top of the integrated likelihood (β ~ N(0, V0) → flat)
    beta = post.root_mean[:q]
    integrated = post.loglik - 0.5 * q * np.log(2 * np.pi * v0) - 0.5 * beta @ beta / v0
    assert integrated == pytest.approx(multivariate_normal(np.zeros(len(y)), K).logpdf(y), abs=1e-8)


def test_ml_likelihood_is_the_profile_likelihood_at_the_gls_estimate():
    tree, leaf, Z, y, D, s2, s2g = _dense_case(seed=3)
    post = gaussian_pass(tree, leaf_stats(Z, y, leaf, 6), s2, D, s2g, method="ml")
    _, prior, H, A = _dense(tree, leaf, Z, y, D, s2, s2g)  # β left out: profiled
    q = Z.shape[1]
    V = H @ prior @ H.T + s2 * np.eye(len(y))
    X = H @ A[:, :q]  # the fixed-effects design: every row's z
    Vi = np.linalg.inv(V)
    beta = np.linalg.solve(X.T @ Vi @ X, X.T @ Vi @ y)
    assert post.root_mean[:q] == pytest.approx(beta, abs=1e-6)
    expected = multivariate_normal(X @ beta, V).logpdf(y)
    assert post.loglik == pytest.approx(expected, abs=1e-6)


# ---------------------------------------------------------------- recovery
def test_recovers_sigma_and_per_cluster_scales(nested, fitted):
    _, truth = nested
    assert fitted.converged_
    assert fitted.sigma_ == pytest.approx(truth.sigma, rel=0.15)
    sc = fitted.scales_
    intercept = sc[(sc["level"] == "species") & (sc["coefficient"] == "intercept")].set_index(
        "scale_group"
    )["sd"]
    for cluster, tau in truth.cluster_scales.items():
        assert intercept[cluster] == pytest.approx(tau, rel=0.15), cluster


def test_predictive_intervals_cover_about_95_percent(nested):
    df, _ = nested
    rng = np.random.default_rng(1)
    test = rng.random(len(df)) < 0.2
    model = PartialPoolingRegressor(hierarchy=HIER, scale_by="cluster").fit(
        df.loc[~test].drop(columns="y"), df.loc[~test, "y"]
    )
    mu, sd = model.predict(df.loc[test].drop(columns="y"), return_std=True)
    covered = np.abs(df.loc[test, "y"] - mu) <= 1.96 * sd
    assert 0.93 <= covered.mean() <= 0.97


# ---------------------------------------------------------------- fallbacks
def test_unseen_nodes_fall_back_to_the_deepest_seen_ancestor(nested, fitted):
    df, _ = nested
    coef = fitted.coefficients()
    row = df.drop(columns="y").iloc[[0]].copy()
    seen_mu, seen_sd = fitted.predict(row, return_std=True)
    # an unseen species in a seen (compound, cluster): the (compound, cluster) node predicts
    new_species = row.assign(
        species="S-new",
        x1=fitted.x_mean_[0],
        x2=fitted.x_mean_[1],
        x3=fitted.x_mean_[2],
        x4=fitted.x_mean_[3],
    )
    mu, sd = fitted.predict(new_species, return_std=True)
    parent = coef[
        (coef["depth"] == 1)
        & (coef["compound"] == row["compound"].iloc[0])
        & (coef["cluster"] == row["cluster"].iloc[0])
    ]
    assert mu[0] == pytest.approx(parent["mean_intercept"].iloc[0])
    assert sd[0] > seen_sd[0]
    # an unseen (compound, cluster): the compound node predicts, with a wider interval still
    other = sorted(
        set(df["cluster"]) - set(df.loc[df["compound"] == row["compound"].iloc[0], "cluster"])
    )
    if other:
        pair = new_species.assign(cluster=other[0])
        mu2, sd2 = fitted.predict(pair, return_std=True)
        top = coef[(coef["depth"] == 0) & (coef["compound"] == row["compound"].iloc[0])]
        assert mu2[0] == pytest.approx(top["mean_intercept"].iloc[0])
        assert sd2[0] > sd[0]


def test_unseen_top_key_policies(nested, fitted):
    df, _ = nested
    row = df.drop(columns="y").iloc[[0, 1]].copy()
    row.loc[row.index[0], "compound"] = "C-new"
    with pytest.raises(DataError, match="'compound' not seen in training.*unknown='nan'"):
        fitted.predict(row)
    nan_model = clone(fitted).set_params(unknown="nan").fit(df.drop(columns="y"), df["y"])
    pred = nan_model.predict(row)
    assert np.isnan(pred[0]) and np.isfinite(pred[1])
    glob = clone(fitted).set_params(unknown="global").fit(df.drop(columns="y"), df["y"])
    mu, sd = glob.predict(row, return_std=True)
    assert np.isfinite(mu).all() and sd[0] > sd[1]


# ---------------------------------------------------------------- input errors
def test_nesting_violation_names_the_offending_ids(nested):
    df, _ = nested
    bad = df.copy()
    bad.loc[bad["species"] == "S001", "cluster"] = np.where(
        np.arange((bad["species"] == "S001").sum()) % 2 == 0, "K1", "K2"
    )
    with pytest.raises(DataError, match="'S001' in K1, K2"):
        PartialPoolingRegressor(hierarchy=HIER).fit(bad.drop(columns="y"), bad["y"])


def test_rows_with_missing_ids_are_dropped_with_a_count(nested):
    df, _ = nested
    sub = df.iloc[:400].copy()
    sub.loc[sub.index[:7], "species"] = None
    with pytest.warns(GroupwiseWarning, match="dropped 7 of 400 rows"):
        PartialPoolingRegressor(hierarchy=HIER).fit(sub.drop(columns="y"), sub["y"])


def test_clear_errors_for_bad_parameters_and_inputs(nested):
    df, _ = nested
    X, y = df.drop(columns="y").iloc[:300], df["y"].iloc[:300]
    with pytest.raises(DataError, match="needs a pandas DataFrame"):
        PartialPoolingRegressor(hierarchy=HIER).fit(X.to_numpy(), y)
    with pytest.raises(KeyError, match="Did you mean 'species'"):
        PartialPoolingRegressor(hierarchy=["compound", "specie"]).fit(X, y)
    with pytest.raises(ValueError, match="'scale_by' parameter"):
        PartialPoolingRegressor(hierarchy=HIER, scale_by="x1").fit(X, y)
    with pytest.raises(DataError, match="missing or infinite"):
        PartialPoolingRegressor(hierarchy=HIER).fit(X, y.where(y > 0))


# ---------------------------------------------------------------- sklearn contract
def test_sklearn_contract_with_dataframes(nested):
    df, _ = nested
    X, y = df.drop(columns="y").iloc[:2000], df["y"].iloc[:2000]
    model = PartialPoolingRegressor(hierarchy=HIER)
    with pytest.raises(NotFittedError):
        model.predict(X)
    assert model.fit(X, y) is model
    params = model.get_params()
    assert clone(model).get_params() == params
    first = model.predict(X)
    state = pickle.dumps(model.__dict__)
    order = np.random.default_rng(0).permutation(len(X))
    np.testing.assert_allclose(
        model.predict(X.iloc[order]), first[order]
    )  # sample-order invariance
    np.testing.assert_allclose(model.predict(X.iloc[:17]), first[:17])  # subset invariance
    assert pickle.dumps(model.__dict__) == state  # predict leaves the estimator unchanged
    np.testing.assert_allclose(clone(model).fit(X, y).predict(X), first)  # idempotent fit
    np.testing.assert_allclose(pickle.loads(pickle.dumps(model)).predict(X), first)
    pipe = Pipeline([("model", PartialPoolingRegressor(hierarchy=HIER))]).fit(X, y)
    np.testing.assert_allclose(pipe.predict(X), first)
    assert model.n_features_in_ == X.shape[1]


def test_coefficients_export_64_bit_keys(fitted):
    coef = fitted.coefficients()
    leaf = coef[coef["depth"] == 2]
    species_code = np.searchsorted(
        np.unique(leaf["species"].astype(str)), leaf["species"].astype(str)
    )
    compound_code = np.searchsorted(
        np.unique(coef.loc[coef["depth"] == 0, "compound"].astype(str)),
        leaf["compound"].astype(str),
    )
    assert (leaf["key"].to_numpy() == (species_code.astype(np.int64) << 32) + compound_code).all()
    top_keys = coef.loc[coef["depth"] == 0, "key"].to_numpy()
    assert (top_keys > 0).all() and (top_keys >> 32 == (1 << 31) - 1).all()
    assert {"mean_intercept", "sd_intercept", "mean_x1", "sd_x1", "n_rows"} <= set(coef.columns)


# ---------------------------------------------------------------- GroupedRidge
def test_grouped_ridge_matches_a_direct_solution_and_falls_back(nested):
    df, _ = nested
    X, y = df.drop(columns="y"), df["y"].to_numpy()
    model = GroupedRidge(groups=["compound", "cluster"], alpha=2.0).fit(X, y)
    key = ("C01", "K1")
    rows = ((X["compound"] == key[0]) & (X["cluster"] == key[1])).to_numpy()
    z = (X[["x1", "x2", "x3", "x4"]].to_numpy() - model.x_mean_) / model.x_sd_
    Z = np.column_stack([np.ones(rows.sum()), z[rows]])
    coef = np.linalg.solve(Z.T @ Z + np.diag([1e-10, 2.0, 2.0, 2.0, 2.0]), Z.T @ y[rows])
    np.testing.assert_allclose(model.predict(X.loc[rows]), Z @ coef, rtol=1e-8)
    new = X.iloc[[0]].assign(cluster="K-new")
    comp = (X["compound"] == new["compound"].iloc[0]).to_numpy()
    Zc = np.column_stack([np.ones(comp.sum()), z[comp]])
    coef_c = np.linalg.solve(Zc.T @ Zc + np.diag([1e-10, 2.0, 2.0, 2.0, 2.0]), Zc.T @ y[comp])
    np.testing.assert_allclose(model.predict(new), np.r_[1.0, z[0]] @ coef_c, rtol=1e-8)
    assert np.isfinite(model.predict(new.assign(compound="C-new"))).all()


def test_scale_by_gives_each_group_its_intercept_scale_and_shares_slope_scales(fitted):
    sc = fitted.scales_
    leaf = sc[sc["level"] == "species"]
    assert (
        leaf.loc[leaf["coefficient"] == "intercept", "sd"].nunique()
        == leaf["scale_group"].nunique()
    )
    for cov in ("x1", "x2"):
        assert leaf.loc[leaf["coefficient"] == cov, "sd"].nunique() == 1
