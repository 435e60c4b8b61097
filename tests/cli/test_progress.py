"""In piped or CI logs, long work still says what it is doing: a line when a stage starts,
one when it ends (with its time), and a heartbeat on long stages."""

import re
import time

from groupwise.cli._progress import RichProgress


def test_non_interactive_stages_print_start_end_and_heartbeat(capsys):
    progress = RichProgress(enabled=False, heartbeat_s=0.05)
    with progress.stage("Cross-validating candidates", total=10) as handle:
        for _ in range(3):
            handle.advance()
        time.sleep(0.2)
    text = capsys.readouterr().err
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines[0] == "→ Cross-validating candidates …"
    assert any(re.fullmatch(r"\s+… Cross-validating candidates: 3/10 \d+ s", x) for x in lines)
    assert re.fullmatch(r"✓ Cross-validating candidates \(\d+\.\d s\)", lines[-1])


def test_train_in_a_pipe_logs_its_stages(cli, tmp_path):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    src = tmp_path / "t.csv"
    x = rng.normal(size=120)
    pd.DataFrame({"batch": [f"b{i % 6}" for i in range(120)], "x": x,
                  "y": np.where(x + rng.normal(size=120) > 0, "a", "b")}).to_csv(src, index=False)  # fmt: skip
    result = cli("train", src, "--target", "y", "--group", "batch", "--models", "dummy",
                 "--tune-trials", "0", "--no-audit", "--bootstrap", "100", "--models-dir",
                 tmp_path / "m", "--no-learning-curve", "--permutation-repeats", "0")  # fmt: skip
    assert result.exit_code in (0, 1), result.output
    assert "→ Cross-validating candidates …" in result.stderr
    assert re.search(r"✓ Cross-validating candidates \(\d+\.\d s\)", result.stderr)


def test_a_terminal_gets_bars_not_log_lines(capsys):
    progress = RichProgress(enabled=True)
    with progress.stage("Scoring", total=2) as handle:
        handle.advance(2)
    assert "→ Scoring" not in capsys.readouterr().err
