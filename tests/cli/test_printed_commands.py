"""Commands printed in a run's model card are copy-paste runnable for that run, also from a
models directory that is not the default."""

import json
import re
import shlex
import signal
import urllib.request

import pandas as pd


def _bash_blocks(text: str) -> list[str]:
    return [line for block in re.findall(r"```bash\n(.*?)```", text, re.S) for line in block.splitlines() if line.strip()]  # fmt: skip


def test_the_model_cards_commands_run_verbatim(
    cli, small_run, tmp_path, monkeypatch, serve_process
):
    run, df = small_run
    monkeypatch.chdir(tmp_path)  # not where train ran: the card must carry the models dir
    df.drop(columns="y").head(20).to_parquet(tmp_path / "new_rows.parquet", index=False)
    lines = _bash_blocks(run.layout.model_card.read_text())
    commands = [shlex.split(line, comments=True) for line in lines]
    assert [argv[1] for argv in commands] == ["predict", "skew-check", "report", "serve"]
    for line, argv in zip(lines, commands, strict=True):
        assert argv[0] == "groupwise"
        if argv[1] == "serve":  # a server: start it as printed (on a free port) and ask it
            url, proc, _ = serve_process(*argv[2:], "--port", "0")
            with urllib.request.urlopen(url + "/health", timeout=10) as r:
                assert json.load(r)["run_id"] == run.run_id
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(timeout=30) == 0
            continue
        result = cli(*argv[1:])
        assert result.exit_code == 0, (line, result.output)
    out = pd.read_parquet(tmp_path / "predictions.parquet")
    assert len(out) == 20 and "prediction" in out.columns


def test_the_model_cards_python_snippet_names_the_models_dir(small_run):
    run, _ = small_run
    card = run.layout.model_card.read_text()
    snippet = re.search(r"```python\n(.*?)```", card, re.S).group(1)
    assert f'load_run("{run.run_id}", models_dir=' in snippet
    assert str(run.models_dir) in snippet
