"""TextExplainer: word-level explanations of any text classifier by masking tokens.

A document is split into word tokens with their character spans (:mod:`pellucid.text.tokenize`). A coalition
keeps some tokens and replaces the others by ``mask_token`` (``""`` removes them); the perturbed documents are
rebuilt from the original text and sent to the model in bounded batches. Two estimators read the model's
outputs on the coalitions:

* ``"kernel"``: Kernel SHAP (the shared arithmetic of :mod:`pellucid.shapley`). Values are Shapley values of
  the tokens, exact when every coalition fits the budget, and additive: ``sum(values) + expected_value`` is the
  model's output on the document, where the expected value is its output on the fully masked document.
* ``"lime"``: LIME (an exponential kernel on the fraction of removed tokens and a weighted ridge). Values are
  ridge weights; they are not additive.

``method="auto"`` takes Kernel SHAP when the budget covers every coalition or gives at least
:data:`MIN_COALITIONS_PER_TOKEN` coalitions per token (so the regression is well determined and its values
accurate), and LIME for longer documents; the choice and its reason go into each explanation's meta.

Examples
--------
>>> from sklearn.feature_extraction.text import CountVectorizer
>>> from sklearn.linear_model import LogisticRegression
>>> from sklearn.pipeline import make_pipeline
>>> docs = ["good film", "bad film", "good plot", "bad plot"]
>>> model = make_pipeline(CountVectorizer(), LogisticRegression()).fit(docs, [1, 0, 1, 0])
>>> explanation = TextExplainer(model).explain_local("a good film")
>>> explanation.get_ranked_local_names()[1][0][0]  # [class][row][rank]
'good'
"""

from __future__ import annotations

import logging
import numbers
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from pellucid.errors import ArgumentError
from pellucid.explanation import CLASSIFICATION, Explanation
from pellucid.model import TASKS, model_type_name
from pellucid.text._aggregate import AGGREGATION, aggregate_by_word
from pellucid.text._kernel_text import explain_kernel
from pellucid.text._lime_text import explain_lime
from pellucid.text._model import DocumentModel
from pellucid.text.tokenize import (
    WORD_PATTERN,
    TokenizedDocument,
    compile_pattern,
    read_documents,
    rebuild,
    tokenize_all,
)

__all__ = ["TextExplainer", "MIN_COALITIONS_PER_TOKEN", "METHODS"]

logger = logging.getLogger(__name__)

METHODS = ("auto", "kernel", "lime")
#: ``method="auto"`` uses Kernel SHAP when the sampled budget gives at least this many coalitions per token.
MIN_COALITIONS_PER_TOKEN = 20
#: ``nsamples="auto"``: ``2 * n_tokens + AUTO_BASE_SAMPLES`` coalitions per document (capped at all of them).
AUTO_BASE_SAMPLES = 2048
_METHOD_NAMES = {"kernel": "text_kernel_shap", "lime": "text_lime"}
# Most model outputs (documents x coalitions x outputs) held at once while explaining documents of one length.
_MAX_OUTPUT_CELLS = 4_000_000


class TextExplainer:
    """Explain a text model's predictions word by word.

    Parameters
    ----------
    model : object or callable
        A model over a list of strings: an sklearn Pipeline starting with a vectoriser, an object with
        ``predict_proba`` (classifier) or ``predict`` (regressor) taking a list of str, or a function of a list
        of str returning probabilities of shape (n_documents, n_classes). It is called once on a probe
        document at construction to learn its outputs.
    classes : list, optional
        Class labels, one per model output; default the model's ``classes_`` or ``0..k-1``.
    method : {"auto", "kernel", "lime"}, default "auto"
        Estimator; "auto" picks per document (see the module docstring).
    nsamples : int or "auto", default "auto"
        Coalitions evaluated per document besides the document itself and its fully masked copy; "auto" is
        ``2 * n_tokens + 2048``. Kernel SHAP never evaluates more than the ``2**n_tokens - 2`` that exist.
    seed : int, default 0
        Seed of the sampled coalitions (seeded per token count, so results do not depend on batching).
    mask_token : str, default ""
        Replacement of a masked token; ``""`` removes it (the text around it is kept).
    model_task : {"unknown", "classification", "regression"}, default "unknown"
        The task; inferred from the model when "unknown".
    token_pattern : str or compiled regex, default :data:`~pellucid.text.tokenize.WORD_PATTERN`
        What a token (a player) is.
    batch_size : int, default 2048
        Most perturbed documents per model call.
    kernel_width : float, default 0.25
        LIME's kernel width on the fraction of removed tokens.
    alpha : float, default 1.0
        LIME's ridge penalty.
    case_sensitive : bool, default False
        Whether :meth:`explain_global` keeps words differing in case apart.

    Attributes
    ----------
    classes : list or None
        Class labels (None for a regressor).
    task : str
        ``"classification"`` or ``"regression"``.
    """

    def __init__(
        self,
        model: Any,
        classes: Sequence[Any] | None = None,
        *,
        method: str = "auto",
        nsamples: int | str = "auto",
        seed: int = 0,
        mask_token: str = "",
        model_task: str = "unknown",
        token_pattern: str | re.Pattern = WORD_PATTERN,
        batch_size: int = 2048,
        kernel_width: float = 0.25,
        alpha: float = 1.0,
        case_sensitive: bool = False,
    ) -> None:
        if method not in METHODS:
            raise ArgumentError(f"method must be one of {METHODS}; found {method!r}")
        if nsamples != "auto" and (
            isinstance(nsamples, bool) or not isinstance(nsamples, (int, np.integer)) or nsamples < 2
        ):
            raise ArgumentError(f"nsamples must be 'auto' or an integer >= 2; found {nsamples!r}")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
            raise ArgumentError(f"seed must be a non-negative integer; found {seed!r}")
        if not isinstance(mask_token, str):
            raise ArgumentError(f"mask_token must be a str ('' removes masked tokens); found {mask_token!r}")
        if model_task not in TASKS:
            raise ArgumentError(f"model_task must be one of {TASKS}; found {model_task!r}")
        for name, value in (("kernel_width", kernel_width), ("alpha", alpha)):
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0:
                raise ArgumentError(f"{name} must be a positive number; found {value!r}")
        self.model = model
        self.method = method
        self.nsamples = nsamples
        self.seed = int(seed)
        self.mask_token = mask_token
        self.model_task = model_task
        self.token_pattern = compile_pattern(token_pattern)
        self.kernel_width = float(kernel_width)
        self.alpha = float(alpha)
        self.case_sensitive = bool(case_sensitive)
        self._model = DocumentModel(model, model_task=model_task, classes=classes, batch_size=batch_size)
        self.batch_size = self._model.batch_size
        self.task = self._model.task
        self.classes = self._model.classes if self.task == CLASSIFICATION else None
        self._notes = list(self._model.notes)
        for note in self._notes:
            logger.info(note)

    # ------------------------------------------------------------------ choices
    def budget(self, n_tokens: int) -> int:
        """Coalitions evaluated for a document of ``n_tokens`` tokens (before capping at all that exist)."""
        if self.nsamples == "auto":
            return 2 * int(n_tokens) + AUTO_BASE_SAMPLES
        return int(self.nsamples)

    def choose_method(self, n_tokens: int) -> tuple[str, str]:
        """The estimator used for a document of ``n_tokens`` tokens, and why.

        Returns
        -------
        (str, str)
            ``"kernel"`` or ``"lime"``, and the reason.
        """
        budget = self.budget(n_tokens)
        if self.method != "auto":
            return self.method, f"method={self.method!r} was requested"
        if n_tokens < 60 and budget >= 2.0**n_tokens - 2:
            return "kernel", (
                f"{n_tokens} tokens: the budget of {budget} coalitions covers all {2**n_tokens - 2}, so Kernel "
                "SHAP gives exact Shapley values"
            )
        if budget >= MIN_COALITIONS_PER_TOKEN * n_tokens:
            return "kernel", (
                f"{n_tokens} tokens: the budget of {budget} coalitions gives at least "
                f"{MIN_COALITIONS_PER_TOKEN} per token, enough for accurate Kernel SHAP values"
            )
        return "lime", (
            f"{n_tokens} tokens: the budget of {budget} coalitions gives fewer than {MIN_COALITIONS_PER_TOKEN} "
            "per token, too few for accurate Kernel SHAP values, so LIME's ridge weights are used (raise "
            "nsamples or pass method='kernel' for Shapley values)"
        )

    # ------------------------------------------------------------------ public API
    def explain_local(self, documents: str | Sequence[str]) -> Explanation | list[Explanation]:
        """Explain one document or several, token by token.

        Parameters
        ----------
        documents : str or sequence of str
            One document, or a list/tuple/ndarray/Series of documents.

        Returns
        -------
        Explanation or list of Explanation
            For one document, one Explanation whose features are its tokens: ``local_values`` of shape
            (1, n_tokens, n_outputs), ``expected_values`` the model's output on the fully masked document,
            ``meta["tokens"] = [[token, start, end], ...]``. For several documents, a list with one
            Explanation per document (their token sets differ).
        """
        texts, single = read_documents(documents)
        tokenized = tokenize_all(texts, pattern=self.token_pattern)
        explanations = self._explain_tokenized(tokenized)
        return explanations[0] if single else explanations

    def explain_global(self, corpus: Sequence[str], *, top_k: int | None = None) -> Explanation:
        """Global word importances over a corpus, from the local explanation of every document.

        Parameters
        ----------
        corpus : sequence of str
            Documents to explain and aggregate.
        top_k : int, optional
            Keep the ``top_k`` most important words (all when None).

        Returns
        -------
        Explanation
            A global-only explanation whose features are the words seen (lower-cased unless
            ``case_sensitive``), ``global_values`` of shape (n_words, n_outputs): per word, the mean over the
            documents containing it of the absolute sum of its values in the document
            (``meta["aggregation"]``); ``meta["document_frequency"]`` counts those documents.
        """
        if top_k is not None and (isinstance(top_k, bool) or not isinstance(top_k, (int, np.integer)) or top_k < 1):
            raise ArgumentError(f"top_k must be a positive integer or None; found {top_k!r}")
        texts, _ = read_documents(corpus, name="corpus")
        tokenized = tokenize_all(texts, pattern=self.token_pattern, name="corpus")
        locals_ = self._explain_tokenized(tokenized)
        return global_word_explanation(
            locals_, explainer=type(self).__name__, case_sensitive=self.case_sensitive, top_k=top_k,
            notes=list(self._notes), model_type=model_type_name(self.model),
        )

    # ------------------------------------------------------------------ internals
    def _explain_tokenized(self, tokenized: list[TokenizedDocument]) -> list[Explanation]:
        lengths = np.array([doc.n_tokens for doc in tokenized])
        explanations: list[Explanation | None] = [None] * len(tokenized)
        # Documents of the same length share their coalitions and are solved together, in chunks whose model
        # outputs stay under _MAX_OUTPUT_CELLS numbers (the plan is seeded per length, so chunking changes nothing).
        for n_tokens in np.unique(lengths).tolist():
            indices = np.flatnonzero(lengths == n_tokens)
            method, reason = self.choose_method(n_tokens)
            per_document = (min(self.budget(n_tokens), 2.0**n_tokens) + 2) * self._model.n_outputs
            chunk = max(1, int(_MAX_OUTPUT_CELLS // per_document))
            for start in range(0, len(indices), chunk):
                part = indices[start : start + chunk].tolist()
                group = [tokenized[i] for i in part]
                for index, explanation in zip(part, self._explain_group(group, method, reason)):
                    explanations[index] = explanation
        return explanations

    def _explain_group(self, group: list[TokenizedDocument], method: str, reason: str) -> list[Explanation]:
        n_tokens = group[0].n_tokens
        budget = self.budget(n_tokens)
        notes = [f"{reason}"]
        extra: list[dict[str, Any]] = [{} for _ in group]
        errors = None
        if n_tokens == 1:
            # One player: its Shapley value is f(document) - f(masked); no sampling or regression is needed.
            outputs = self._model.predict([d.text for d in group] + [_masked(d, self.mask_token) for d in group])
            full, empty = outputs[: len(group)], outputs[len(group) :]
            values = (full - empty)[:, None, :]
            n_evaluated, exact, additive = 2, True, True
            notes.append("a single token: its value is the model output minus the fully masked output (exact)")
        elif method == "kernel":
            result = explain_kernel(self._model, group, budget=budget, seed=self.seed, mask_token=self.mask_token)
            values, errors, full, empty = result.values, result.standard_errors, result.full_outputs, result.empty_outputs
            n_evaluated, exact, additive = result.n_coalitions, result.exact, True
            if not exact:
                notes.append(
                    f"Kernel SHAP estimated from {n_evaluated - 2} of {2**n_tokens - 2:.0f} coalitions "
                    "(standard errors in standard_errors)"
                )
        else:
            result = explain_lime(
                self._model, group, n_samples=budget, seed=self.seed, kernel_width=self.kernel_width,
                alpha=self.alpha, mask_token=self.mask_token,
            )
            values, full, empty = result.values, result.full_outputs, result.empty_outputs
            n_evaluated, exact, additive = result.n_samples, False, False
            notes.append(
                "LIME weights are not additive: intercepts + sum(values) is the ridge's prediction for the document "
                "(meta['local_prediction']), not the model output"
            )
            for position, item in enumerate(extra):
                item.update(
                    intercept=result.intercepts[position],
                    local_prediction=result.local_predictions[position],
                    scores=result.scores[position],
                )
        notes.append(f"{n_evaluated} perturbed documents per document sent to the model in batches of {self.batch_size}")
        name = _METHOD_NAMES[method]
        for note in notes:
            logger.info(note)
        return [
            self._build(doc, name, method, values[i], empty[i], full[i], None if errors is None else errors[i],
                        notes, extra[i], n_evaluated=n_evaluated, exact=exact, additive=additive)
            for i, doc in enumerate(group)
        ]

    def _build(
        self,
        doc: TokenizedDocument,
        name: str,
        method: str,
        values: np.ndarray,
        expected: np.ndarray,
        output: np.ndarray,
        errors: np.ndarray | None,
        notes: list[str],
        extra: dict[str, Any],
        *,
        n_evaluated: int,
        exact: bool,
        additive: bool,
    ) -> Explanation:
        eval_data = np.empty((1, doc.n_tokens), dtype=object)
        eval_data[0, :] = doc.tokens
        meta = {
            "method": name,
            "explainer": type(self).__name__,
            "model_type": model_type_name(self.model),
            "output_space": self._model.output_space,
            "document": doc.text,
            "tokens": doc.spans(),
            "method_choice": {"method": method, "requested": self.method, "reason": notes[0]},
            "expected_values_meaning": "the model's output on the fully masked document",
            "mask_token": self.mask_token,
            "n_evaluated": n_evaluated,
            "exact": exact,
            "additive": additive,
            "parameters": self._parameters(),
            "notes": self._notes + notes,
            **extra,
        }
        return Explanation(
            method=name,
            task=self.task,
            features=doc.tokens,
            classes=self.classes,
            local_values=values[None],
            expected_values=expected,
            eval_data=eval_data,
            model_output=output[None],
            standard_errors=None if errors is None else errors[None],
            meta=meta,
        )

    def _parameters(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "nsamples": self.nsamples,
            "seed": self.seed,
            "mask_token": self.mask_token,
            "token_pattern": self.token_pattern.pattern,
            "batch_size": self.batch_size,
            "kernel_width": self.kernel_width,
            "lime_kernel": "exp(-d**2 / (2 * kernel_width**2)), d = fraction of tokens removed",
            "alpha": self.alpha,
        }


def _masked(doc: TokenizedDocument, mask_token: str) -> str:
    return rebuild(doc, np.zeros((1, doc.n_tokens), dtype=bool), mask_token)[0]


def global_word_explanation(
    explanations: Sequence[Explanation],
    *,
    explainer: str,
    case_sensitive: bool,
    top_k: int | None,
    notes: list[str],
    model_type: str,
) -> Explanation:
    """A global-only Explanation over the words of per-document explanations (see :mod:`._aggregate`).

    Parameters
    ----------
    explanations : sequence of Explanation
        One local explanation per document, features = its tokens.
    explainer : str
        Name of the explainer, for meta.
    case_sensitive : bool
        Keep words differing in case apart.
    top_k : int, optional
        Keep the most important words only.
    notes : list of str
        Notes to carry into meta.
    model_type : str
        The explained model's type name.

    Returns
    -------
    Explanation
        Global-only, features = words, ``global_values`` of shape (n_words, n_outputs).
    """
    words = aggregate_by_word(
        [e.features for e in explanations], [e.local_values[0] for e in explanations], case_sensitive=case_sensitive
    )
    keep = len(words.words) if top_k is None else min(int(top_k), len(words.words))
    methods = sorted({e.method for e in explanations})
    counts = {m: sum(e.method == m for e in explanations) for m in methods}
    notes = list(notes)
    if len(methods) > 1:
        notes.append(
            f"the documents were explained with different methods ({counts}); their values are averaged together"
        )
    if keep < len(words.words):
        notes.append(f"top_k={top_k}: kept the {keep} most important of {len(words.words)} words")
    expected = np.mean([e.expected_values_array for e in explanations], axis=0)
    first = explanations[0]
    meta = {
        "method": methods[0] if len(methods) == 1 else "+".join(methods),
        "explainer": explainer,
        "model_type": model_type,
        "output_space": first.meta.get("output_space"),
        "aggregation": AGGREGATION,
        "case_sensitive": case_sensitive,
        "n_documents": len(explanations),
        "methods_used": counts,
        "document_frequency": words.document_frequency[:keep],
        "n_words_seen": len(words.words),
        "expected_values_meaning": "mean over the documents of the model's output on the fully masked document",
        "notes": notes,
    }
    return Explanation(
        method=meta["method"],
        task=first.task,
        features=words.words[:keep],
        classes=first.classes,
        global_values=words.values[:keep],
        expected_values=expected,
        meta=meta,
    )
