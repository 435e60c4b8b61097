"""The manifest is read strictly: any changed field is a changed manifest, not a default."""

import json
import shutil

import pytest

from groupwise.exceptions import GroupwiseError
from groupwise.runs import Run


def test_no_single_byte_change_of_the_manifest_loads(small_run, tmp_path):
    run, df = small_run
    rows = df.drop(columns="y").head(3)
    copy = tmp_path / "runs" / run.run_id
    shutil.copytree(run.path, copy)
    manifest = copy / "manifest.json"
    original = manifest.read_bytes()
    loaded = []
    for at in range(len(original)):
        for bit in (0x01, 0x20):
            raw = bytearray(original)
            raw[at] ^= bit
            try:
                if json.loads(raw) == json.loads(original):
                    continue  # e.g. whitespace changed: the manifest says the same
            except ValueError:
                pass
            manifest.write_bytes(bytes(raw))
            try:
                Run(copy).predict(rows)  # reads all three covered files
                loaded.append(bytes(raw[max(0, at - 12) : at + 4]))
            except GroupwiseError:
                pass
    manifest.write_bytes(original)
    assert loaded == []
    assert len(Run(copy).predict(rows)) == 3  # the restored manifest loads


@pytest.mark.parametrize(
    "change",
    [
        lambda d: d.pop("format"),
        lambda d: d.update(format=2),
        lambda d: d.update(format=True),
        lambda d: d.update(algorithm="md5"),
        lambda d: d.update(extra=1),
        lambda d: d["files"].update({"report.html": "0" * 64}),
        lambda d: d.update(signature={"value": "x"}),
    ],
)
def test_a_rewritten_manifest_with_a_changed_field_is_refused(small_run, tmp_path, change):
    run, _ = small_run
    copy = tmp_path / "runs" / run.run_id
    shutil.copytree(run.path, copy)
    doc = json.loads((copy / "manifest.json").read_text())
    change(doc)
    (copy / "manifest.json").write_text(json.dumps(doc, indent=2))
    with pytest.raises(GroupwiseError, match="not a manifest groupwise wrote"):
        Run(copy)
