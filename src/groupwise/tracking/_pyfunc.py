"""The MLflow pyfunc model of a run: it opens the logged run directory and predicts
through :meth:`groupwise.runs.Run.predict`, with the same schema checks and outputs."""

from __future__ import annotations

import mlflow.pyfunc
import pandas as pd

__all__ = ["GroupwiseModel"]


class GroupwiseModel(mlflow.pyfunc.PythonModel):
    """``mlflow.pyfunc.load_model(uri).predict(df)`` equals ``groupwise predict``."""

    def load_context(self, context):
        from groupwise.runs import Run

        self._run = Run(context.artifacts["run"])
        _ = self._run.pipeline  # verify the model file when the model is loaded

    def predict(
        self, context, model_input: pd.DataFrame, params: dict | None = None
    ) -> pd.DataFrame:
        return self._run.predict(model_input)
