"""Synthetic data with known truth.

- :func:`generate_dataset` / :class:`DatasetConfig`: classification or regression
  tables with correlated clusters, batches (optionally confounded with the class),
  repeated-measures subjects, missingness, categoricals and planted leaks.
"""

from groupwise.datasets._config import CorrCluster, DatasetConfig
from groupwise.datasets._generate import generate_dataset
from groupwise.datasets._meta import DatasetMeta
from groupwise.datasets._summary import summarize_dataset

__all__ = ["CorrCluster", "DatasetConfig", "DatasetMeta", "generate_dataset", "summarize_dataset"]
