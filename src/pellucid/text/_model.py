"""A text model as one call: ``predict(documents) -> ndarray of shape (n_documents, n_outputs)``.

The model is anything that takes a list of strings: an sklearn Pipeline starting with a vectoriser, an object
with ``predict_proba``/``predict``, or a plain function returning probabilities. It is wrapped by the core's
:class:`~pellucid.model.ModelWrapper` (task, classes and output checks are the core's) over a dataset whose
model input is the list of documents; calls are made in bounded batches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from pellucid.data import Dataset
from pellucid.errors import ArgumentError, ModelInterfaceError
from pellucid.model import ModelWrapper

__all__ = ["DocumentModel"]

# The probe document the model is called on once, to learn its task and outputs.
_PROBE = "text"


@dataclass
class _Documents(Dataset):
    """Documents as a one-column object dataset whose model input is a plain list of str."""

    def to_model_input(self, values: np.ndarray | None = None) -> list[str]:
        values = self.values if values is None else values
        return [str(d) for d in values[:, 0].tolist()]

    def non_finite_cells(self) -> np.ndarray:
        return np.zeros(self.values.shape, dtype=bool)


def _as_column(documents: Sequence[str]) -> np.ndarray:
    column = np.empty((len(documents), 1), dtype=object)
    column[:, 0] = list(documents)
    return column


class DocumentModel:
    """Call a text model on lists of documents, in batches of at most ``batch_size``.

    Parameters
    ----------
    model : object or callable
        Takes a list of str and returns probabilities (classifier) or values (regressor).
    model_task : {"unknown", "classification", "regression"}
        The task; "unknown" infers it like :class:`~pellucid.model.ModelWrapper`.
    classes : sequence, optional
        Class labels, one per output.
    batch_size : int
        Most documents per model call.

    Attributes
    ----------
    task, classes, n_outputs, output_space, notes
        As in :class:`~pellucid.model.ModelWrapper`.
    n_calls : int
        Model calls made so far.
    """

    def __init__(
        self, model: Any, *, model_task: str = "unknown", classes: Sequence[Any] | None = None, batch_size: int
    ) -> None:
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
            raise ArgumentError(f"batch_size must be a positive integer; found {batch_size!r}")
        self.batch_size = int(batch_size)
        self._template = _Documents(values=_as_column([_PROBE]), feature_names=["document"], kind="documents")
        try:
            self._wrapper = ModelWrapper(model, self._template, model_task=model_task, classes=classes)
        except ModelInterfaceError as exc:
            raise ModelInterfaceError(
                "text explainers call the model on a list of strings (documents); calling it on "
                f"[{_PROBE!r}] failed: {exc}. Pass a model that takes raw text, such as an sklearn Pipeline "
                "starting with a vectoriser, or a function of a list of str"
            ) from exc
        self.task = self._wrapper.task
        self.classes = self._wrapper.classes
        self.n_outputs = self._wrapper.n_outputs
        self.output_space = self._wrapper.output_space
        self.notes = list(self._wrapper.notes)
        self.n_calls = 1

    def predict(self, documents: Sequence[str]) -> np.ndarray:
        """Model output for documents, ndarray of shape (n_documents, n_outputs), float64.

        Parameters
        ----------
        documents : sequence of str, length n_documents
        """
        outputs = np.empty((len(documents), self.n_outputs))
        for start in range(0, len(documents), self.batch_size):
            chunk = documents[start : start + self.batch_size]
            try:
                outputs[start : start + len(chunk)] = self._wrapper.predict_output(_as_column(chunk))
            except ModelInterfaceError as exc:
                raise ModelInterfaceError(
                    f"calling the model on a list of {len(chunk)} documents failed: {exc}"
                ) from exc
            self.n_calls += 1
        return outputs
