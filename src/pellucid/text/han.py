"""HANExplainer: word importances from a hierarchical attention network trained to mimic a text model.

The explained model (the *teacher*) labels a corpus with its class probabilities; a hierarchical attention
network (HAN, Yang et al. 2016; see :mod:`pellucid.text._han_network`) is trained on them as soft labels
(minimising ``KL(teacher || surrogate)``), on the corpus and on ``augmentations`` perturbed copies of each
document (random tokens removed, LIME-style, also labelled by the teacher) so it learns how single words
move the teacher. A held-out part of the corpus measures its fidelity (agreement of the predicted classes and
mean KL), reported in every explanation's ``meta["fidelity"]``.

To explain a document, a copy of the trained network is fine-tuned for ``fine_tune_steps`` Adam steps on
``fine_tune_samples`` perturbed copies of that document (random token removals plus the document itself,
rebuilt from its text and labelled by the teacher); the base network is left unchanged. The document is then
read by the fine-tuned copy, and each token's importance is its word attention weighted by the attention of
its sentence: non-negative, summing to 1 over the document's tokens.

These values are attention weights, not attributions: they are not additive (they do not sum to the model
output minus the expected value) and carry no sign. They are put in the column of the teacher's predicted
class; every other class's column is 0, because attention is shared by all classes.

Examples
--------
>>> from pellucid.testing.text import make_corpus, train_teacher
>>> documents, labels = make_corpus(200)
>>> explainer = HANExplainer(train_teacher(documents, labels), documents, epochs=5)  # doctest: +SKIP
>>> explainer.explain_local(documents[0]).meta["fidelity"]["agreement"] > 0.8  # doctest: +SKIP
True
"""

from __future__ import annotations

import contextlib
import copy
import logging
import numbers
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from pellucid.errors import ArgumentError, DataValueError, ModelInterfaceError
from pellucid.explanation import CLASSIFICATION, Explanation
from pellucid.model import model_type_name
from pellucid.text._model import DocumentModel
from pellucid.text._perturb import sample_removals
from pellucid.text.explainer import global_word_explanation
from pellucid.text.tokenize import (
    WORD_PATTERN,
    TokenizedDocument,
    compile_pattern,
    read_documents,
    rebuild,
    tokenize,
    tokenize_all,
)

__all__ = ["HANExplainer", "read_glove"]

logger = logging.getLogger(__name__)

_VALUES_MEANING = (
    "attention importance of each token: its word attention times its sentence's attention (non-negative, "
    "summing to 1 over the document); stored in the column of the teacher's predicted class, other classes' "
    "columns are 0 because attention is shared by all classes; not additive"
)


class HANExplainer:
    """Explain a text classifier with a hierarchical attention network trained to mimic it.

    Parameters
    ----------
    model : object or callable
        The teacher: a classifier over a list of strings (sklearn Pipeline with a vectoriser, object with
        ``predict_proba``, or a function returning probabilities of shape (n_documents, n_classes)).
    initialization_examples : sequence of str
        The training corpus; the teacher labels it.
    classes : list, optional
        Class labels, one per teacher output.
    embedding_dim : int, optional
        Word embedding size; default 64, or the dimension of ``embeddings_path``'s vectors.
    hidden_size : int, default 32
        GRU hidden size per direction.
    epochs : int, default 8
        Passes over the (augmented) training set.
    fine_tune_steps : int, default 20
        Adam steps on each explained document's perturbed copies; 0 explains with the base network.
    fine_tune_samples : int, default 64
        Perturbed copies of the explained document used for fine-tuning (the document itself included).
    learning_rate : float, default 0.005
        Adam's learning rate for training.
    fine_tune_learning_rate : float, optional
        Adam's learning rate for fine-tuning; default ``learning_rate / 5``.
    max_vocabulary : int, default 20000
        Most frequent (lower-cased) training words kept; others map to an unknown-word id.
    embeddings_path : str or Path, optional
        A GloVe-format text file (``word v1 v2 ...`` per line) whose vectors initialise the embeddings of the
        vocabulary words it holds (the others are random). Nothing is downloaded.
    freeze_embeddings : bool, default False
        Keep the embeddings fixed during training.
    augmentations : int, default 1
        Perturbed copies (random tokens removed) of each training document added to the training set.
    held_out_fraction : float, default 0.2
        Share of the corpus held out to measure fidelity (at least one document when the corpus has 5 or more).
    batch_size : int, default 32
        Documents per training step.
    mask_token : str, default ""
        Replacement of removed tokens in perturbed copies; ``""`` removes them.
    token_pattern : str or compiled regex, default :data:`~pellucid.text.tokenize.WORD_PATTERN`
    model_task : {"unknown", "classification"}
        The teacher must be a classifier.
    use_gpu : bool, default False
        Train and run on CUDA when available (noted otherwise).
    num_threads : int, optional
        torch CPU threads to use while training and explaining (restored afterwards); default torch's setting.
    seed : int, default 0
        Seed of the initialisation, the data split, shuffling and perturbations.
    teacher_batch_size : int, default 2048
        Most documents per teacher call.

    Attributes
    ----------
    fidelity_ : dict
        Agreement and KL divergence to the teacher on the held-out and training documents.
    vocabulary_ : list of str
        The words with their own embedding, most frequent first.
    classes : list
        Class labels.
    """

    def __init__(
        self,
        model: Any,
        initialization_examples: Sequence[str],
        classes: Sequence[Any] | None = None,
        *,
        embedding_dim: int | None = None,
        hidden_size: int = 32,
        epochs: int = 8,
        fine_tune_steps: int = 20,
        fine_tune_samples: int = 64,
        learning_rate: float = 0.005,
        fine_tune_learning_rate: float | None = None,
        max_vocabulary: int = 20000,
        embeddings_path: str | Path | None = None,
        freeze_embeddings: bool = False,
        augmentations: int = 1,
        held_out_fraction: float = 0.2,
        batch_size: int = 32,
        mask_token: str = "",
        token_pattern: str | re.Pattern = WORD_PATTERN,
        model_task: str = "unknown",
        use_gpu: bool = False,
        num_threads: int | None = None,
        seed: int = 0,
        teacher_batch_size: int = 2048,
    ) -> None:
        _check_int("hidden_size", hidden_size, 1)
        _check_int("epochs", epochs, 0)
        _check_int("fine_tune_steps", fine_tune_steps, 0)
        _check_int("fine_tune_samples", fine_tune_samples, 2)
        _check_int("max_vocabulary", max_vocabulary, 1)
        _check_int("augmentations", augmentations, 0)
        _check_int("batch_size", batch_size, 1)
        _check_int("seed", seed, 0)
        if embedding_dim is not None:
            _check_int("embedding_dim", embedding_dim, 1)
        if num_threads is not None:
            _check_int("num_threads", num_threads, 1)
        for name, value in (("learning_rate", learning_rate), ("fine_tune_learning_rate", fine_tune_learning_rate)):
            if value is not None and (isinstance(value, bool) or not isinstance(value, numbers.Real) or not value > 0):
                raise ArgumentError(f"{name} must be a positive number; found {value!r}")
        if isinstance(held_out_fraction, bool) or not isinstance(held_out_fraction, numbers.Real) or not (
            0 <= held_out_fraction < 1
        ):
            raise ArgumentError(f"held_out_fraction must be a number in [0, 1); found {held_out_fraction!r}")
        if not isinstance(mask_token, str):
            raise ArgumentError(f"mask_token must be a str ('' removes masked tokens); found {mask_token!r}")
        if model_task not in ("unknown", CLASSIFICATION):
            raise ModelInterfaceError(
                f"HANExplainer explains classifiers (it learns the teacher's class probabilities); found "
                f"model_task={model_task!r}. Use TextExplainer for a regression model"
            )
        from pellucid.text import _han_network as network_module  # needs torch: pip install "pellucid[text]"

        self._nets = network_module
        self._torch = network_module.torch
        self.model = model
        self.hidden_size = int(hidden_size)
        self.epochs = int(epochs)
        self.fine_tune_steps = int(fine_tune_steps)
        self.fine_tune_samples = int(fine_tune_samples)
        self.learning_rate = float(learning_rate)
        self.fine_tune_learning_rate = (
            float(fine_tune_learning_rate) if fine_tune_learning_rate is not None else self.learning_rate / 5
        )
        self.max_vocabulary = int(max_vocabulary)
        self.embeddings_path = None if embeddings_path is None else str(embeddings_path)
        self.freeze_embeddings = bool(freeze_embeddings)
        self.augmentations = int(augmentations)
        self.held_out_fraction = float(held_out_fraction)
        self.batch_size = int(batch_size)
        self.mask_token = mask_token
        self.token_pattern = compile_pattern(token_pattern)
        self.use_gpu = bool(use_gpu)
        self.num_threads = num_threads
        self.seed = int(seed)
        self._notes: list[str] = []
        self._teacher = DocumentModel(model, model_task=model_task, classes=classes, batch_size=teacher_batch_size)
        self._notes.extend(self._teacher.notes)
        if self._teacher.task != CLASSIFICATION:
            raise ModelInterfaceError(
                f"HANExplainer explains classifiers (it learns the teacher's class probabilities); "
                f"{model_type_name(model)} was read as a {self._teacher.task} model. Use TextExplainer for it"
            )
        self.classes = self._teacher.classes
        self.device = self._pick_device()
        corpus, _ = read_documents(initialization_examples, name="initialization_examples")
        tokenized = tokenize_all(corpus, pattern=self.token_pattern, name="initialization_examples")
        self.vocabulary_, self._word_ids = _build_vocabulary(tokenized, self.max_vocabulary)
        vectors, self.embedding_dim = self._initial_embeddings(embedding_dim)
        with self._torch_context():
            self._network = self._nets.HierarchicalAttentionNetwork(
                len(self.vocabulary_) + 2, self.embedding_dim, self.hidden_size, self._teacher.n_outputs
            )
            if vectors is not None:
                self._network.embedding.weight.data[2:] = self._torch.as_tensor(vectors, dtype=self._torch.float32)
            self._network.embedding.weight.requires_grad_(not self.freeze_embeddings)
            self._network.to(self.device)
            self.fidelity_ = self._train(tokenized)
        logger.info("HAN surrogate trained: %s", self.fidelity_)

    # ------------------------------------------------------------------ setup
    def _pick_device(self) -> Any:
        torch = self._torch
        if self.use_gpu and torch.cuda.is_available():
            return torch.device("cuda")
        if self.use_gpu:
            self._notes.append("use_gpu=True but no CUDA device is available: the HAN runs on the CPU")
        return torch.device("cpu")

    @contextlib.contextmanager
    def _torch_context(self) -> Iterator[None]:
        """Seeded torch RNG (the caller's RNG state is restored) and the configured thread count."""
        torch = self._torch
        threads = torch.get_num_threads()
        devices = [self.device.index or 0] if self.device.type == "cuda" else []
        with torch.random.fork_rng(devices=devices):
            torch.manual_seed(self.seed)
            if self.num_threads is not None:
                torch.set_num_threads(self.num_threads)
            try:
                yield
            finally:
                torch.set_num_threads(threads)

    def _initial_embeddings(self, embedding_dim: int | None) -> tuple[np.ndarray | None, int]:
        if self.embeddings_path is None:
            return None, int(embedding_dim or 64)
        found, dimension = read_glove(self.embeddings_path, self.vocabulary_)
        if embedding_dim is not None and embedding_dim != dimension:
            raise ArgumentError(
                f"embedding_dim={embedding_dim} but the vectors in {self.embeddings_path} have {dimension} "
                "dimensions; pass embedding_dim=None to use the file's"
            )
        rng = np.random.default_rng(self.seed)
        vectors = rng.normal(0.0, 0.1, size=(len(self.vocabulary_), dimension))
        hits = np.array([i for i, w in enumerate(self.vocabulary_) if w in found], dtype=np.int64)
        if hits.size:
            vectors[hits] = np.stack([found[self.vocabulary_[i]] for i in hits])
        self._notes.append(
            f"embeddings initialised from {self.embeddings_path}: {hits.size} of {len(self.vocabulary_)} "
            "vocabulary words found there (the others start random)"
        )
        return vectors, dimension

    # ------------------------------------------------------------------ training
    def _encode(self, doc: TokenizedDocument) -> Any:
        ids = np.fromiter((self._word_ids.get(t.lower(), self._nets.UNKNOWN) for t in doc.tokens),
                          dtype=np.int64, count=doc.n_tokens)
        return self._nets.EncodedDocument(ids=ids, sentence_ids=doc.sentence_ids)

    def _encode_texts(self, texts: Sequence[str]) -> tuple[list[Any], np.ndarray]:
        """Encode texts, skipping those without tokens; returns the encodings and the kept positions."""
        docs = [tokenize(t, pattern=self.token_pattern) for t in texts]
        kept = np.array([i for i, d in enumerate(docs) if d.n_tokens > 0], dtype=np.int64)
        return [self._encode(docs[i]) for i in kept], kept

    def _perturbed(self, docs: Sequence[TokenizedDocument], copies: int, rng: np.random.Generator,
                   include_original: bool) -> tuple[list[str], np.ndarray]:
        """Perturbed copies of each document (random tokens removed), and the source document of each."""
        texts, sources = [], []
        for index, doc in enumerate(docs):  # each document has its own token count
            keep = sample_removals(doc.n_tokens, copies, rng)
            if include_original:
                keep = np.concatenate([np.ones((1, doc.n_tokens), dtype=bool), keep])
            texts.extend(rebuild(doc, keep, self.mask_token))
            sources.extend([index] * keep.shape[0])
        return texts, np.asarray(sources, dtype=np.int64)

    def _train(self, tokenized: list[TokenizedDocument]) -> dict[str, Any]:
        rng = np.random.default_rng(self.seed)
        n = len(tokenized)
        n_held = int(round(self.held_out_fraction * n)) if n >= 5 else 0
        if self.held_out_fraction > 0 and n >= 5:
            n_held = max(n_held, 1)
        order = rng.permutation(n)
        held_index, train_index = order[:n_held], order[n_held:]
        train_docs = [tokenized[i] for i in train_index]
        texts = [d.text for d in train_docs]
        if self.augmentations:
            extra, _ = self._perturbed(train_docs, self.augmentations, rng, include_original=False)
            texts = texts + extra
        encoded, kept = self._encode_texts(texts)
        texts = [texts[i] for i in kept]
        held_texts = [tokenized[i].text for i in held_index]
        teacher = self._teacher.predict(texts + held_texts)
        train_teacher, held_teacher = teacher[: len(texts)], teacher[len(texts) :]
        optimizer = self._torch.optim.Adam(
            [p for p in self._network.parameters() if p.requires_grad], lr=self.learning_rate
        )
        for _ in range(self.epochs):  # one pass per epoch; the steps inside are mini-batches
            permutation = rng.permutation(len(encoded))
            batches = [permutation[s : s + self.batch_size] for s in range(0, len(encoded), self.batch_size)]
            self._nets.train_steps(self._network, optimizer, encoded, train_teacher, batches, self.device)
        _, train_kl, train_agree = self._nets.evaluate(self._network, encoded, train_teacher, self.device, 256)
        fidelity = {
            "train_documents": len(train_docs),
            "augmented_documents": len(encoded) - len(train_docs),
            "train_agreement": float(train_agree.mean()),
            "train_kl_divergence": float(train_kl.mean()),
            "held_out_documents": int(n_held),
        }
        if n_held:
            held_encoded = [self._encode(tokenized[i]) for i in held_index]
            _, held_kl, held_agree = self._nets.evaluate(self._network, held_encoded, held_teacher, self.device, 256)
            fidelity.update(agreement=float(held_agree.mean()), kl_divergence=float(held_kl.mean()))
        else:
            fidelity.update(agreement=fidelity["train_agreement"], kl_divergence=fidelity["train_kl_divergence"])
            self._notes.append(
                "fidelity measured on the training documents: the corpus is too small (or held_out_fraction=0) "
                "to hold documents out"
            )
        fidelity["measure"] = (
            "agreement: share of documents where the surrogate's and the teacher's predicted classes agree; "
            "kl_divergence: mean KL(teacher || surrogate) of the class probabilities"
        )
        return fidelity

    # ------------------------------------------------------------------ explanations
    def explain_local(self, documents: str | Sequence[str]) -> Explanation | list[Explanation]:
        """Attention importances of each token of one document or several.

        Parameters
        ----------
        documents : str or sequence of str

        Returns
        -------
        Explanation or list of Explanation
            Per document: features = its tokens, ``local_values`` of shape (1, n_tokens, n_classes) (the
            predicted class's column holds the attention importances, the others 0), ``expected_values`` the
            teacher's output on the fully masked document, ``meta["tokens"]`` the spans,
            ``meta["fidelity"]`` the surrogate's fidelity and ``meta["fine_tuning"]`` its fit on the
            document's perturbed copies.
        """
        texts, single = read_documents(documents)
        tokenized = tokenize_all(texts, pattern=self.token_pattern)
        with self._torch_context():
            explanations = self._explain(tokenized)
        return explanations[0] if single else explanations

    def explain_global(self, corpus: Sequence[str], *, top_k: int | None = None,
                       case_sensitive: bool = False) -> Explanation:
        """Global word importances: the local attention importances aggregated over a corpus.

        Parameters
        ----------
        corpus : sequence of str
        top_k : int, optional
            Keep the most important words only.
        case_sensitive : bool, default False

        Returns
        -------
        Explanation
            Global-only, features = words (see :func:`pellucid.text.explainer.global_word_explanation`).
        """
        texts, _ = read_documents(corpus, name="corpus")
        locals_ = self.explain_local(texts)
        return global_word_explanation(
            locals_, explainer=type(self).__name__, case_sensitive=case_sensitive, top_k=top_k,
            notes=list(self._notes) + [_VALUES_MEANING], model_type=model_type_name(self.model),
        )

    def _explain(self, tokenized: list[TokenizedDocument]) -> list[Explanation]:
        masked = [rebuild(d, np.zeros((1, d.n_tokens), dtype=bool), self.mask_token)[0] for d in tokenized]
        rng = np.random.default_rng((self.seed, 1))
        if self.fine_tune_steps:
            copies, sources = self._perturbed(tokenized, self.fine_tune_samples - 1, rng, include_original=True)
        else:
            copies, sources = [], np.zeros(0, dtype=np.int64)
        # One teacher pass for every document, its masked copy and its perturbed copies.
        outputs = self._teacher.predict([d.text for d in tokenized] + masked + copies)
        n = len(tokenized)
        teacher, expected, copy_teacher = outputs[:n], outputs[n : 2 * n], outputs[2 * n :]
        explanations = []
        for index, doc in enumerate(tokenized):  # each document fine-tunes its own copy of the network
            network, fine_tuning = self._network, None
            if self.fine_tune_steps:
                chosen = np.flatnonzero(sources == index)
                network, fine_tuning = self._fine_tune([copies[i] for i in chosen], copy_teacher[chosen])
            importances, sentence_attention, surrogate = self._nets.token_attention(
                network, [self._encode(doc)], self.device
            )
            explanations.append(self._build(doc, importances[0], sentence_attention[0], surrogate[0],
                                            teacher[index], expected[index], fine_tuning))
        return explanations

    def _fine_tune(self, texts: list[str], teacher: np.ndarray) -> tuple[Any, dict[str, Any]]:
        network = copy.deepcopy(self._network)
        encoded, kept = self._encode_texts(texts)
        teacher = teacher[kept]
        _, kl_before, agree_before = self._nets.evaluate(network, encoded, teacher, self.device, 256)
        optimizer = self._torch.optim.Adam(
            [p for p in network.parameters() if p.requires_grad], lr=self.fine_tune_learning_rate
        )
        everything = np.arange(len(encoded))
        self._nets.train_steps(network, optimizer, encoded, teacher, [everything] * self.fine_tune_steps,
                               self.device)
        _, kl_after, agree_after = self._nets.evaluate(network, encoded, teacher, self.device, 256)
        return network, {
            "steps": self.fine_tune_steps,
            "perturbed_copies": len(encoded),
            "learning_rate": self.fine_tune_learning_rate,
            "kl_before": float(kl_before.mean()),
            "kl_after": float(kl_after.mean()),
            "agreement_before": float(agree_before.mean()),
            "agreement_after": float(agree_after.mean()),
            "measured_on": "the perturbed copies used for fine-tuning",
        }

    def _build(self, doc: TokenizedDocument, importances: np.ndarray, sentence_attention: np.ndarray,
               surrogate: np.ndarray, teacher: np.ndarray, expected: np.ndarray,
               fine_tuning: dict[str, Any] | None) -> Explanation:
        predicted = int(np.argmax(teacher))
        values = np.zeros((1, doc.n_tokens, len(self.classes)))
        values[0, :, predicted] = importances
        eval_data = np.empty((1, doc.n_tokens), dtype=object)
        eval_data[0, :] = doc.tokens
        notes = list(self._notes)
        if int(np.argmax(surrogate)) != predicted:
            notes.append(
                f"the surrogate predicts class {self.classes[int(np.argmax(surrogate))]!r} for this document but "
                f"the teacher predicts {self.classes[predicted]!r}: the attention explains the surrogate"
            )
        meta = {
            "method": "han_attention",
            "explainer": type(self).__name__,
            "model_type": model_type_name(self.model),
            "output_space": self._teacher.output_space,
            "document": doc.text,
            "tokens": doc.spans(),
            "values": _VALUES_MEANING,
            "additive": False,
            "predicted_class_index": predicted,
            "surrogate_probabilities": surrogate,
            "sentence_attention": sentence_attention,
            "expected_values_meaning": "the teacher's output on the fully masked document",
            "fidelity": self.fidelity_,
            "fine_tuning": fine_tuning,
            "parameters": self._parameters(),
            "notes": notes,
        }
        return Explanation(
            method="han_attention",
            task=CLASSIFICATION,
            features=doc.tokens,
            classes=self.classes,
            local_values=values,
            expected_values=expected,
            eval_data=eval_data,
            model_output=teacher[None],
            meta=meta,
        )

    def _parameters(self) -> dict[str, Any]:
        return {
            "embedding_dim": self.embedding_dim,
            "hidden_size": self.hidden_size,
            "epochs": self.epochs,
            "fine_tune_steps": self.fine_tune_steps,
            "fine_tune_samples": self.fine_tune_samples,
            "learning_rate": self.learning_rate,
            "fine_tune_learning_rate": self.fine_tune_learning_rate,
            "max_vocabulary": self.max_vocabulary,
            "vocabulary_size": len(self.vocabulary_),
            "embeddings_path": self.embeddings_path,
            "freeze_embeddings": self.freeze_embeddings,
            "augmentations": self.augmentations,
            "held_out_fraction": self.held_out_fraction,
            "batch_size": self.batch_size,
            "mask_token": self.mask_token,
            "token_pattern": self.token_pattern.pattern,
            "device": str(self.device),
            "num_threads": self.num_threads,
            "seed": self.seed,
        }


def _build_vocabulary(tokenized: Sequence[TokenizedDocument], max_vocabulary: int) -> tuple[list[str], dict[str, int]]:
    counts = Counter(t.lower() for doc in tokenized for t in doc.tokens)
    # Most frequent first; ties alphabetical, so the vocabulary does not depend on document order.
    words = sorted(counts, key=lambda w: (-counts[w], w))[:max_vocabulary]
    return words, {w: i + 2 for i, w in enumerate(words)}


def read_glove(path: str | Path, words: Sequence[str]) -> tuple[dict[str, np.ndarray], int]:
    """Read the vectors of ``words`` from a GloVe-format text file.

    Parameters
    ----------
    path : str or Path
        UTF-8 text, one ``word v1 v2 ... vd`` per line (spaces between fields).
    words : sequence of str
        Words whose vectors are wanted (matched lower-cased against the file's words).

    Returns
    -------
    (dict of str to ndarray of shape (d,), int)
        The vectors found and the dimension ``d``.
    """
    wanted = set(words)
    found: dict[str, np.ndarray] = {}
    dimension = None
    try:
        handle = open(path, encoding="utf-8")
    except OSError as exc:
        raise ArgumentError(f"embeddings_path must be a readable GloVe text file; {path!s}: {exc}") from exc
    with handle:
        try:
            for number, line in enumerate(handle, start=1):  # the file is text: read line by line
                fields = line.rstrip("\n").rstrip().split(" ")
                if len(fields) < 2:
                    if line.strip():
                        raise DataValueError(
                            f"line {number} of {path} must be 'word v1 v2 ...'; found {line[:60]!r}"
                        )
                    continue
                if dimension is None:
                    dimension = len(fields) - 1
                if len(fields) - 1 != dimension:
                    raise DataValueError(
                        f"every vector in {path} must have {dimension} values (like the first line); line {number} "
                        f"has {len(fields) - 1}"
                    )
                word = fields[0].lower()
                if word in wanted and word not in found:
                    try:
                        found[word] = np.array(fields[1:], dtype=np.float64)
                    except ValueError as exc:
                        raise DataValueError(
                            f"line {number} of {path} must hold numbers after the word; {exc}"
                        ) from exc
        except UnicodeDecodeError as exc:
            raise DataValueError(f"{path} must be UTF-8 text (a GloVe .txt file): {exc}") from exc
    if dimension is None:
        raise DataValueError(f"{path} holds no vectors; expected lines 'word v1 v2 ...'")
    return found, dimension


def _check_int(name: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ArgumentError(f"{name} must be an integer >= {minimum}; found {value!r}")
