import pandas as pd
import pytest


@pytest.fixture(scope="module")
def client(small_run):
    from fastapi.testclient import TestClient

    from groupwise.serve import create_app

    run, _ = small_run
    with TestClient(create_app(run)) as c:
        yield c


@pytest.fixture(scope="module")
def holdout_input(small_run):
    run, _ = small_run
    return pd.read_parquet(run.layout.holdout_input)
