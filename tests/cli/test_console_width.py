"""Console tables read right at 80 columns: candidate names whole, no empty header."""

import numpy as np
import pandas as pd


def test_the_leaderboard_keeps_candidate_names_whole_at_80_columns(cli, tmp_path):
    rng = np.random.default_rng(1)
    n = 160
    x = rng.normal(size=n)
    src = tmp_path / "t.csv"
    pd.DataFrame({"batch": [f"b{i % 6}" for i in range(n)], "x": x, "z": rng.normal(size=n),
                  "y": np.where(x + rng.normal(size=n) > 0, "a", "b")}).to_csv(src, index=False)  # fmt: skip
    result = cli("train", src, "--target", "y", "--group", "batch", "--models",
                 "dummy,linear,random_forest,extra_trees", "--tune-trials", "0", "--no-audit",
                 "--bootstrap", "100", "--no-learning-curve", "--no-naive-cv",
                 "--permutation-repeats", "0", "--models-dir", tmp_path / "m",
                 env={"COLUMNS": "80"})  # fmt: skip
    assert result.exit_code in (0, 1), result.output
    board = result.stdout[result.stdout.index("Leaderboard") :]
    board = board[: board.index("└")]
    assert "random_forest" in board and "extra_trees" in board
    assert max(len(line) for line in board.splitlines()) <= 80
    header = [line for line in board.splitlines() if "candidate" in line][0]
    assert "┃  ┃" not in header.replace("┃# ┃", "")  # every column has a name
