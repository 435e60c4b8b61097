"""``groupwise serve`` as a real process on loopback, and its refusals."""

import json
import signal
import time
import urllib.request

import pytest


def test_serve_starts_answers_and_stops_cleanly_on_sigterm(small_run, holdout_input, serve_process):
    run, _ = small_run
    # COLUMNS=40: the address line must not wrap in a narrow log
    url, proc, lines = serve_process("--models-dir", run.models_dir, "--run", run.run_id, "--port", "0", env={"COLUMNS": "40"})  # fmt: skip
    assert url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(url + "/health", timeout=10) as r:
        assert json.load(r)["run_id"] == run.run_id
    body = holdout_input.head(20).to_csv(index=False).encode()
    req = urllib.request.Request(url + "/predict", data=body, headers={"Content-Type": "text/csv"})  # fmt: skip
    with urllib.request.urlopen(req, timeout=10) as r:
        doc = json.load(r)
        assert "predict;dur=" in r.headers["Server-Timing"]
    expected = run.predict(holdout_input.head(20))
    assert [p["score"] for p in doc["predictions"]] == pytest.approx(expected["score"].tolist(), abs=1e-12)  # fmt: skip
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(timeout=30) == 0
    time.sleep(0.2)  # let the reader thread take the last line
    assert any("server stopped" in ln for ln in lines)


def test_serve_without_a_run_exits_2_before_listening(cli, tmp_path):
    result = cli("serve", "--models-dir", tmp_path / "empty", "--port", "0")
    assert result.exit_code == 2
    assert "error:" in result.output and "serving run" not in result.output


def test_a_port_in_use_is_a_clear_exit_2(cli, small_run):
    from groupwise.serve import bind_socket

    run, _ = small_run
    taken = bind_socket("127.0.0.1", 0)
    try:
        port = taken.getsockname()[1]
        result = cli("serve", "--models-dir", run.models_dir, "--port", port)
        assert result.exit_code == 2, result.output
        assert f"Cannot listen on 127.0.0.1:{port}" in " ".join(result.output.split())
        assert "Traceback" not in result.output
    finally:
        taken.close()


def test_an_unknown_host_is_a_clear_exit_2(cli, small_run):
    run, _ = small_run
    result = cli("serve", "--models-dir", run.models_dir, "--host", "no-such-host.invalid", "--port", "0")  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "Cannot listen on host 'no-such-host.invalid'" in " ".join(result.output.split())
