"""Exact empirical Bayes for nested Gaussian hierarchies, on sufficient statistics.

Model (all on standardised y and x; ``z = [1, x]``, ``q`` coefficients)::

    y_i        = z_i' θ_leaf(i) + e_i,                e_i ~ N(0, σ²)
    θ_node     ~ N(θ_parent, D_node)                  depths 1 .. L-1 (diagonal D)
    θ_top(c)   ~ N(A_c ρ, D_top)                      depth 0: the top keys
    ρ = [β, γ]:  β ~ N(0, v0 I) (flat: fixed effects), γ ~ N(0, s_γ² I) (descriptors)

``A_c ρ = β + e₀ (w_c' γ)``: the top key's prior mean is the population coefficients,
its intercept shifted by a regression on the key's own descriptors ``w_c`` (group-level
predictors; none by default), with their own empirical-Bayes shrinkage ``s_γ²``.

Given the variances, an upward pass in information form and a downward pass give the
exact posterior of every node and the root, and the marginal log-likelihood. The
variances maximise it (ML: β profiled out, the default; or REML: β integrated). The
gradient with respect to the log variances comes free from the EM M-step (Fisher's
identity) and drives L-BFGS-B; every evaluation is one pass over the nodes, never over
rows. Each variance parameter covers a set of (node, coefficient) cells given by an
index map, so per-level, per-scale-group and per-slope-group variances are one code path.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np

__all__ = ["Fit", "Layout", "Stats", "Tree", "fit", "gaussian_pass", "leaf_stats"]

#: Prior variance of the fixed effects β on the standardised scale (effectively flat).
V0 = 1e8
#: Bounds of every variance (standardised scale): at the lower one a level is "no spread".
VAR_MIN, VAR_MAX = 1e-8, 1e3


# --------------------------------------------------------------------------- linear algebra
def batched_inverse(M: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inverse and log-determinant of a stack of SPD matrices ``M`` of shape (q, q, N).

    Cholesky with the batch axis last: q² vector operations of length N instead of N
    small LAPACK calls.
    """
    q = M.shape[0]
    L = np.zeros_like(M)
    for j in range(q):
        s = M[j, j] - (L[j, :j] ** 2).sum(axis=0)
        d = np.sqrt(np.maximum(s, 1e-12 * np.abs(M[j, j]) + 1e-300))  # relative floor
        L[j, j] = d
        for i in range(j + 1, q):
            L[i, j] = (M[i, j] - (L[i, :j] * L[j, :j]).sum(axis=0)) / d
    Li = np.zeros_like(M)
    for i in range(q):
        Li[i, i] = 1.0 / L[i, i]
        for j in range(i):
            Li[i, j] = -(L[i, j:i] * Li[j:i, j]).sum(axis=0) / L[i, i]
    inv = bmm(Li.transpose(1, 0, 2), Li, symmetric=True)
    logdet = 2.0 * np.log(np.diagonal(L, axis1=0, axis2=1)).sum(axis=-1)
    return inv, logdet


def matvec(M, v):
    return (M * v[None, :, :]).sum(axis=1)


def bmm(A: np.ndarray, B: np.ndarray, *, symmetric: bool = False) -> np.ndarray:
    """Batch-last matrix product: ``out[:, :, n] = A[:, :, n] @ B[:, :, n]``.

    ``symmetric=True`` computes the upper triangle with loops over the tiny matrix
    dimensions (vector operations along the batch axis) and mirrors it; otherwise einsum.
    """
    if not symmetric:
        return np.einsum("ikn,kjn->ijn", A, B)
    rows, inner, cols = A.shape[0], A.shape[1], B.shape[1]
    out = np.empty((rows, cols, A.shape[2]))
    for i in range(rows):
        for j in range(i if symmetric else 0, cols):
            s = A[i, 0] * B[0, j]
            for k in range(1, inner):
                s += A[i, k] * B[k, j]
            out[i, j] = s
            if symmetric and j != i:
                out[j, i] = s
    return out


def sum_by(values: np.ndarray, index: np.ndarray, size: int) -> np.ndarray:
    """Sum the last axis of ``values`` into ``size`` bins given by ``index``."""
    flat = values.reshape(-1, values.shape[-1])
    out = np.empty((flat.shape[0], size))
    for r in range(flat.shape[0]):
        out[r] = np.bincount(index, weights=flat[r], minlength=size)
    return out.reshape(*values.shape[:-1], size)


def _diag(M: np.ndarray) -> np.ndarray:
    """Diagonals of a (q, q, N) stack as (q, N)."""
    return np.diagonal(M, axis1=0, axis2=1).T


# --------------------------------------------------------------------------- the model
@dataclasses.dataclass(frozen=True)
class Tree:
    """Nodes per depth; ``parent[d][n]`` is the node at depth d-1 above node n at depth d.

    ``W`` holds the standardised descriptors of the top nodes, shape (r, N_0) (r = 0:
    none).
    """

    sizes: tuple[int, ...]
    parent: tuple[np.ndarray | None, ...]
    W: np.ndarray

    @property
    def depth(self) -> int:
        return len(self.sizes)

    @property
    def r(self) -> int:
        return self.W.shape[0]


@dataclasses.dataclass(frozen=True)
class Stats:
    """Per-leaf sufficient statistics: n, Z'Z (q, q, G), Z'y (q, G), y'y."""

    n: np.ndarray
    S: np.ndarray
    u: np.ndarray
    yy: np.ndarray

    @property
    def total(self) -> float:
        return float(self.n.sum())


def leaf_stats(Z: np.ndarray, y: np.ndarray, leaf: np.ndarray, G: int) -> Stats:
    """One pass over the rows: the sufficient statistics of every leaf."""
    q = Z.shape[1]
    S = np.empty((q, q, G))
    for a in range(q):
        for b in range(a, q):
            S[a, b] = S[b, a] = np.bincount(leaf, weights=Z[:, a] * Z[:, b], minlength=G)
    u = np.stack([np.bincount(leaf, weights=Z[:, a] * y, minlength=G) for a in range(q)])
    return Stats(
        np.bincount(leaf, minlength=G).astype(float),
        S,
        u,
        np.bincount(leaf, weights=y * y, minlength=G),
    )


@dataclasses.dataclass(frozen=True)
class Layout:
    """Which variance parameter each (node, coefficient) cell uses.

    ``index[d]`` has shape (q, N_d): the parameter of coefficient j at node n of depth d.
    Parameter 0 is σ²; the last one is s_γ² when the tree has descriptors. ``names``
    describe the parameters; ``fixed`` marks parameters held at their start (a level
    with a single node cannot estimate its spread).
    """

    index: tuple[np.ndarray, ...]
    names: tuple[str, ...]
    fixed: np.ndarray
    gamma: int | None  # parameter index of s_γ², or None

    @property
    def size(self) -> int:
        return len(self.names)

    def expand(self, variances: np.ndarray) -> list[np.ndarray]:
        """Per-depth prior variances (q, N_d) from the parameter vector."""
        return [variances[ix] for ix in self.index]


@dataclasses.dataclass
class Posterior:
    m: list[np.ndarray]  # per depth (q, N_d)
    C: list[np.ndarray]  # per depth (q, q, N_d)
    E: list[np.ndarray]  # per depth (q, N_d): E[(θ_n − parent mean)²] diagonals
    root_mean: np.ndarray  # (q + r,)
    root_cov: np.ndarray  # (q + r, q + r), the covariance used downward
    root_cov_full: np.ndarray
    sse: float  # E[Σ (y − ŷ)²]
    loglik: float
    E_gamma: np.ndarray | None


def gaussian_pass(
    tree: Tree, st: Stats, s2: float, D: list[np.ndarray], s2_gamma: float = 1.0, *,
    method: str = "ml", v0: float = V0, full: bool = True,
) -> Posterior:  # fmt: skip
    """Exact posterior of every node and the root, and the marginal log-likelihood.

    ``D[d]`` is the diagonal prior variance of every node at depth d, shape (q, N_d).
    ``method="ml"``: β is profiled out (the log-likelihood is ML's, the downward pass
    conditions on β = β̂); ``"reml"``: β is integrated (restricted likelihood).
    ``full=False`` skips the leaves' full posterior covariances (``C[-1]`` is None):
    fitting needs only their diagonals and tr(S·C), which follow elementwise from
    S·A = σ²·J (A = P⁻¹D⁻¹, J = D⁻¹ − D⁻¹P⁻¹D⁻¹).
    """
    L = tree.depth
    q = st.u.shape[0]
    r = tree.r
    eye = np.eye(q)[:, :, None]
    Pinv: list[Any] = [None] * L
    rr: list[Any] = [None] * L
    Dinv_at: list[Any] = [None] * L
    J_leaf = None
    ll = float(-0.5 * st.total * math.log(2 * math.pi * s2) - st.yy.sum() / (2 * s2))
    Jsum = hsum = None
    J0 = h0 = None
    for d in range(L - 1, -1, -1):
        data_P = st.S / s2 if d == L - 1 else Jsum
        data_b = st.u / s2 if d == L - 1 else hsum
        Dd = D[d]
        Dinv = 1.0 / Dd
        P = data_P + eye * Dinv[None, :, :]
        inv, logdet = batched_inverse(P)
        rd = matvec(inv, data_b)
        ll += float(-0.5 * np.log(Dd).sum() - 0.5 * logdet.sum() + 0.5 * (data_b * rd).sum())
        J = eye * Dinv[None] - Dinv[:, None, :] * inv * Dinv[None, :, :]
        h = Dinv * rd
        Pinv[d], rr[d], Dinv_at[d] = inv, rd, Dinv
        if d == L - 1:
            J_leaf = J
        if d > 0:
            Jsum = sum_by(J, tree.parent[d], tree.sizes[d - 1])
            hsum = sum_by(h, tree.parent[d], tree.sizes[d - 1])
        else:
            J0, h0 = J, h
    # the root ρ = [β, γ]: information from the top nodes through A_c = [I, e0 w_c']
    qr = q + r
    Jr = np.zeros((qr, qr))
    hr = np.zeros(qr)
    Jr[:q, :q] = J0.sum(axis=2)
    hr[:q] = h0.sum(axis=1)
    if r:
        W = tree.W
        Jr[:q, q:] = J0[:, 0, :] @ W.T
        Jr[q:, :q] = Jr[:q, q:].T
        Jr[q:, q:] = (W * J0[0, 0][None, :]) @ W.T
        hr[q:] = W @ h0[0]
    prior = np.r_[np.full(q, 1.0 / v0), np.full(r, 1.0 / s2_gamma)]
    Pr = Jr + np.diag(prior)
    sign, logdet_r = np.linalg.slogdet(Pr)
    Cr = np.linalg.inv(Pr)
    mr = Cr @ hr
    ll += float(-0.5 * q * math.log(v0) - 0.5 * r * math.log(s2_gamma))
    ll += float(-0.5 * logdet_r + 0.5 * hr @ mr)
    # the restricted likelihood in REML's own constant; ML profiles β out of it
    ll += 0.5 * q * math.log(2 * math.pi * v0) + 0.5 * float(mr[:q] @ mr[:q]) / v0
    Cdown = Cr
    if method == "ml":
        Cbb = Cr[:q, :q]
        ll += -0.5 * float(np.linalg.slogdet(Cbb)[1]) - 0.5 * q * math.log(2 * math.pi)
        Cdown = np.zeros_like(Cr)
        if r:  # γ | β̂: conditional covariance
            Cdown[q:, q:] = Cr[q:, q:] - Cr[q:, :q] @ np.linalg.solve(Cbb, Cr[:q, q:])
    # downward: the top nodes' parent mean and covariance come from the root
    N0 = tree.sizes[0]
    mu0 = np.repeat(mr[:q, None], N0, axis=1)
    Cp0 = np.repeat(Cdown[:q, :q, None], N0, axis=2)
    if r:
        W = tree.W
        mu0[0] += W.T @ mr[q:]
        a = Cdown[:q, q:] @ W  # (q, N0)
        Cp0[:, 0, :] += a
        Cp0[0, :, :] += a
        Cp0[0, 0, :] += np.einsum("rn,rs,sn->n", W, Cdown[q:, q:], W)
    m: list[Any] = [None] * L
    C: list[Any] = [None] * L
    E: list[Any] = [None] * L
    for d in range(L):
        if d == 0:
            mp, Cp = mu0, Cp0
        else:
            par = tree.parent[d]
            mp, Cp = m[d - 1][:, par], C[d - 1][:, :, par]
        Ad = Pinv[d] * Dinv_at[d][None, :, :]  # A[i, j] = Pinv[i, j] · Dinv[j]
        m[d] = matvec(Ad, mp) + rr[d]
        T = bmm(Ad, Cp)
        if d < L - 1 or full:
            C[d] = Pinv[d] + bmm(T, Ad.transpose(1, 0, 2), symmetric=True)
            diag_C = _diag(C[d])
        else:  # diag(A C_p A') = Σ_k T[i, k] A[i, k]
            diag_C = _diag(Pinv[d]) + (T * Ad).sum(axis=1)
        # E[(θ − parent)²] = (m − m_p)² + diag(C − A C_p − C_p A' + C_p)
        E[d] = (m[d] - mp) ** 2 + diag_C - 2 * _diag(T) + _diag(Cp)
        if d == L - 1:
            # tr(S C) = tr(S P⁻¹) + tr(S T A') with S P⁻¹ = σ²(I − D⁻¹P⁻¹) and S A = σ² J
            trace_SC = s2 * (q - (Dinv_at[d] * _diag(Pinv[d])).sum(axis=0)) + s2 * (T * J_leaf).sum(
                axis=(0, 1)
            )
    mg = m[-1]
    Sm = matvec(st.S, mg)
    sse = float((st.yy - 2 * (mg * st.u).sum(0) + (mg * Sm).sum(0) + trace_SC).sum())
    E_gamma = None
    if r:
        E_gamma = mr[q:] ** 2 + np.diag(Cdown[q:, q:])
    return Posterior(m, C, E, mr, Cdown, Cr, sse, ll, E_gamma)


# --------------------------------------------------------------------------- fitting
@dataclasses.dataclass(frozen=True)
class Fit:
    s2: float
    variances: np.ndarray  # every parameter (index 0 = σ²)
    D: list[np.ndarray]
    s2_gamma: float
    posterior: Posterior
    n_iter: int
    converged: bool
    grad_norm: float
    at_upper: tuple[str, ...]


def _em_update(layout: Layout, st: Stats, post: Posterior, variances: np.ndarray):
    """EM (M-step) values of every parameter and how many cells each one covers."""
    sums = np.zeros(layout.size)
    counts = np.zeros(layout.size)
    for ix, E in zip(layout.index, post.E, strict=True):
        sums += np.bincount(ix.ravel(), weights=E.ravel(), minlength=layout.size)
        counts += np.bincount(ix.ravel(), minlength=layout.size)
    sums[0], counts[0] = post.sse, st.total
    if layout.gamma is not None:
        sums[layout.gamma] = float(post.E_gamma.sum())
        counts[layout.gamma] = float(len(post.E_gamma))
    em = np.where(counts > 0, sums / np.maximum(counts, 1), variances)
    return em, counts


def fit(
    tree: Tree,
    st: Stats,
    layout: Layout,
    start: np.ndarray,
    *,
    method: str = "ml",
    max_iter: int = 500,
    tol: float = 1e-4,
) -> Fit:
    """Maximise the marginal likelihood over the log variances (L-BFGS-B).

    By Fisher's identity the gradient equals the gradient of the EM objective at the
    current point: d loglik / d log v = ½ · cells · (v_EM / v − 1). Converged when no
    standard deviation moves by more than ``tol`` · σ between iterations, or when the
    largest gradient per cell is below ``tol`` · 1e-2.
    """
    from scipy.optimize import minimize

    free = ~layout.fixed
    n_eval = 0
    cache: dict[str, Any] = {}
    # the Fisher information of a log variance is about ½ · (cells it covers): scaling each
    # coordinate by √(cells / 2) makes the Hessian close to the identity for L-BFGS
    scale = np.sqrt(np.maximum(_cells(layout, st)[free], 1.0) / 2.0)

    def unpack(phi):
        v = start.copy()
        v[free] = np.exp(phi / scale)
        return v

    def run(v, full=False):
        g = v[layout.gamma] if layout.gamma is not None else 1.0
        return gaussian_pass(tree, st, v[0], layout.expand(v), g, method=method, full=full)

    def objective(theta):
        nonlocal n_eval
        v = unpack(theta)
        with np.errstate(all="ignore"):
            post = run(v)
            n_eval += 1
            if not np.isfinite(post.loglik):  # a line-search probe too far out: back off
                return np.inf, np.zeros_like(theta)
            em, counts = _em_update(layout, st, post, v)
        grad = 0.5 * counts * (em / v - 1.0)
        cache.update(theta=theta.copy(), post=post, grad=grad)
        return -post.loglik, -grad[free] / scale

    state = {"prev": np.log(start[free]), "converged": False, "ll": []}

    def callback(intermediate_result):
        theta = intermediate_result.x / scale  # log variances
        sigma = math.sqrt(unpack(intermediate_result.x)[0])
        change = float(np.max(np.abs(np.exp(0.5 * theta) - np.exp(0.5 * state["prev"])))) / sigma
        state["prev"] = theta.copy()
        grad = cache.get("grad")
        small_grad = (
            grad is not None
            and float(np.max(np.abs(grad[free]) / np.maximum(_cells(layout, st)[free], 1)))
            < tol * 1e-2
        )
        if change < tol or small_grad:
            state["converged"] = True
            raise StopIteration

    theta0 = np.log(start[free]) * scale
    bounds = [(math.log(VAR_MIN) * c, math.log(VAR_MAX) * c) for c in scale]
    result = minimize(
        objective, theta0, jac=True, method="L-BFGS-B", bounds=bounds, callback=callback,
        options={"maxfun": max_iter, "maxiter": max_iter, "ftol": 0.0, "gtol": 1e-12},
    )  # fmt: skip
    theta = result.x
    converged = state["converged"] or bool(result.success)
    v = unpack(theta)
    post = run(v, full=True)  # the leaves' full covariances, for prediction
    n_eval += 1
    em, counts = _em_update(layout, st, post, v)
    grad = 0.5 * counts * (em / v - 1.0)
    cells = np.maximum(_cells(layout, st), 1)
    grad_norm = float(np.max(np.abs(grad[free]) / cells[free])) if free.any() else 0.0
    upper = tuple(
        name for name, val, f in zip(layout.names, v, free, strict=True)
        if f and val >= VAR_MAX * 0.999
    )  # fmt: skip
    return Fit(
        s2=float(v[0]),
        variances=v,
        D=layout.expand(v),
        s2_gamma=float(v[layout.gamma]) if layout.gamma is not None else 1.0,
        posterior=post,
        n_iter=n_eval,
        converged=converged,
        grad_norm=grad_norm,
        at_upper=upper,
    )


def _cells(layout: Layout, st: Stats) -> np.ndarray:
    counts = np.zeros(layout.size)
    for ix in layout.index:
        counts += np.bincount(ix.ravel(), minlength=layout.size)
    counts[0] = st.total
    return counts
