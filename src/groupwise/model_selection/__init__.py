"""Split planning and splitters (DESIGN.md §5)."""

from groupwise.model_selection._plan import SplitPlan, naive_folds, plan_splits
from groupwise.model_selection._splitters import ExpandingWindowSplit

__all__ = ["ExpandingWindowSplit", "SplitPlan", "naive_folds", "plan_splits"]
