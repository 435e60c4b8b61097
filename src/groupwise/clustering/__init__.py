"""The clustering track: segments of a table with the evidence for their number (silhouette
per k, a density-based alternative, cluster sizes and profiles) in a run directory that
``groupwise predict`` can assign new rows with."""

from groupwise.clustering._cluster import ClusterConfig, cluster, parse_k_range

__all__ = ["ClusterConfig", "cluster", "parse_k_range"]
