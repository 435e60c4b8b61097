"""Split planning and splitters (the README's "Honest evaluation")."""

from groupwise.model_selection._plan import (
    HOLDOUTS,
    NESTED_MAX_GROUPS,
    CVSplits,
    GroupHoldout,
    Holdout,
    RandomHoldout,
    SplitPlan,
    TimeHoldout,
    cv_splits,
    naive_folds,
    plan_kind,
    plan_splits,
)
from groupwise.model_selection._splitters import ExpandingWindowSplit

__all__ = [
    "HOLDOUTS",
    "NESTED_MAX_GROUPS",
    "CVSplits",
    "ExpandingWindowSplit",
    "GroupHoldout",
    "Holdout",
    "RandomHoldout",
    "SplitPlan",
    "TimeHoldout",
    "cv_splits",
    "naive_folds",
    "plan_kind",
    "plan_splits",
]
