"""Experiment tracking of finished runs in MLflow (the ``[mlflow]`` extra, imported only
when a run is tracked)."""

from groupwise.tracking._mlflow import (
    TrackingResult,
    Warmup,
    default_tracking_uri,
    resolve_tracking_uri,
    track_run,
)

__all__ = ["TrackingResult", "Warmup", "default_tracking_uri", "resolve_tracking_uri", "track_run"]
