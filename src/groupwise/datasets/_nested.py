"""Nested regression data with known truth (clusters → species, crossed with compounds)."""

from __future__ import annotations

import dataclasses
from typing import Any

import numpy as np
import pandas as pd

from groupwise._validation import check_number
from groupwise.exceptions import ConfigError
from groupwise.io import to_jsonable

__all__ = ["NestedTruth", "make_nested_regression"]


@dataclasses.dataclass(frozen=True)
class NestedTruth:
    """The parameters ``make_nested_regression`` drew.

    Attributes
    ----------
    sigma : float
        Residual SD.
    cluster_scales : dict
        Cluster → SD of species intercepts around the (cluster, compound) head.
    species_slope_sd : float
        SD of species slopes around the head.
    head_sd : dict
        SDs of (cluster, compound) heads around the compound: ``intercept``, ``slope``.
    species_cluster : dict
        Species → cluster.
    rows_per_pair : dict
        Summary of the heavy-tailed rows per (species, compound) pair.
    leaf_coefficients : DataFrame
        True intercept and slopes of every observed (species, compound) pair (left
        out of ``to_dict`` unless asked for).
    config : dict
        The arguments used.
    """

    sigma: float
    cluster_scales: dict[str, float]
    species_slope_sd: float
    head_sd: dict[str, float]
    species_cluster: dict[str, str]
    rows_per_pair: dict[str, float]
    leaf_coefficients: pd.DataFrame
    config: dict[str, Any]

    def to_dict(self, *, include_coefficients: bool = False) -> dict[str, Any]:
        d = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name != "leaf_coefficients"
        }
        if include_coefficients:
            d["leaf_coefficients"] = self.leaf_coefficients.to_dict(orient="list")
        return to_jsonable(d)


def make_nested_regression(
    n_clusters: int = 20,
    n_species: int = 400,
    n_compounds: int = 300,
    n_covariates: int = 4,
    *,
    sigma: float = 0.2,
    scale_range: tuple[float, float] = (0.05, 1.5),
    species_slope_sd: float = 0.05,
    head_sd: tuple[float, float] = (0.3, 0.1),
    compound_sd: tuple[float, float] = (2.0, 0.5),
    pair_fraction: float = 0.4,
    mean_rows: float = 4.0,
    covariate_shift: tuple[float, float] = (0.5, 0.3),
    n_descriptors: int = 0,
    descriptor_r2: float = 0.8,
    random_state: int | None = None,
) -> tuple[pd.DataFrame, NestedTruth]:
    """A table of retention-time-like measurements per (species, compound) pair.

    Generative model (z = [1, x])::

        compound c        θ_c   ~ N(0, diag(compound_sd²))
        head (k, c)       ν_kc  ~ N(θ_c, diag(head_sd²))              cluster "slope heads"
        pair (s, c)       θ_sc  ~ N(ν_k(s)c, diag(τ_k², species_slope_sd²))
        row               y     = z'θ_sc + N(0, σ²)

    with τ_k log-uniform in ``scale_range`` (cluster-specific shrinkage), covariates
    ``x = μ_cluster + μ_species + N(0, 1)`` (shifted by cluster and species, SDs from
    ``covariate_shift``), a random ``pair_fraction`` of the pairs observed, and
    heavy-tailed rows per pair (1 + lognormal, mean about ``mean_rows``): many pairs
    have one or two rows.

    With ``n_descriptors > 0`` each compound also gets descriptors ``d1..dr`` (columns,
    constant within a compound, drawn from their own random stream) that explain a
    share ``descriptor_r2`` of the compound intercepts' variance: the setting in which a
    compound unseen in training can be predicted from its chemistry.

    Returns
    -------
    df : DataFrame
        Columns ``compound``, ``cluster``, ``species``, ``x1..xp``, ``y``.
    truth : NestedTruth
    """
    owner = "make_nested_regression"
    for name, v, low in (
        ("n_clusters", n_clusters, 1),
        ("n_species", n_species, 1),
        ("n_compounds", n_compounds, 1),
        ("n_covariates", n_covariates, 0),
    ):
        check_number(v, name, owner, low=low, integer=True)
    if n_species < n_clusters:
        raise ConfigError(
            f"n_species={n_species} must be at least n_clusters={n_clusters}: every cluster needs a species."
        )
    check_number(sigma, "sigma", owner, low=0, closed="neither")
    check_number(pair_fraction, "pair_fraction", owner, low=0, high=1, closed="right")
    check_number(mean_rows, "mean_rows", owner, low=1)
    lo, hi = scale_range
    if not 0 < lo <= hi:
        raise ConfigError(f"scale_range must satisfy 0 < low <= high. Got {scale_range!r} instead.")
    rng = np.random.default_rng(random_state)
    p = n_covariates
    q = p + 1
    K, S, C = n_clusters, n_species, n_compounds
    cluster_of = np.r_[np.arange(K), rng.integers(0, K, S - K)]
    rng.shuffle(cluster_of)
    tau = np.exp(rng.uniform(np.log(lo), np.log(hi), K))
    theta_c = rng.normal(0, 1, (C, q)) * np.r_[compound_sd[0], np.full(p, compound_sd[1])]
    descriptors = None
    if n_descriptors:
        check_number(n_descriptors, "n_descriptors", owner, low=0, integer=True)
        check_number(descriptor_r2, "descriptor_r2", owner, low=0, high=1)
        drng = np.random.default_rng([0 if random_state is None else random_state, 7919])
        descriptors = drng.normal(size=(C, n_descriptors))
        signal = descriptors @ drng.normal(size=n_descriptors)
        signal = (signal - signal.mean()) / (signal.std() or 1.0) * compound_sd[0]
        theta_c[:, 0] = np.sqrt(descriptor_r2) * signal + np.sqrt(1 - descriptor_r2) * theta_c[:, 0]
    head = (
        theta_c[None, :, :]
        + rng.normal(0, 1, (K, C, q)) * np.r_[head_sd[0], np.full(p, head_sd[1])]
    )
    mu_k = rng.normal(0, covariate_shift[0], (K, p))
    mu_s = rng.normal(0, covariate_shift[1], (S, p))
    # observed pairs and heavy-tailed rows per pair
    observed = np.flatnonzero(rng.random(S * C) < pair_fraction)
    sp, cp = observed // C, observed % C
    sigma_ln = 1.2
    mu_ln = np.log(max(mean_rows - 1, 1e-3)) - sigma_ln**2 / 2
    rows = 1 + np.floor(np.exp(rng.normal(mu_ln, sigma_ln, len(observed)))).astype(np.int64)
    rows = np.minimum(rows, 500)
    dev = rng.normal(0, 1, (len(observed), q)) * np.column_stack(
        [tau[cluster_of[sp]], np.full((len(observed), p), species_slope_sd)]
    )
    theta_sc = head[cluster_of[sp], cp] + dev
    pair = np.repeat(np.arange(len(observed)), rows)
    s_row, c_row = sp[pair], cp[pair]
    x = mu_k[cluster_of[s_row]] + mu_s[s_row] + rng.normal(0, 1, (len(pair), p))
    z = np.column_stack([np.ones(len(pair)), x])
    y = (z * theta_sc[pair]).sum(axis=1) + rng.normal(0, sigma, len(pair))
    order = rng.permutation(len(pair))
    w = lambda prefix, n: [f"{prefix}{i + 1:0{len(str(n))}d}" for i in range(n)]  # noqa: E731
    cl_names, sp_names, co_names = w("K", K), w("S", S), w("C", C)
    df = pd.DataFrame(
        {
            "compound": np.asarray(co_names, dtype=object)[c_row[order]],
            "cluster": np.asarray(cl_names, dtype=object)[cluster_of[s_row[order]]],
            "species": np.asarray(sp_names, dtype=object)[s_row[order]],
            **{f"x{j + 1}": x[order, j] for j in range(p)},
            **(
                {}
                if descriptors is None
                else {
                    f"d{j + 1}": descriptors[c_row[order], j] for j in range(descriptors.shape[1])
                }
            ),
            "y": y[order],
        }
    )
    coef = pd.DataFrame(
        {
            "species": np.asarray(sp_names, dtype=object)[sp],
            "compound": np.asarray(co_names, dtype=object)[cp],
            "rows": rows,
        }
    )
    coef["intercept"] = theta_sc[:, 0]
    for j in range(p):
        coef[f"x{j + 1}"] = theta_sc[:, j + 1]
    truth = NestedTruth(
        sigma=float(sigma),
        cluster_scales={cl_names[k]: float(tau[k]) for k in range(K)},
        species_slope_sd=float(species_slope_sd),
        head_sd={"intercept": float(head_sd[0]), "slope": float(head_sd[1])},
        species_cluster={sp_names[s]: cl_names[cluster_of[s]] for s in range(S)},
        rows_per_pair={"pairs": int(len(observed)), "mean": float(rows.mean()), "median": float(np.median(rows)), "share_1_2": float(np.mean(rows <= 2)), "max": int(rows.max())},
        leaf_coefficients=coef,
        config=dict(
            n_clusters=K, n_species=S, n_compounds=C, n_covariates=p, sigma=sigma, scale_range=list(scale_range),
            species_slope_sd=species_slope_sd, head_sd=list(head_sd), compound_sd=list(compound_sd),
            pair_fraction=pair_fraction, mean_rows=mean_rows, covariate_shift=list(covariate_shift),
            n_descriptors=n_descriptors, descriptor_r2=descriptor_r2, random_state=random_state,
        ),
    )  # fmt: skip
    return df, truth
