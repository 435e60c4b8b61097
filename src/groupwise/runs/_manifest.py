"""``manifest.json``: the SHA-256 of every file that decides a run's predictions, optionally
signed with a key.

The manifest covers ``run_meta.json`` (threshold, classes, the model's checksum),
``schema/input_schema.json`` (how input is read) and ``model/model.skops``. Each covered
file is read once, as bytes; the bytes are checked against the manifest and then parsed
or loaded, so a file cannot change between the check and the use.

With the environment variable ``GROUPWISE_RUN_KEY`` set when a run is written, the
manifest carries an HMAC-SHA256 signature made with that key; with it set when a run is
read, only runs whose signature matches load. Without a key the manifest detects
corruption and careless edits, not a deliberate forger who can rewrite the directory
(they could recompute the checksums); the README's threat model says what is protected.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from groupwise.exceptions import BrokenRunError, GroupwiseWarning, ModelIntegrityError
from groupwise.io import write_text

__all__ = ["COVERED", "KEY_ENV", "MANIFEST", "RunFiles", "write_manifest"]

MANIFEST = "manifest.json"
#: The files whose content decides predictions (paths relative to the run directory).
COVERED = ("run_meta.json", "schema/input_schema.json", "model/model.skops")
#: The environment variable holding the signing key (any text; keep it secret).
KEY_ENV = "GROUPWISE_RUN_KEY"
FORMAT = 1


def _key() -> bytes | None:
    key = os.environ.get(KEY_ENV)
    return key.encode("utf-8") if key else None


def _payload(files: Mapping[str, str]) -> bytes:
    return json.dumps(dict(sorted(files.items())), separators=(",", ":")).encode()


def _signature(files: Mapping[str, str], key: bytes) -> str:
    return hmac.new(key, _payload(files), hashlib.sha256).hexdigest()


def write_manifest(root: str | os.PathLike, hashes: Mapping[str, str]) -> dict[str, Any]:
    """Write ``manifest.json`` for the covered files of the run at ``root``.

    ``hashes`` maps each covered path to the SHA-256 of the bytes written. Signs the
    manifest when ``GROUPWISE_RUN_KEY`` is set.
    """
    missing = [c for c in COVERED if c not in hashes]
    if missing:  # pragma: no cover - guards the writer
        raise ValueError(f"manifest needs the checksums of {missing}")
    files = {c: hashes[c] for c in COVERED}
    key = _key()
    doc = {
        "format": FORMAT,
        "algorithm": "sha256",
        "files": files,
        "signature": None
        if key is None
        else {"algorithm": "hmac-sha256", "key_env": KEY_ENV, "value": _signature(files, key)},
    }
    write_text(json.dumps(doc, indent=2) + "\n", Path(root) / MANIFEST)
    return doc


_SHA256 = re.compile(r"[0-9a-f]{64}")


def _manifest_problem(doc: Any) -> str | None:
    """What makes ``doc`` something other than a manifest :func:`write_manifest` writes
    (every key, every value: a renamed or retyped field is a changed manifest), or None."""
    if not isinstance(doc, dict):
        return f"holds {type(doc).__name__}, not an object"
    if set(doc) != {"format", "algorithm", "files", "signature"}:
        return f"has the fields {sorted(doc)}, not format, algorithm, files and signature"
    if type(doc["format"]) is not int or doc["format"] != FORMAT or doc["algorithm"] != "sha256":
        return f"says format {doc['format']!r} with {doc['algorithm']!r}, not format {FORMAT} with 'sha256'"  # fmt: skip
    files = doc["files"]
    if not isinstance(files, dict) or set(files) != set(COVERED):
        return f"does not list exactly the checksums of {', '.join(COVERED)}"
    if not all(isinstance(v, str) and _SHA256.fullmatch(v) for v in files.values()):
        return "holds a checksum that is not 64 hexadecimal digits"
    sig = doc["signature"]
    if sig is not None and not (
        isinstance(sig, dict)
        and set(sig) == {"algorithm", "key_env", "value"}
        and sig["algorithm"] == "hmac-sha256"
        and sig["key_env"] == KEY_ENV
        and isinstance(sig["value"], str)
    ):
        return "has a signature groupwise does not write"
    return None


class RunFiles:
    """Reads the files of one run directory, verified against its manifest.

    Every refusal names the run and the file. A run without a manifest (written before
    groupwise 0.2) loads with a warning, unless a key is set, which requires a signed run.
    """

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        self.name = self.root.name
        self.manifest: dict[str, Any] | None = None
        self.signed = False
        path = self.root / MANIFEST
        key = _key()
        if not path.exists():
            if key is not None:
                raise ModelIntegrityError(
                    f"Run {self.name!r} has no {MANIFEST}, and {KEY_ENV} is set, so only runs "
                    "signed with that key load. Retrain with the key set, or unset it to load "
                    "unsigned runs."
                )
            return
        doc = self._json_of(MANIFEST, self._read(MANIFEST))
        problem = _manifest_problem(doc)
        if problem:
            raise BrokenRunError(
                f"Run {self.name!r}: {MANIFEST} {problem}; it is not a manifest groupwise "
                "wrote (changed or damaged). Restore the run directory from a backup or retrain."
            )
        files = doc["files"]
        sig = doc.get("signature")
        signed = isinstance(sig, dict)
        good = signed and hmac.compare_digest(
            str(sig.get("value", "")), _signature(files, key or b"")
        )
        if key is not None and not good:
            raise ModelIntegrityError(
                f"Run {self.name!r} is "
                + ("signed with another key" if signed else "not signed")
                + f", and {KEY_ENV} is set: refusing to load it. Only runs written with the "
                "same key load; retrain with the key set."
            )
        self.signed = signed
        self.manifest = files

    @property
    def verified(self) -> bool:
        """Whether the covered files are checked against a manifest."""
        return self.manifest is not None

    def _read(self, rel: str) -> bytes:
        path = self.root / rel
        try:
            return path.read_bytes()
        except FileNotFoundError:
            raise BrokenRunError(
                f"Run {self.name!r} is incomplete: {rel} is missing. Restore the run directory "
                "from a backup or retrain."
            ) from None
        except OSError as exc:
            raise BrokenRunError(
                f"Run {self.name!r}: cannot read {rel} ({exc.strerror or exc})."
            ) from None

    def _json_of(self, rel: str, data: bytes) -> Any:
        try:
            return json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise BrokenRunError(
                f"Run {self.name!r}: {rel} is not valid UTF-8 JSON ({exc}). It was damaged or "
                "edited; restore the run directory from a backup or retrain."
            ) from None

    def read(self, rel: str) -> bytes:
        """The bytes of ``rel``, checked against the manifest when the file is covered."""
        data = self._read(rel)
        if self.manifest is not None and rel in self.manifest:
            actual = hashlib.sha256(data).hexdigest()
            if not hmac.compare_digest(actual, str(self.manifest[rel])):
                raise ModelIntegrityError(
                    f"Run {self.name!r}: {rel} was changed after training (its SHA-256 "
                    f"{actual[:16]}… differs from {MANIFEST}'s {str(self.manifest[rel])[:16]}…). "
                    "Refusing to use it; restore the original file or retrain."
                )
        return data

    def json(self, rel: str) -> Any:
        """``rel`` parsed as JSON, after the manifest check."""
        return self._json_of(rel, self.read(rel))

    def warn_unverified(self) -> None:
        if self.manifest is None:
            warnings.warn(
                f"Run {self.name!r} has no {MANIFEST} (it was written by groupwise 0.1): its "
                "model, schema and metadata cannot be checked for changes. Retrain to get a "
                "verified run.",
                GroupwiseWarning,
                stacklevel=3,
            )
