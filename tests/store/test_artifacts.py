"""The checksummed explanation folder, on local disk (no MLflow needed)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from pellucid.errors import ExplanationVersionError, StoreIntegrityError
from pellucid.store.artifacts import file_sha256, read_bundle, write_bundle
from tests.store.helpers import classification_explanation

RECORD = {"id": "abc", "comment": "c", "top_k": None}


def _bundle(tmp_path: Path) -> tuple[Path, str]:
    folder = tmp_path / "bundle"
    folder.mkdir()
    return folder, write_bundle(classification_explanation(seed=0), folder, RECORD)


def test_round_trip_and_manifest(tmp_path: Path) -> None:
    folder, checksum = _bundle(tmp_path)
    manifest_bytes = (folder / "manifest.json").read_bytes()
    assert checksum == hashlib.sha256(manifest_bytes).hexdigest()
    manifest = json.loads(manifest_bytes)
    data = (folder / "explanation.json").read_bytes()
    assert manifest["files"] == {"explanation.json": {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}}
    assert manifest["format"] == "pellucid.store.manifest" and manifest["comment"] == "c"
    explanation, read_manifest = read_bundle(folder, checksum, label="abc")
    assert explanation.equals(classification_explanation(seed=0)) and read_manifest == manifest


@pytest.mark.parametrize("damage", ["missing_manifest", "missing_file", "wrong_checksum", "appended_byte"])
def test_damage_is_detected(tmp_path: Path, damage: str) -> None:
    folder, checksum = _bundle(tmp_path)
    if damage == "missing_manifest":
        (folder / "manifest.json").unlink()
        message = "expected a manifest.json"
    elif damage == "missing_file":
        (folder / "explanation.json").unlink()
        message = "it is missing"
    elif damage == "wrong_checksum":
        checksum = "0" * 64
        message = "manifest.json fails its checksum"
    else:
        with open(folder / "explanation.json", "ab") as handle:
            handle.write(b" ")
        message = "explanation.json fails its checksum"
    with pytest.raises(StoreIntegrityError, match=message):
        read_bundle(folder, checksum, label="abc")


def test_newer_format_is_a_version_error_not_corruption(tmp_path: Path) -> None:
    folder, _ = _bundle(tmp_path)
    data_path = folder / "explanation.json"
    document = json.loads(data_path.read_text())
    document["format_version"] = 99
    data_path.write_text(json.dumps(document))
    manifest_path = folder / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["files"]["explanation.json"] = {"sha256": file_sha256(data_path), "bytes": data_path.stat().st_size}
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(ExplanationVersionError, match="format version 99"):
        read_bundle(folder, file_sha256(manifest_path), label="abc")
