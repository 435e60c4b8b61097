"""Synthetic data with known truth.

- :func:`generate_dataset` / :class:`DatasetConfig`: classification or regression
  tables with correlated clusters, batches (optionally confounded with the class),
  repeated-measures subjects, missingness, categoricals and planted leaks.
- :func:`make_nested_regression`: clusters → species crossed with compounds, with
  cluster-specific shrinkage scales and heavy-tailed rows per pair.
"""

from groupwise.datasets._config import CorrCluster, DatasetConfig
from groupwise.datasets._generate import generate_dataset
from groupwise.datasets._meta import DatasetMeta
from groupwise.datasets._nested import NestedTruth, make_nested_regression
from groupwise.datasets._summary import summarize_dataset

__all__ = [
    "CorrCluster",
    "DatasetConfig",
    "DatasetMeta",
    "NestedTruth",
    "generate_dataset",
    "make_nested_regression",
    "summarize_dataset",
]
