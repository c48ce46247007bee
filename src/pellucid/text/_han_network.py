"""The hierarchical attention network (Yang et al. 2016) and its training loop, in PyTorch.

Architecture: word embeddings -> bidirectional GRU over the words of each sentence -> word attention
(``u = tanh(W h + b)``, weights ``softmax(u . u_w)``) pooling each sentence into a vector -> bidirectional GRU
over the sentences of the document -> sentence attention pooling the document into a vector -> a linear
classifier. Padding is handled by packed sequences and masked softmaxes, so a document's output does not
depend on what it is batched with.

Training minimises ``KL(teacher || surrogate)`` between the teacher's class probabilities (soft labels) and the
network's, with Adam and gradient-norm clipping.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from pellucid.errors import require

torch = require("torch", "text")
nn = torch.nn
functional = torch.nn.functional

__all__ = ["EncodedDocument", "HierarchicalAttentionNetwork", "Batch", "make_batch", "train_steps", "kl_and_agreement"]

PAD, UNKNOWN = 0, 1
# Gradient norm clipping keeps the GRUs stable with the small batches of fine-tuning.
_CLIP_NORM = 5.0


@dataclass
class EncodedDocument:
    """A document as vocabulary ids with the sentence of each token.

    Attributes
    ----------
    ids : ndarray of int64 of shape (n_tokens,)
    sentence_ids : ndarray of int64 of shape (n_tokens,)
        Contiguous sentence index of each token (0-based).
    """

    ids: np.ndarray
    sentence_ids: np.ndarray


@dataclass
class Batch:
    """Padded tensors of a batch of documents.

    Attributes
    ----------
    word_ids : LongTensor of shape (n_sentences, max_words)
        Every sentence of every document, padded with 0.
    word_counts : LongTensor of shape (n_sentences,)
    sentence_index : LongTensor of shape (n_documents, max_sentences)
        Row of ``word_ids`` of each document's sentences, -1 for padding.
    sentence_counts : LongTensor of shape (n_documents,)
    token_rows, token_columns : ndarray of int64 of shape (n_tokens_total,)
        Where each token (documents concatenated in order) sits in ``word_ids``.
    """

    word_ids: torch.Tensor
    word_counts: torch.Tensor
    sentence_index: torch.Tensor
    sentence_counts: torch.Tensor
    token_rows: np.ndarray
    token_columns: np.ndarray


def make_batch(documents: Sequence[EncodedDocument], device: torch.device) -> Batch:
    """Pad documents into a :class:`Batch` (vectorised over tokens).

    Parameters
    ----------
    documents : sequence of EncodedDocument, each with at least one token
    device : torch.device

    Returns
    -------
    Batch
    """
    n_tokens = np.array([d.ids.size for d in documents], dtype=np.int64)
    n_sentences = np.array([int(d.sentence_ids[-1]) + 1 for d in documents], dtype=np.int64)
    sentence_offsets = np.concatenate([[0], np.cumsum(n_sentences)[:-1]])
    ids = np.concatenate([d.ids for d in documents])
    rows = np.concatenate([d.sentence_ids for d in documents]) + np.repeat(sentence_offsets, n_tokens)
    word_counts = np.bincount(rows, minlength=int(n_sentences.sum()))
    sentence_starts = np.concatenate([[0], np.cumsum(word_counts)[:-1]])
    columns = np.arange(ids.size) - sentence_starts[rows]
    word_ids = np.zeros((len(word_counts), int(word_counts.max())), dtype=np.int64)
    word_ids[rows, columns] = ids
    positions = np.arange(int(n_sentences.max()))
    sentence_index = np.where(
        positions[None, :] < n_sentences[:, None], sentence_offsets[:, None] + positions[None, :], -1
    )
    return Batch(
        word_ids=torch.as_tensor(word_ids, device=device),
        word_counts=torch.as_tensor(word_counts),
        sentence_index=torch.as_tensor(sentence_index, device=device),
        sentence_counts=torch.as_tensor(n_sentences),
        token_rows=rows,
        token_columns=columns,
    )


class _Attention(nn.Module):
    """Additive attention with a learned context vector, softmax over the unmasked positions."""

    def __init__(self, size: int) -> None:
        super().__init__()
        self.project = nn.Linear(size, size)
        self.context = nn.Linear(size, 1, bias=False)

    def forward(self, states: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        scores = self.context(torch.tanh(self.project(states))).squeeze(-1)
        weights = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=1)
        return torch.bmm(weights.unsqueeze(1), states).squeeze(1), weights


def _encode(gru: nn.GRU, inputs: torch.Tensor, lengths: torch.Tensor) -> torch.Tensor:
    packed = nn.utils.rnn.pack_padded_sequence(inputs, lengths.cpu(), batch_first=True, enforce_sorted=False)
    outputs, _ = gru(packed)
    return nn.utils.rnn.pad_packed_sequence(outputs, batch_first=True, total_length=inputs.shape[1])[0]


class HierarchicalAttentionNetwork(nn.Module):
    """Word encoder + word attention, sentence encoder + sentence attention, linear classifier.

    Parameters
    ----------
    vocabulary_size : int
        Rows of the embedding (padding and unknown ids included).
    embedding_dim : int
    hidden_size : int
        GRU hidden size per direction (states are ``2 * hidden_size`` wide).
    n_classes : int
    """

    def __init__(self, vocabulary_size: int, embedding_dim: int, hidden_size: int, n_classes: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocabulary_size, embedding_dim, padding_idx=PAD)
        self.word_encoder = nn.GRU(embedding_dim, hidden_size, batch_first=True, bidirectional=True)
        self.word_attention = _Attention(2 * hidden_size)
        self.sentence_encoder = nn.GRU(2 * hidden_size, hidden_size, batch_first=True, bidirectional=True)
        self.sentence_attention = _Attention(2 * hidden_size)
        self.classifier = nn.Linear(2 * hidden_size, n_classes)

    def forward(self, batch: Batch) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Logits and attention weights.

        Returns
        -------
        (Tensor, Tensor, Tensor)
            Logits (n_documents, n_classes); word attention (n_sentences, max_words); sentence attention
            (n_documents, max_sentences).
        """
        words = batch.word_ids
        word_mask = torch.arange(words.shape[1], device=words.device)[None, :] < batch.word_counts.to(words.device)[:, None]
        word_states = _encode(self.word_encoder, self.embedding(words), batch.word_counts)
        sentence_vectors, word_weights = self.word_attention(word_states, word_mask)
        sentence_mask = batch.sentence_index >= 0
        sentences = sentence_vectors[batch.sentence_index.clamp(min=0)] * sentence_mask.unsqueeze(-1)
        sentence_states = _encode(self.sentence_encoder, sentences, batch.sentence_counts)
        document_vectors, sentence_weights = self.sentence_attention(sentence_states, sentence_mask)
        return self.classifier(document_vectors), word_weights, sentence_weights


def kl_and_agreement(logits: torch.Tensor, teacher: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-document ``KL(teacher || softmax(logits))`` and whether the argmaxes agree.

    Parameters
    ----------
    logits : Tensor of shape (n_documents, n_classes)
    teacher : Tensor of shape (n_documents, n_classes)
        The teacher's probabilities.

    Returns
    -------
    (Tensor, Tensor)
        KL divergences (n_documents,) and agreement as floats (n_documents,).
    """
    log_q = torch.log_softmax(logits, dim=1)
    kl = functional.kl_div(log_q, teacher, reduction="none").sum(dim=1)
    agree = (logits.argmax(dim=1) == teacher.argmax(dim=1)).float()
    return kl, agree


def train_steps(
    network: HierarchicalAttentionNetwork,
    optimizer: torch.optim.Optimizer,
    documents: Sequence[EncodedDocument],
    teacher: np.ndarray,
    batches: Sequence[np.ndarray],
    device: torch.device,
) -> float:
    """Run one optimisation step per batch of document indices; returns the mean training KL.

    Parameters
    ----------
    network : HierarchicalAttentionNetwork
    optimizer : torch Optimizer over the network's parameters
    documents : sequence of EncodedDocument
    teacher : ndarray of shape (n_documents, n_classes)
        Teacher probabilities (soft labels).
    batches : sequence of ndarray of int
        Document indices of each step.
    device : torch.device

    Returns
    -------
    float
    """
    network.train()
    targets = torch.as_tensor(teacher, dtype=torch.float32, device=device)
    total, count = 0.0, 0
    for indices in batches:  # one optimiser step per mini-batch: the loop is over steps, not rows
        logits, _, _ = network(make_batch([documents[i] for i in indices], device))
        kl, _ = kl_and_agreement(logits, targets[torch.as_tensor(indices, device=device)])
        loss = kl.mean()
        optimizer.zero_grad()
        loss.backward()
        nn.utils.clip_grad_norm_(network.parameters(), _CLIP_NORM)
        optimizer.step()
        total += float(loss.detach()) * len(indices)
        count += len(indices)
    return total / max(count, 1)


def evaluate(
    network: HierarchicalAttentionNetwork,
    documents: Sequence[EncodedDocument],
    teacher: np.ndarray,
    device: torch.device,
    batch_size: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Surrogate probabilities, KL to the teacher and agreement, per document.

    Returns
    -------
    (ndarray of shape (n_documents, n_classes), ndarray of shape (n_documents,), ndarray of shape (n_documents,))
    """
    network.eval()
    probabilities, kls, agreements = [], [], []
    targets = torch.as_tensor(teacher, dtype=torch.float32, device=device)
    with torch.no_grad():
        for start in range(0, len(documents), batch_size):
            logits, _, _ = network(make_batch(documents[start : start + batch_size], device))
            kl, agree = kl_and_agreement(logits, targets[start : start + batch_size])
            probabilities.append(torch.softmax(logits, dim=1).cpu().numpy())
            kls.append(kl.cpu().numpy())
            agreements.append(agree.cpu().numpy())
    return (np.concatenate(probabilities).astype(np.float64), np.concatenate(kls).astype(np.float64),
            np.concatenate(agreements).astype(np.float64))


def token_attention(network: HierarchicalAttentionNetwork, documents: Sequence[EncodedDocument],
                    device: torch.device) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
    """Per-token importance (word attention x its sentence's attention) of each document.

    Returns
    -------
    (list of ndarray, list of ndarray, ndarray)
        Per document: token importances (n_tokens,) summing to 1, sentence attention (n_sentences,); and the
        surrogate's probabilities (n_documents, n_classes).
    """
    network.eval()
    batch = make_batch(documents, device)
    with torch.no_grad():
        logits, word_weights, sentence_weights = network(batch)
    word_weights = word_weights.cpu().numpy().astype(np.float64)
    sentence_weights = sentence_weights.cpu().numpy().astype(np.float64)
    sentence_of_row = np.repeat(np.arange(len(documents)), batch.sentence_counts.numpy())
    position_of_row = np.arange(len(sentence_of_row)) - np.repeat(
        np.concatenate([[0], np.cumsum(batch.sentence_counts.numpy())[:-1]]), batch.sentence_counts.numpy()
    )
    row_weight = sentence_weights[sentence_of_row, position_of_row]
    importance = word_weights[batch.token_rows, batch.token_columns] * row_weight[batch.token_rows]
    splits = np.cumsum([d.ids.size for d in documents])[:-1]
    sentences = [sentence_weights[i, : int(n)] for i, n in enumerate(batch.sentence_counts.numpy())]
    return np.split(importance, splits), sentences, torch.softmax(logits, dim=1).cpu().numpy().astype(np.float64)
