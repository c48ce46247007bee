"""TextExplainer against independent oracles: exact Shapley values by enumeration, sklearn's weighted ridge,
the lime package, and the planted words of a synthetic corpus."""

from __future__ import annotations

import math

import numpy as np
import pytest
from sklearn.feature_extraction.text import CountVectorizer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.pipeline import make_pipeline

from pellucid.errors import (
    ArgumentError,
    DataValueError,
    EmptyDataError,
    ModelInterfaceError,
    UnsupportedInputError,
)
from pellucid.explanation import Explanation
from pellucid.testing.text import FILLER_WORDS, NEGATIVE_WORDS, POSITIVE_WORDS, planted_word_model
from pellucid.text._perturb import sample_removals
from pellucid.text.explainer import TextExplainer
from pellucid.text.tokenize import tokenize

from .conftest import PLANTED

SHORT = "An excellent plot with a dreadful ending!"  # 7 tokens


def exact_shapley(model, tokens: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Shapley values of each token by enumerating every coalition: (n_tokens, n_outputs), v(empty)."""
    m = len(tokens)
    subsets = np.arange(2**m)
    members = (subsets[:, None] >> np.arange(m)) & 1
    texts = [" ".join(t for t, keep in zip(tokens, row) if keep) for row in members]
    value = np.asarray(model(texts))
    sizes = members.sum(axis=1)
    weight = np.array([math.factorial(s) * math.factorial(m - s - 1) / math.factorial(m) for s in range(m)])
    phi = np.zeros((m, value.shape[1]))
    for i in range(m):  # test oracle: plain textbook formula
        without = subsets[members[:, i] == 0]
        phi[i] = (weight[sizes[without]][:, None] * (value[without | (1 << i)] - value[without])).sum(axis=0)
    return phi, value[0]


def top_by_magnitude(explanation: Explanation, output: int, k: int) -> set[str]:
    values = np.abs(explanation.local_values[0, :, output])
    return {explanation.features[i].lower() for i in np.argsort(-values, kind="stable")[:k]}


# ---------------------------------------------------------------------- Kernel SHAP
@pytest.mark.parametrize("model_kind", ["pipeline", "function"])
def test_kernel_values_are_exact_shapley_values(teacher, model_kind):
    model = teacher.predict_proba if model_kind == "pipeline" else planted_word_model
    explainer = TextExplainer(teacher if model_kind == "pipeline" else planted_word_model)
    explanation = explainer.explain_local(SHORT)
    tokens = tokenize(SHORT).tokens
    expected_phi, empty = exact_shapley(model, tokens)
    assert explanation.method == "text_kernel_shap" and explanation.meta["exact"] is True
    assert explanation.features == tokens
    np.testing.assert_allclose(explanation.local_values[0], expected_phi, atol=1e-10)
    np.testing.assert_allclose(explanation.expected_values_array, empty, atol=1e-12)
    # Additivity: sum of values + expected value = the model's output on the document.
    output = np.asarray(model([SHORT]))[0]
    np.testing.assert_allclose(explanation.local_values[0].sum(axis=0) + explanation.expected_values_array, output,
                               atol=1e-10)
    np.testing.assert_allclose(explanation.model_output[0], output)


def test_sampled_kernel_is_additive_and_close(teacher):
    document = " ".join(["excellent plot", "with the", "terrible music", "and a", "wonderful ending"] * 3)  # 30 tokens
    explanation = TextExplainer(teacher, nsamples=1500, seed=3).explain_local(document)
    assert explanation.method == "text_kernel_shap" and explanation.meta["exact"] is False
    output = teacher.predict_proba([document])[0]
    np.testing.assert_allclose(explanation.local_values[0].sum(axis=0) + explanation.expected_values_array, output,
                               atol=1e-9)
    assert explanation.standard_errors is not None and explanation.standard_errors.shape == (1, 30, 2)
    # A linear model over counts after a monotone link: each planted word moves class 1 the most.
    assert top_by_magnitude(explanation, 1, 9) == {"excellent", "terrible", "wonderful"}


def test_planted_words_rank_on_top(teacher, fresh_documents):
    explainer = TextExplainer(teacher)
    function_explainer = TextExplainer(planted_word_model, model_task="classification")
    with_planted = [d for d in fresh_documents if PLANTED & {w.lower() for w in tokenize(d).tokens}][:12]
    assert len(with_planted) >= 8
    for current in (explainer, function_explainer):
        for explanation in current.explain_local(with_planted):
            occurrences = [w.lower() for w in explanation.features if w.lower() in PLANTED]
            planted = set(occurrences)
            assert top_by_magnitude(explanation, 1, len(occurrences)) == planted, explanation.meta["document"]
            # Signs: positive words raise class 1 the most, negative words lower it the most.
            ranked = [w.lower() for w in explanation.get_ranked_local_names()[1][0]]
            if planted & set(POSITIVE_WORDS):
                assert ranked[0] in POSITIVE_WORDS
            if planted & set(NEGATIVE_WORDS):
                assert ranked[-1] in NEGATIVE_WORDS


def test_regression_model_is_additive():
    documents = ["good good film", "bad film", "good plot", "bad bad plot", "a plot", "good bad"]
    scores = [2.0, -1.0, 1.0, -2.0, 0.0, 0.0]
    model = make_pipeline(CountVectorizer(), Ridge(alpha=0.1)).fit(documents, scores)
    explanation = TextExplainer(model).explain_local("a good but bad film")
    assert explanation.task == "regression" and explanation.local_values.shape == (1, 5, 1)
    np.testing.assert_allclose(explanation.local_values[0, :, 0].sum() + explanation.expected_values_array[0],
                               model.predict(["a good but bad film"])[0], atol=1e-10)


# ---------------------------------------------------------------------- LIME
def test_lime_equals_sklearn_weighted_ridge_on_the_same_samples(teacher):
    document = "Wonderful story but an awful dreadful script and a superb cast in the end"
    tokens = tokenize(document).tokens
    n_samples, width = 400, 0.25
    explanation = TextExplainer(teacher, method="lime", nsamples=n_samples, seed=5).explain_local(document)
    assert explanation.method == "text_lime" and explanation.meta["additive"] is False
    # The same coalitions, rebuilt, weighted and fitted independently here.
    rng = np.random.default_rng((5, len(tokens)))
    keep = np.vstack([np.ones(len(tokens), bool), sample_removals(len(tokens), n_samples - 1, rng)])
    outputs = teacher.predict_proba([" ".join(t for t, k in zip(tokens, row) if k) for row in keep])
    removed = 1 - keep.mean(axis=1)
    weights = np.exp(-(removed**2) / (2 * width**2))
    for output in range(2):
        ridge = Ridge(alpha=1.0).fit(keep.astype(float), outputs[:, output], sample_weight=weights)
        np.testing.assert_allclose(explanation.local_values[0, :, output], ridge.coef_, atol=1e-8)
        np.testing.assert_allclose(explanation.meta["intercept"][output], ridge.intercept_, atol=1e-8)
    np.testing.assert_allclose(explanation.expected_values_array, teacher.predict_proba([_masked(document)])[0])


def _masked(document: str) -> str:
    """The document with every token removed: only the text between tokens remains."""
    return "".join(tokenize(document).gaps())


def test_lime_agrees_with_the_lime_package(teacher):
    lime_text = pytest.importorskip("lime.lime_text")
    document = "Director excellent mother day city dreadful while. Night wonderful scene camera dialogue."

    def same_kernel(distance, kernel_width):  # lime's distance is 100 x cosine distance of the masks
        removed = 1 - (1 - distance / 100) ** 2
        return np.exp(-(removed**2) / (2 * 0.25**2))

    reference = lime_text.LimeTextExplainer(
        kernel=same_kernel, bow=False, mask_string="", split_expression=r"\W+", random_state=1,
        feature_selection="none",
    ).explain_instance(document, teacher.predict_proba, num_features=50, num_samples=5000, labels=(1,))
    weights = dict(reference.as_map()[1])
    theirs = np.array([weights[i] for i in range(len(weights))])
    ours = TextExplainer(teacher, method="lime", nsamples=5000).explain_local(document).local_values[0, :, 1]
    # Both are random estimates from the same sampling distribution and kernel: close, not equal.
    assert np.corrcoef(theirs, ours)[0, 1] > 0.98
    assert np.abs(theirs - ours).max() < 0.1 * np.abs(theirs).max()


# ---------------------------------------------------------------------- choice, batching, global
def test_auto_picks_kernel_for_short_and_lime_for_long_documents():
    explainer = TextExplainer(planted_word_model, model_task="classification")
    filler = np.random.default_rng(0).choice(FILLER_WORDS, 200).tolist()
    long_document = " ".join(filler[:120] + ["excellent"] + filler[120:])
    short, long_ = explainer.explain_local(["a superb film", long_document])
    assert short.meta["method_choice"]["method"] == "kernel" and "exact" in short.meta["method_choice"]["reason"]
    assert long_.meta["method_choice"]["method"] == "lime" and "per token" in long_.meta["method_choice"]["reason"]
    assert long_.get_ranked_local_names()[1][0][0] == "excellent"
    assert explainer.choose_method(100)[0] == "kernel" and explainer.choose_method(120)[0] == "lime"


def test_batch_gives_the_same_values_as_one_by_one(teacher, fresh_documents):
    explainer = TextExplainer(teacher, batch_size=37)
    together = explainer.explain_local(fresh_documents[:6])
    assert isinstance(together, list) and len(together) == 6
    for document, explanation in zip(fresh_documents[:6], together):
        alone = explainer.explain_local(document)
        np.testing.assert_allclose(alone.local_values, explanation.local_values, atol=1e-12)
        assert explanation.meta["document"] == document
        for token, start, end in explanation.meta["tokens"]:
            assert document[start:end] == token


def test_mask_token_replaces_words(teacher):
    seen = []

    def recording_model(documents):
        seen.extend(documents)
        return teacher.predict_proba(documents)

    explanation = TextExplainer(recording_model, mask_token="[MASK]", model_task="classification").explain_local(
        "superb music, awful plot"
    )
    assert "[MASK] [MASK], [MASK] [MASK]" in seen and "superb [MASK], awful [MASK]" in seen
    np.testing.assert_allclose(explanation.expected_values_array, teacher.predict_proba(["[MASK] [MASK], [MASK] [MASK]"])[0])


def test_global_explanation_aggregates_words(teacher, fresh_documents):
    explainer = TextExplainer(teacher)
    documents = fresh_documents[:15]
    globals_ = explainer.explain_global(documents)
    locals_ = explainer.explain_local(documents)
    assert globals_.local_values is None
    seen_planted = PLANTED & set(globals_.features)
    assert set(globals_.get_ranked_global_names(len(seen_planted))) == seen_planted
    # Oracle for one word: per document, the sum of its occurrences' values; then mean |.| over those documents.
    word = globals_.get_ranked_global_names(1)[0]
    per_document = [e.local_values[0, [f.lower() == word for f in e.features]].sum(axis=0)
                    for e in locals_ if word in {f.lower() for f in e.features}]
    np.testing.assert_allclose(globals_.global_values[0], np.abs(per_document).mean(axis=0), atol=1e-12)
    assert globals_.meta["document_frequency"][0] == len(per_document)
    assert "absolute" in globals_.meta["aggregation"]
    top = explainer.explain_global(documents, top_k=4)
    assert top.features == globals_.features[:4]


def test_explanation_round_trips_through_json(teacher):
    explanation = TextExplainer(teacher).explain_local(SHORT)
    again = Explanation.from_json(explanation.to_json())
    assert again.equals(explanation) and again.meta["tokens"] == explanation.meta["tokens"]


# ---------------------------------------------------------------------- bad input
def test_bad_documents_get_clear_errors(teacher):
    explainer = TextExplainer(teacher)
    with pytest.raises(DataValueError, match="at least one word token"):
        explainer.explain_local("")
    with pytest.raises(DataValueError, match="document 1"):
        explainer.explain_local(["fine", "?!"])
    with pytest.raises(UnsupportedInputError, match="item 1"):
        explainer.explain_local(["fine", 7])
    with pytest.raises(UnsupportedInputError):
        explainer.explain_local(3.5)
    with pytest.raises(EmptyDataError):
        explainer.explain_global([])


def test_models_that_do_not_take_text_are_refused():
    numeric = LogisticRegression().fit(np.array([[0.0], [1.0], [2.0], [3.0]]), [0, 0, 1, 1])
    with pytest.raises(ModelInterfaceError, match="list of strings"):
        TextExplainer(numeric)

    def broken(documents):
        raise RuntimeError("cannot read")

    with pytest.raises(ModelInterfaceError, match="cannot read"):
        TextExplainer(broken)
    with pytest.raises(ModelInterfaceError):
        TextExplainer(lambda documents: np.ones((len(documents) + 1, 2)) / 2, model_task="classification")


def test_bad_arguments():
    for options in ({"method": "shap"}, {"nsamples": 1}, {"nsamples": "many"}, {"seed": -1},
                    {"mask_token": None}, {"kernel_width": 0}, {"batch_size": 0}, {"model_task": "ranking"}):
        with pytest.raises(ArgumentError):
            TextExplainer(planted_word_model, **options)
