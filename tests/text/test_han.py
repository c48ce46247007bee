"""HANExplainer: fidelity to the teacher, planted words on top, attention bookkeeping, GloVe, errors."""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from sklearn.feature_extraction.text import CountVectorizer  # noqa: E402
from sklearn.linear_model import Ridge  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402

from pellucid.errors import (  # noqa: E402
    ArgumentError,
    DataValueError,
    ModelInterfaceError,
    UnsupportedInputError,
)
from pellucid.testing.text import planted_word_model  # noqa: E402
from pellucid.text.han import HANExplainer, read_glove  # noqa: E402
from pellucid.text.tokenize import tokenize  # noqa: E402

from .conftest import PLANTED  # noqa: E402

SMALL = {"embedding_dim": 16, "hidden_size": 16, "epochs": 2, "fine_tune_steps": 3, "fine_tune_samples": 16}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def han(teacher, corpus):
    return HANExplainer(teacher, corpus[0], embedding_dim=32, hidden_size=32, epochs=8, seed=0)


def with_planted_words(documents, n):
    return [d for d in documents if PLANTED & {w.lower() for w in tokenize(d).tokens}][:n]


def test_fidelity_is_reported_and_sane(han, teacher, fresh_documents):
    fidelity = han.fidelity_
    assert fidelity["held_out_documents"] == 60 and fidelity["train_documents"] == 240
    assert fidelity["agreement"] > 0.8 and fidelity["kl_divergence"] < 0.1
    # Independent check of the reported agreement on the held-out documents' definition: recompute on new ones.
    explanations = han.explain_local(fresh_documents[:10])
    agree = np.mean([np.argmax(e.meta["surrogate_probabilities"]) == np.argmax(e.model_output[0])
                     for e in explanations])
    assert agree >= 0.8
    assert explanations[0].meta["fidelity"] == fidelity


def test_planted_words_get_the_most_attention(han, fresh_documents):
    documents = with_planted_words(fresh_documents, 12)
    hits = 0
    for explanation in han.explain_local(documents):
        predicted = explanation.meta["predicted_class_index"]
        ranked = [w.lower() for w in explanation.get_ranked_local_names()[predicted][0]]
        hits += ranked[0] in PLANTED
    assert hits >= 0.8 * len(documents)


def test_attention_values_bookkeeping(han, teacher):
    document = "A quiet film. The wonderful score and the actor! An awful ending?"
    explanation = han.explain_local(document)
    predicted = int(np.argmax(teacher.predict_proba([document])[0]))
    assert explanation.meta["predicted_class_index"] == predicted
    values = explanation.local_values[0]
    assert values.shape == (12, 2) and np.all(values >= 0)
    np.testing.assert_allclose(values[:, predicted].sum(), 1.0, atol=1e-5)
    assert np.all(values[:, 1 - predicted] == 0)
    assert explanation.meta["additive"] is False and len(explanation.meta["sentence_attention"]) == 3
    np.testing.assert_allclose(sum(explanation.meta["sentence_attention"]), 1.0, atol=1e-5)
    for token, start, end in explanation.meta["tokens"]:
        assert document[start:end] == token
    np.testing.assert_allclose(explanation.model_output[0], teacher.predict_proba([document])[0])
    np.testing.assert_allclose(explanation.expected_values_array, teacher.predict_proba([" .  !  ?"])[0])
    tuning = explanation.meta["fine_tuning"]
    assert tuning["steps"] == 20 and tuning["kl_after"] <= tuning["kl_before"]


def test_fine_tuning_leaves_the_base_network_unchanged(han):
    before = {k: v.clone() for k, v in han._network.state_dict().items()}
    han.explain_local("An excellent film.")
    after = han._network.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)


def test_seeded_runs_are_reproducible(corpus):
    documents = corpus[0][:120]
    first = HANExplainer(planted_word_model, documents, seed=4, **SMALL).explain_local(documents[:3])
    second = HANExplainer(planted_word_model, documents, seed=4, **SMALL).explain_local(documents[:3])
    for a, b in zip(first, second):
        np.testing.assert_array_equal(a.local_values, b.local_values)
    other = HANExplainer(planted_word_model, documents, seed=5, **SMALL).explain_local(documents[:3])
    assert not np.array_equal(first[0].local_values, other[0].local_values)


def test_glove_embeddings_initialise_the_vocabulary(tmp_path, corpus):
    documents = corpus[0][:60]
    path = tmp_path / "tiny.glove.txt"
    rng = np.random.default_rng(0)
    vectors = {"excellent": rng.normal(size=8), "awful": rng.normal(size=8), "zzzunused": rng.normal(size=8)}
    path.write_text("".join(f"{w} {' '.join(f'{x:.6f}' for x in v)}\n" for w, v in vectors.items()), encoding="utf-8")
    explainer = HANExplainer(planted_word_model, documents, embeddings_path=path, freeze_embeddings=True,
                             hidden_size=8, epochs=1, fine_tune_steps=0)
    assert explainer.embedding_dim == 8
    weights = explainer._network.embedding.weight.detach().numpy()
    for word in ("excellent", "awful"):
        row = explainer._word_ids[word]
        np.testing.assert_allclose(weights[row], vectors[word], atol=1e-5)
    assert any("2 of" in note for note in explainer.explain_local(documents[0]).meta["notes"])
    with pytest.raises(ArgumentError, match="embedding_dim=16"):
        HANExplainer(planted_word_model, documents, embeddings_path=path, embedding_dim=16, epochs=0)
    bad = tmp_path / "bad.txt"
    bad.write_text("word 1.0 2.0\nother 1.0\n", encoding="utf-8")
    with pytest.raises(DataValueError, match="line 2"):
        read_glove(bad, ["word"])
    bad.write_text("word 1.0 abc\n", encoding="utf-8")
    with pytest.raises(DataValueError, match="numbers"):
        read_glove(bad, ["word"])
    with pytest.raises(ArgumentError, match="readable"):
        read_glove(tmp_path / "missing.txt", ["word"])


def test_without_fine_tuning_and_on_cpu_when_no_gpu(corpus):
    documents = corpus[0][:60]
    explainer = HANExplainer(planted_word_model, documents, use_gpu=True, **{**SMALL, "fine_tune_steps": 0})
    explanation = explainer.explain_local(documents[1])
    assert explanation.meta["fine_tuning"] is None
    if not torch.cuda.is_available():
        assert explainer.device.type == "cpu" and any("use_gpu" in n for n in explanation.meta["notes"])
    globals_ = explainer.explain_global(documents[:5], top_k=3)
    assert globals_.local_values is None and len(globals_.features) == 3


def test_bad_input(corpus):
    documents = corpus[0][:30]
    regression = make_pipeline(CountVectorizer(), Ridge()).fit(["good", "bad"], [1.0, 0.0])
    with pytest.raises(ModelInterfaceError, match="classifiers"):
        HANExplainer(regression, documents, epochs=0)
    with pytest.raises(ModelInterfaceError, match="list of strings"):
        HANExplainer(lambda x: np.asarray(x, dtype=float), documents, epochs=0)
    with pytest.raises(DataValueError):
        HANExplainer(planted_word_model, documents + [""], epochs=0)
    with pytest.raises(UnsupportedInputError):
        HANExplainer(planted_word_model, [1, 2], epochs=0)
    with pytest.raises(ArgumentError):
        HANExplainer(planted_word_model, documents, held_out_fraction=1.0)
    explainer = HANExplainer(planted_word_model, documents, **{**SMALL, "epochs": 0, "fine_tune_steps": 0})
    with pytest.raises(DataValueError):
        explainer.explain_local("...")
