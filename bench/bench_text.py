"""Benchmark: TextExplainer and HANExplainer on the synthetic planted-word corpus, beside shap and lime.

The teacher is the tests' LogisticRegression over a CountVectorizer, trained on 300 synthetic documents
(``pellucid.testing.text``); ``--documents`` fresh documents are explained. Printed:

* TextExplainer, Kernel SHAP mode (``method="auto"``: exact for short documents, sampled above 11 tokens):
  seconds per document, beside shap's KernelExplainer on the same game (binary token masks rebuilt into text,
  the same budget) and the ratio;
* TextExplainer, LIME mode: seconds per document beside lime's LimeTextExplainer (``bow=False``, the same
  kernel and sample count) and the ratio, plus the correlation of their weights (both are random estimates);
* HANExplainer: training seconds (teacher labelling + training) and seconds per explained document
  (fine-tuning + attention), its fidelity to the teacher;
* agreement of TextExplainer (Kernel SHAP, |value| for the predicted class) with the HAN's attention: mean
  top-5 overlap and mean Spearman rank correlation, and the share of documents with planted words whose top
  word is a planted word, for each.

Run: ``PYTHONPATH=src python bench/bench_text.py [--documents 30] [--threads 1]``
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np
from scipy.stats import spearmanr

from pellucid.testing.text import NEGATIVE_WORDS, POSITIVE_WORDS, make_corpus, train_teacher
from pellucid.text.explainer import TextExplainer
from pellucid.text.tokenize import rebuild, tokenize

PLANTED = frozenset(POSITIVE_WORDS + NEGATIVE_WORDS)


def timed(function, *args, **kwargs):
    start = time.perf_counter()
    result = function(*args, **kwargs)
    return result, time.perf_counter() - start


def shap_kernel(teacher, documents, budgets):
    import shap

    values = []
    for document, budget in zip(documents, budgets):
        doc = tokenize(document)

        def game(masks, doc=doc):
            return teacher.predict_proba(rebuild(doc, masks.astype(bool), ""))

        explainer = shap.KernelExplainer(game, np.zeros((1, doc.n_tokens)))
        result = explainer.shap_values(np.ones((1, doc.n_tokens)), nsamples=budget, silent=True)
        values.append(np.asarray(result)[0])  # (n_tokens, n_classes)
    return values


def lime_text(teacher, documents, samples, width):
    from lime.lime_text import LimeTextExplainer

    def kernel(distance, kernel_width):  # lime's distance is 100 x cosine distance of the masks
        removed = 1 - (1 - distance / 100) ** 2
        return np.exp(-(removed**2) / (2 * width**2))

    explainer = LimeTextExplainer(kernel=kernel, bow=False, mask_string="", split_expression=r"\W+",
                                  random_state=0, feature_selection="none")
    values = []
    for document in documents:
        result = explainer.explain_instance(document, teacher.predict_proba, num_features=10_000,
                                            num_samples=samples, labels=(1,))
        weights = dict(result.as_map()[1])
        values.append(np.array([weights[i] for i in range(len(weights))]))
    return values


def top_overlap(a: np.ndarray, b: np.ndarray, k: int = 5) -> float:
    k = min(k, a.size)
    return len(set(np.argsort(-a, kind="stable")[:k]) & set(np.argsort(-b, kind="stable")[:k])) / k


def planted_on_top(explanations, output_of) -> float:
    hits, total = 0, 0
    for explanation in explanations:
        words = [w.lower() for w in explanation.features]
        if not PLANTED & set(words):
            continue
        values = np.abs(explanation.local_values[0, :, output_of(explanation)])
        total += 1
        hits += words[int(np.argmax(values))] in PLANTED
    return hits / max(total, 1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--documents", type=int, default=30)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads for the HAN")
    parser.add_argument("--lime-samples", type=int, default=2000)
    args = parser.parse_args()
    warnings.filterwarnings("ignore")

    corpus, labels = make_corpus(300, seed=0)
    teacher = train_teacher(corpus, labels)
    documents = make_corpus(args.documents, seed=7)[0]
    n_tokens = np.array([tokenize(d).n_tokens for d in documents])
    print(f"{len(documents)} documents, {n_tokens.min()}-{n_tokens.max()} tokens (mean {n_tokens.mean():.1f})")

    # ---------------------------------------------------------------- Kernel SHAP
    explainer = TextExplainer(teacher)
    kernel, seconds = timed(explainer.explain_local, documents)
    budgets = [min(explainer.budget(n), 2**n - 2) for n in n_tokens]
    exact = sum(e.meta["exact"] for e in kernel)
    try:
        shap_values, shap_seconds = timed(shap_kernel, teacher, documents, budgets)
        peer = f"shap KernelExplainer {shap_seconds / len(documents):.4f} s/doc, ratio shap/pellucid " \
               f"{shap_seconds / seconds:.1f}x"
    except ImportError:
        shap_values, peer = None, "shap not installed"
    print(f"TextExplainer kernel: {seconds / len(documents):.4f} s/doc ({exact} of {len(documents)} exact); {peer}")
    # Accuracy where the budget samples: against exact values by full enumeration (documents of <= 15 tokens).
    sampled = [i for i, e in enumerate(kernel) if not e.meta["exact"] and n_tokens[i] <= 15]
    if sampled:
        oracle = TextExplainer(teacher, nsamples=2**15)
        truth = [oracle.explain_local(documents[i]).local_values[0] for i in sampled]
        ours = np.mean([np.abs(kernel[i].local_values[0] - t).max() for i, t in zip(sampled, truth)])
        line = f"  sampled documents of 12-15 tokens ({len(sampled)}): mean max |error| vs exact: pellucid {ours:.2e}"
        if shap_values is not None:
            theirs = np.mean([np.abs(shap_values[i] - t).max() for i, t in zip(sampled, truth)])
            line += f", shap {theirs:.2e}"
        print(line)

    # ---------------------------------------------------------------- LIME
    lime_explainer = TextExplainer(teacher, method="lime", nsamples=args.lime_samples)
    lime_ours, lime_seconds = timed(lime_explainer.explain_local, documents)
    try:
        theirs, their_seconds = timed(lime_text, teacher, documents, args.lime_samples, lime_explainer.kernel_width)
        correlation = np.mean([np.corrcoef(e.local_values[0, :, 1], t)[0, 1] for e, t in zip(lime_ours, theirs)])
        peer = f"lime {their_seconds / len(documents):.4f} s/doc, ratio lime/pellucid " \
               f"{their_seconds / lime_seconds:.1f}x, mean weight correlation {correlation:.3f}"
    except ImportError:
        peer = "lime not installed"
    print(f"TextExplainer lime ({args.lime_samples} samples): {lime_seconds / len(documents):.4f} s/doc; {peer}")

    # ---------------------------------------------------------------- HAN
    import torch

    from pellucid.text.han import HANExplainer

    torch.set_num_threads(args.threads)
    han, train_seconds = timed(HANExplainer, teacher, corpus, seed=0)
    attention, explain_seconds = timed(han.explain_local, documents)
    fidelity = han.fidelity_
    print(f"HANExplainer: training {train_seconds:.2f} s (300 documents), {explain_seconds / len(documents):.4f} "
          f"s/doc to fine-tune and explain ({args.threads} torch thread(s)); held-out agreement "
          f"{fidelity['agreement']:.3f}, KL {fidelity['kl_divergence']:.4f}")

    # ---------------------------------------------------------------- agreement
    overlaps, correlations = [], []
    for shapley, han_explanation in zip(kernel, attention):
        predicted = han_explanation.meta["predicted_class_index"]
        a = np.abs(shapley.local_values[0, :, predicted])
        b = han_explanation.local_values[0, :, predicted]
        overlaps.append(top_overlap(a, b))
        if a.size > 2:
            correlations.append(spearmanr(a, b).statistic)
    print(f"TextExplainer vs HAN: mean top-5 overlap {np.mean(overlaps):.3f}, mean Spearman rank correlation "
          f"{np.nanmean(correlations):.3f}")
    print(f"top word is planted (documents with planted words): TextExplainer "
          f"{planted_on_top(kernel, lambda e: int(np.argmax(e.model_output[0]))):.2f}, HAN "
          f"{planted_on_top(attention, lambda e: e.meta['predicted_class_index']):.2f}")


if __name__ == "__main__":
    main()
