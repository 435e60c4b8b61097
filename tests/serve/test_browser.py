"""The predictor page in a real browser (headless Chromium driven by Playwright).

Needs Debian's ``chromium`` (``.ci/run`` installs it). Without it the test is skipped,
unless ``GROUPWISE_REQUIRE_BROWSER=1`` (set by ``.ci/run``) makes that a failure. A
screenshot of the page is saved in ``GROUPWISE_ARTIFACTS`` (default: ``test-artifacts/``).
"""

import contextlib
import os
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def _chromium() -> str:
    path = os.environ.get("GROUPWISE_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")  # fmt: skip
    if path:
        return path
    if os.environ.get("GROUPWISE_REQUIRE_BROWSER") == "1":
        pytest.fail(
            "GROUPWISE_REQUIRE_BROWSER=1 but no chromium on PATH (apt-get install chromium)"
        )
    pytest.skip("no chromium on PATH (apt-get install chromium); .ci/run installs it")


@contextlib.contextmanager
def _server(app):
    import uvicorn

    from groupwise.serve import bind_socket

    sock = bind_socket("127.0.0.1", 0)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
    finally:
        server.should_exit = True
        thread.join(timeout=15)
        sock.close()


def _artifacts() -> Path:
    root = Path(os.environ.get("GROUPWISE_ARTIFACTS", Path(__file__).parents[2] / "test-artifacts"))
    root.mkdir(parents=True, exist_ok=True)
    return root


def _table(page) -> pd.DataFrame:
    head = page.locator("#predictions thead th").all_inner_texts()
    cells = page.locator("#predictions tbody tr").evaluate_all(
        "rows => rows.map(r => Array.from(r.cells, c => c.textContent))"
    )
    return pd.DataFrame(cells, columns=head)


def test_page_uploads_a_csv_fills_the_form_and_downloads(cli, small_run, holdout_input, tmp_path):
    from playwright.sync_api import sync_playwright

    from groupwise.serve import create_app

    chromium = _chromium()
    run, _ = small_run
    src = tmp_path / "holdout.csv"
    holdout_input.to_csv(src, index=False)
    res = cli("predict", src, "--out", tmp_path / "cli.csv", "--models-dir", run.models_dir, "--run", run.run_id)  # fmt: skip
    assert res.exit_code == 0, res.output
    expected = pd.read_csv(tmp_path / "cli.csv", dtype={"sample_id": str})

    with _server(create_app(run)) as url, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900}, accept_downloads=True)
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(url)
            page.wait_for_selector("body[data-ready=true]", timeout=20_000)
            assert run.run_id in page.inner_text("#identity")

            # 1. upload the holdout CSV: the table shows what the CLI wrote
            page.set_input_files("#file", str(src))
            page.click("#upload-button")
            page.wait_for_function(f"document.querySelectorAll('#predictions tbody tr').length === {len(expected)}", timeout=20_000)  # fmt: skip
            shown = _table(page)
            assert list(shown.columns) == list(expected.columns)
            assert shown["sample_id"].tolist() == expected["sample_id"].tolist()
            assert shown["prediction"].astype(int).tolist() == expected["prediction"].tolist()
            np.testing.assert_allclose(shown["score"].astype(float), expected["score"], rtol=1e-5)
            assert "Predicted 500 row(s)" in page.inner_text("#status") or f"Predicted {len(expected)} row(s)" in page.inner_text("#status")  # fmt: skip

            # 2. the download is the CLI's CSV, byte for byte
            with page.expect_download(timeout=20_000) as dl:
                page.click("#download")
            assert Path(dl.value.path()).read_text() == (tmp_path / "cli.csv").read_text()

            # 3. fill the form for one row
            row = holdout_input.iloc[3]
            for f in run.schema.features:
                sel = f"#f-{f.name}"
                if f.kind == "categorical":
                    page.select_option(sel, "" if pd.isna(row[f.name]) else str(row[f.name]))
                else:
                    page.fill(sel, "" if pd.isna(row[f.name]) else repr(float(row[f.name])))
            page.fill("#f-sample_id", str(row["sample_id"]))
            page.click("#row-button")
            page.wait_for_function("document.querySelectorAll('#predictions tbody tr').length === 1", timeout=20_000)  # fmt: skip
            one = _table(page)
            want = run.predict(holdout_input.iloc[[3]])
            assert one["sample_id"].tolist() == [row["sample_id"]]
            assert float(one["score"][0]) == pytest.approx(float(want["score"][0]), rel=1e-5)

            # 4. a value outside the training range is flagged next to its field
            page.fill("#f-i1", "1000000")
            page.click("#row-button")
            page.wait_for_selector("#msg-i1.warning", timeout=20_000)
            assert "OUT_OF_RANGE" in page.inner_text("#msg-i1")
            page.screenshot(path=str(_artifacts() / "serve_page.png"), full_page=True)

            # 5. an error is shown next to the field and nothing is predicted
            page.evaluate("document.getElementById('f-i2').dataset.kind = 'text'")
            page.evaluate("() => { const i = document.getElementById('f-i2'); i.type = 'text'; }")
            page.fill("#f-i2", "twelve")
            page.click("#row-button")
            page.wait_for_selector("#msg-i2.error", timeout=20_000)
            assert "UNCOERCIBLE_VALUE" in page.inner_text("#msg-i2")
            assert page.locator("#predictions tbody tr").count() == 0
            assert page.is_disabled("#download")
            assert errors == []
        finally:
            browser.close()
