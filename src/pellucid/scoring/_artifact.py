"""The on-disk format of a saved scoring explainer: a folder with a JSON manifest and the files it lists.

::

    my_explainer/
        manifest.json      format, format version, kind, names, versions, per-file SHA-256, manifest digest
        arrays.npz         numeric state (coefficients, background rows, tree arrays), read with allow_pickle=False
        model.skops        (optional) the model: skops, LightGBM text, XGBoost JSON, or pickle when allowed
        transformations.skops  (optional) the fitted raw -> engineered transformations (skops, or pickle when allowed)

Every check happens before anything is deserialised: the manifest parses, names the known format and a
version this pellucid reads, its own digest matches (an edited manifest is refused), the HMAC signature
matches the caller's key, every listed file exists inside the folder with the recorded size and SHA-256, and no
file needs pickle unless the caller allows it. A failure raises :class:`~pellucid.errors.UnsafeArtifactError`.

The digest only catches accidents (a truncated copy, a flipped bit): anyone who can edit the folder can
recompute it. The signature (HMAC-SHA256 over the manifest, which holds every file's SHA-256) is what
authenticates an artifact, and only for a loader that holds the key. So a signed artifact never loads
unverified: without the key, or with a wrong one, it is refused; with a key, an unsigned artifact is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from pellucid._version import __version__
from pellucid.errors import ArgumentError, UnsafeArtifactError

__all__ = [
    "FORMAT_NAME",
    "FORMAT_VERSION",
    "MANIFEST_NAME",
    "ARRAYS_NAME",
    "ArtifactFile",
    "Manifest",
    "write_artifact",
    "read_manifest",
    "read_arrays",
    "file_sha256",
]

FORMAT_NAME = "pellucid.scoring_explainer"
FORMAT_VERSION = 1
MANIFEST_NAME = "manifest.json"
ARRAYS_NAME = "arrays.npz"
# A manifest holds names and small parameters; anything larger is not one of ours.
_MAX_MANIFEST_BYTES = 16 * 1024 * 1024
# File formats a manifest may list; "pickle" is the only one that can run code when read.
FILE_FORMATS = ("npz", "skops", "lightgbm_text", "xgboost_json", "catboost_cbm", "pickle")
# What a file holds: the numeric arrays, the model, the fitted raw -> engineered transformations.
FILE_ROLES = ("arrays", "model", "transformations")
_REQUIRED = ("format", "format_version", "kind", "pellucid_version", "task", "features", "files", "state")


@dataclass(frozen=True)
class ArtifactFile:
    """One file of an artifact, as listed in the manifest.

    Attributes
    ----------
    name : str
        File name inside the artifact folder (no directories).
    role : str
        What it holds: ``"arrays"``, ``"model"`` or ``"transformations"``.
    format : str
        One of ``FILE_FORMATS``.
    """

    name: str
    role: str
    format: str


@dataclass
class Manifest:
    """A verified manifest: everything needed to rebuild a scoring explainer.

    Attributes
    ----------
    kind : str
        The scoring explainer kind (``"linear"``, ``"tree"``, ``"kernel"`` ...).
    document : dict
        The whole manifest as read.
    folder : Path
        The artifact folder.
    files : dict of str to ArtifactFile
        The listed files by role.
    signed : bool
        Whether the manifest's signature was verified with the caller's key (False: an unsigned artifact).
    """

    kind: str
    document: dict[str, Any]
    folder: Path
    files: dict[str, ArtifactFile]
    signed: bool = False

    def path_of(self, role: str) -> Path | None:
        """Path of the file with ``role``, or None when the artifact has none."""
        entry = self.files.get(role)
        return None if entry is None else self.folder / entry.name


def file_sha256(path: Path) -> str:
    """Hex SHA-256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _canonical(document: dict[str, Any]) -> bytes:
    body = {k: v for k, v in document.items() if k not in ("manifest_sha256", "signature")}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False).encode()


def _signing_key_bytes(signing_key: str | bytes | None) -> bytes | None:
    if signing_key is None:
        return None
    if isinstance(signing_key, str):
        signing_key = signing_key.encode()
    if not isinstance(signing_key, bytes) or len(signing_key) < 16:
        raise ArgumentError("signing_key must be a str or bytes of at least 16 bytes; found a shorter or other value")
    return signing_key


def _library_versions() -> dict[str, str]:
    import sys

    versions = {"python": sys.version.split()[0], "numpy": np.__version__}
    for name in ("sklearn", "lightgbm", "xgboost", "skops"):
        module = sys.modules.get(name)
        if module is not None:
            versions[name] = str(getattr(module, "__version__", "unknown"))
    return versions


def write_artifact(
    folder: str | Path,
    *,
    kind: str,
    header: dict[str, Any],
    state: dict[str, Any],
    arrays: dict[str, np.ndarray],
    extra_files: dict[str, tuple[str, str, bytes]] | None = None,
    exist_ok: bool = False,
    signing_key: str | bytes | None = None,
) -> Path:
    """Write an artifact folder: the arrays, the model files, then the manifest that lists their digests.

    Parameters
    ----------
    folder : str or Path
        Target folder; created. It must not exist or be empty unless ``exist_ok``.
    kind : str
        Scoring explainer kind.
    header : dict
        JSON-serialisable common fields: task, features, classes, output_space, method, notes ...
    state : dict
        JSON-serialisable kind-specific parameters.
    arrays : dict of str to ndarray
        Numeric arrays (no object dtype), written to ``arrays.npz``.
    extra_files : dict of str to (format, role, bytes), optional
        Other files by name: their format (one of ``FILE_FORMATS``), role (one of ``FILE_ROLES`` but
        ``"arrays"``) and content.
    exist_ok : bool
        Overwrite the files of an existing pellucid artifact folder.
    signing_key : str or bytes, optional
        When given, the manifest carries an HMAC-SHA256 signature; loading can then demand it.

    Returns
    -------
    Path
        The folder.
    """
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise ArgumentError(f"expected a folder path to save the scoring explainer in; found a file at {folder}")
    if folder.exists() and any(folder.iterdir()) and not exist_ok:
        raise ArgumentError(
            f"the folder {folder} is not empty; pass exist_ok=True to overwrite a saved scoring explainer there"
        )
    key = _signing_key_bytes(signing_key)
    folder.mkdir(parents=True, exist_ok=True)
    for name, array in arrays.items():
        if np.asarray(array).dtype == object:
            raise ArgumentError(f"array {name!r} has object dtype, which would need pickle; store it as JSON state")
    files: dict[str, dict[str, Any]] = {}
    buffer = io.BytesIO()
    np.savez(buffer, **{name: np.asarray(array) for name, array in arrays.items()})
    contents = {ARRAYS_NAME: ("npz", "arrays", buffer.getvalue())}
    for name, (file_format, role, payload) in (extra_files or {}).items():
        if (file_format not in FILE_FORMATS or role not in FILE_ROLES or role == "arrays"
                or os.path.basename(name) != name or name in (MANIFEST_NAME, ARRAYS_NAME)):
            raise ArgumentError(f"cannot store file {name!r} with role {role!r} in format {file_format!r}")
        contents[name] = (file_format, role, payload)
    for name, (file_format, role, payload) in contents.items():
        (folder / name).write_bytes(payload)
        files[name] = {
            "role": role,
            "format": file_format,
            "bytes": len(payload),
            "sha256": hashlib.sha256(payload).hexdigest(),
        }
    document: dict[str, Any] = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "kind": kind,
        "pellucid_version": __version__,
        "created_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "library_versions": _library_versions(),
        **header,
        "state": state,
        "files": files,
        "pickle": any(entry["format"] == "pickle" for entry in files.values()),
    }
    document["manifest_sha256"] = hashlib.sha256(_canonical(document)).hexdigest()
    if key is not None:
        document["signature"] = {
            "algorithm": "hmac-sha256",
            "value": hmac.new(key, _canonical(document), hashlib.sha256).hexdigest(),
        }
    text = json.dumps(document, indent=1, allow_nan=False, ensure_ascii=True)
    (folder / MANIFEST_NAME).write_text(text, encoding="utf-8")
    return folder


def _refuse(folder: Path, what: str) -> UnsafeArtifactError:
    return UnsafeArtifactError(f"refusing to load the scoring explainer in {folder}: {what}")


def read_manifest(
    folder: str | Path,
    *,
    known_kinds: tuple[str, ...],
    allow_pickle: bool = False,
    signing_key: str | bytes | None = None,
) -> Manifest:
    """Read and verify an artifact's manifest and files; deserialise nothing.

    Parameters
    ----------
    folder : str or Path
        The artifact folder.
    known_kinds : tuple of str
        Kinds this pellucid can rebuild.
    allow_pickle : bool
        Accept an artifact whose model is a pickle (it runs code when loaded: only for files you trust).
    signing_key : str or bytes, optional
        Demand a valid HMAC-SHA256 signature made with this key. Without it, only an unsigned artifact loads.

    Returns
    -------
    Manifest

    Raises
    ------
    UnsafeArtifactError
        For a missing, foreign, newer, edited or incomplete artifact, a checksum mismatch, a bad or missing
        signature, a signed artifact read without its key, or a pickle without ``allow_pickle``.
    """
    folder = Path(folder)
    manifest_path = folder / MANIFEST_NAME
    if not folder.is_dir() or not manifest_path.is_file():
        raise _refuse(folder, f"expected a folder holding {MANIFEST_NAME} (written by ScoringExplainer.save); "
                              "found " + ("no such folder" if not folder.exists() else f"no {MANIFEST_NAME}"))
    if manifest_path.stat().st_size > _MAX_MANIFEST_BYTES:
        raise _refuse(folder, f"the manifest is larger than {_MAX_MANIFEST_BYTES} bytes; it is not one of ours")
    try:
        document = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise _refuse(folder, f"the manifest is not valid JSON ({exc})") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT_NAME:
        found = document.get("format") if isinstance(document, dict) else type(document).__name__
        raise _refuse(folder, f"expected format {FORMAT_NAME!r}; found {found!r}")
    version = document.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise _refuse(folder, f"expected an integer format_version >= 1; found {version!r}")
    if version > FORMAT_VERSION:
        raise _refuse(
            folder,
            f"it was written in format version {version}, newer than version {FORMAT_VERSION} read by pellucid "
            f"{__version__}; upgrade pellucid to load it",
        )
    missing = [name for name in _REQUIRED if name not in document]
    if missing:
        raise _refuse(folder, f"the manifest lacks the fields {missing}")
    recorded = document.get("manifest_sha256")
    if not isinstance(recorded, str) or not hmac.compare_digest(
        recorded, hashlib.sha256(_canonical(document)).hexdigest()
    ):
        raise _refuse(folder, "the manifest's digest does not match its content: it was edited after saving")
    signed = _check_signature(folder, document, signing_key)
    kind = document["kind"]
    if kind not in known_kinds:
        raise _refuse(folder, f"unknown scoring explainer kind {kind!r}; this pellucid knows {list(known_kinds)}")
    files = _verified_files(folder, document, allow_pickle)
    return Manifest(kind=kind, document=document, folder=folder, files=files, signed=signed)


def _check_signature(folder: Path, document: dict[str, Any], signing_key: str | bytes | None) -> bool:
    """True when the signature was verified with the key; False for an unsigned artifact read without a key."""
    key = _signing_key_bytes(signing_key)
    if key is None:
        if "signature" in document:
            # Loading it unverified would make the signature worthless: whoever signed it expects it checked.
            raise _refuse(
                folder,
                "it is signed (its manifest carries a signature) and no signing key was given to verify it; "
                "pass signing_key= (pellucid serve: --signing-key-env or PELLUCID_SIGNING_KEY)",
            )
        return False
    signature = document.get("signature")
    if not isinstance(signature, dict) or signature.get("algorithm") != "hmac-sha256":
        raise _refuse(folder, "a signing key was given but the manifest carries no hmac-sha256 signature")
    expected = hmac.new(key, _canonical(document), hashlib.sha256).hexdigest()
    if not isinstance(signature.get("value"), str) or not hmac.compare_digest(signature["value"], expected):
        raise _refuse(folder, "the manifest's signature does not match the signing key")
    return True


def _verified_files(folder: Path, document: dict[str, Any], allow_pickle: bool) -> dict[str, ArtifactFile]:
    listed = document["files"]
    if not isinstance(listed, dict) or ARRAYS_NAME not in listed:
        raise _refuse(folder, f"the manifest must list {ARRAYS_NAME}; found {sorted(listed) if isinstance(listed, dict) else listed!r}")
    root = folder.resolve()
    by_role: dict[str, ArtifactFile] = {}
    for name, entry in listed.items():
        if not isinstance(name, str) or os.path.basename(name) != name or name in ("", ".", "..", MANIFEST_NAME):
            raise _refuse(folder, f"the manifest lists a file name that is not a plain name inside the folder: {name!r}")
        if not isinstance(entry, dict) or entry.get("format") not in FILE_FORMATS or entry.get("role") not in FILE_ROLES:
            raise _refuse(folder, f"the manifest entry of {name!r} is malformed: {entry!r}")
        path = folder / name
        if not path.is_file() or path.is_symlink() or path.resolve().parent != root:
            raise _refuse(folder, f"the file {name!r} listed in the manifest is missing (or not a plain file)")
        if path.stat().st_size != entry.get("bytes"):
            raise _refuse(folder, f"{name!r} has {path.stat().st_size} bytes; the manifest recorded {entry.get('bytes')}")
        recorded = entry.get("sha256")
        if not isinstance(recorded, str) or not hmac.compare_digest(recorded, file_sha256(path)):
            raise _refuse(folder, f"the SHA-256 of {name!r} does not match the manifest: the file was changed")
        if entry["format"] == "pickle" and not allow_pickle:
            raise _refuse(
                folder,
                f"{name!r} is a pickle, and unpickling runs code stored in the file. Pass allow_pickle=True "
                "only if you trust where this artifact came from",
            )
        if (entry["role"] == "arrays") != (name == ARRAYS_NAME and entry["format"] == "npz"):
            raise _refuse(folder, f"only {ARRAYS_NAME} may hold the arrays, as npz; found {name!r} ({entry!r})")
        if entry["role"] in by_role:
            raise _refuse(folder, f"the manifest lists two files with role {entry['role']!r}")
        by_role[entry["role"]] = ArtifactFile(name=name, role=entry["role"], format=entry["format"])
    if bool(document.get("pickle")) != any(f.format == "pickle" for f in by_role.values()):
        raise _refuse(folder, "the manifest's pickle flag disagrees with its file list")
    return by_role


def read_arrays(manifest: Manifest, required: tuple[str, ...]) -> dict[str, np.ndarray]:
    """Load the verified ``arrays.npz`` without pickle and check it holds ``required``.

    Returns
    -------
    dict of str to ndarray
    """
    path = manifest.path_of("arrays")
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except (OSError, ValueError) as exc:
        raise _refuse(manifest.folder, f"{ARRAYS_NAME} cannot be read without pickle: {exc}") from exc
    absent = [name for name in required if name not in arrays]
    if absent:
        raise _refuse(manifest.folder, f"{ARRAYS_NAME} lacks the arrays {absent} a {manifest.kind!r} explainer needs")
    return arrays
