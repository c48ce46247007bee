"""One stored explanation on disk: a folder with the explanation's JSON (+ .npz) and a checksummed manifest.

Layout of the folder (it becomes the run artifact folder ``pellucid/explanations/<id>/``)::

    explanation.json        Explanation.save's versioned JSON
    explanation.json.npz    large arrays (only when some array exceeds Explanation's NPZ threshold)
    manifest.json           the upload record (id, method, top_k, comment, time ...) and the SHA-256
                            and byte size of every other file

The manifest's own SHA-256 is kept outside the folder (in the run's tags), so a changed manifest is detected
as surely as a changed data file. Nothing here imports MLflow and nothing reads or writes pickle.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pellucid.errors import ExplanationFormatError, ExplanationVersionError, StoreIntegrityError
from pellucid.explanation import Explanation

__all__ = ["MANIFEST_FORMAT", "MANIFEST_NAME", "EXPLANATION_NAME", "write_bundle", "read_bundle", "file_sha256"]

MANIFEST_FORMAT = "pellucid.store.manifest"
MANIFEST_VERSION = 1
MANIFEST_NAME = "manifest.json"
EXPLANATION_NAME = "explanation.json"
_CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file's bytes, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def write_bundle(explanation: Explanation, folder: Path, record: dict[str, Any]) -> str:
    """Write ``explanation`` and its manifest into the empty folder ``folder``.

    Parameters
    ----------
    explanation : Explanation
        What to store (already trimmed to top-k when asked).
    folder : Path
        An existing, empty folder.
    record : dict
        JSON-serialisable upload record (id, method, comment, ...) copied into the manifest.

    Returns
    -------
    str
        Hex SHA-256 of the manifest file: the checksum that certifies the whole folder.
    """
    explanation.save(folder / EXPLANATION_NAME)
    files = {
        path.name: {"sha256": file_sha256(path), "bytes": path.stat().st_size}
        for path in sorted(folder.iterdir())
        if path.is_file()
    }
    manifest = {"format": MANIFEST_FORMAT, "format_version": MANIFEST_VERSION, **record, "files": files}
    manifest_path = folder / MANIFEST_NAME
    manifest_path.write_text(json.dumps(manifest, allow_nan=False, sort_keys=True, indent=1), encoding="utf-8")
    return file_sha256(manifest_path)


def read_bundle(folder: Path, manifest_sha256: str, *, label: str) -> tuple[Explanation, dict[str, Any]]:
    """Verify every checksum in ``folder`` and load the explanation.

    Parameters
    ----------
    folder : Path
        A folder written by :func:`write_bundle` (downloaded from the run).
    manifest_sha256 : str
        The manifest checksum recorded at upload time.
    label : str
        How to name the explanation in error messages (id and run).

    Returns
    -------
    (Explanation, dict)
        The explanation and the manifest.

    Raises
    ------
    StoreIntegrityError
        A file is missing, has the wrong size or checksum, or does not parse.
    """
    manifest_path = folder / MANIFEST_NAME
    if not manifest_path.is_file():
        raise StoreIntegrityError(f"explanation {label}: expected a {MANIFEST_NAME} in the artifact folder; found none")
    found = file_sha256(manifest_path)
    if found != manifest_sha256:
        raise StoreIntegrityError(
            f"explanation {label}: {MANIFEST_NAME} fails its checksum (expected SHA-256 {manifest_sha256}, "
            f"found {found}); the artifact was corrupted, truncated or changed after upload and is not loaded"
        )
    manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict) or EXPLANATION_NAME not in files:
        raise StoreIntegrityError(f"explanation {label}: the manifest lists no {EXPLANATION_NAME}")
    for name, expected in files.items():
        path = folder / Path(name).name
        if not path.is_file():
            raise StoreIntegrityError(f"explanation {label}: expected the file {name} listed in the manifest; it is missing")
        size, digest = path.stat().st_size, file_sha256(path)
        if size != expected.get("bytes") or digest != expected.get("sha256"):
            raise StoreIntegrityError(
                f"explanation {label}: {name} fails its checksum (expected {expected.get('bytes')} bytes with "
                f"SHA-256 {expected.get('sha256')}, found {size} bytes with SHA-256 {digest}); the artifact was "
                f"corrupted, truncated or changed after upload and is not loaded"
            )
    try:
        explanation = Explanation.load(folder / EXPLANATION_NAME)
    except ExplanationVersionError:
        raise
    except ExplanationFormatError as exc:
        raise StoreIntegrityError(f"explanation {label}: the stored file passes its checksum but does not load: {exc}") from exc
    return explanation, manifest
