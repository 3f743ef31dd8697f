"""Asking in words (Lesson 7): a prompt's token ids, their learned embedding, the null prompt, prompt dropout.

A text-conditional denoiser eps_theta(x_t, t, p) is Lesson 5's class-conditional network with the label y
replaced by a prompt p: a row of L token ids (``crayons.tokenize("a red house")`` -> [2, 4, 13], padded with
id 0 to L words). Each word has a learned vector (an ``nn.Embedding`` with ``padding_idx=0``: padding has no
vector and learns none); the prompt's vector is the MEAN of its words' vectors (padding left out), passed
through a small MLP, and ADDED to the time embedding, exactly where Lesson 5 adds the label's vector (eq. 7.1):

    c(p) = MLP( (1 / #words) * sum_{words w of p} E[w] ),      emb = time_mlp(t) + c(p)

The null prompt (``crayons.null_tokens``: the word <null>, then padding) is "no request"; trained with the
prompt replaced by it for a share of the examples (``drop_prompts``), the same network learns the
unconditional prediction classifier-free guidance needs (Lesson 5, eq. 5.2).

Real systems do the same with a far bigger first half: Stable Diffusion turns the prompt into 77 token vectors
with a FROZEN text encoder trained on hundreds of millions of captions (CLIP's, Radford et al. 2021; Imagen
uses T5, Saharia et al. 2022) and lets the U-Net attend to them (cross-attention, Rombach et al. 2022). We learn
a 17-word vocabulary from scratch instead: no download, and a few hundred numbers that train in seconds.
Essential: ``PromptEmbedding`` and ``drop_prompts``; the checks are plumbing.
"""

from __future__ import annotations

import numbers

import numpy as np
import torch
from torch import nn

PAD_ID = 0  # the padding id of every text-conditional model (crayons.PAD_ID): no vector, left out of the mean
MAX_VOCAB, MAX_PROMPT_LENGTH = 100_000, 256


def check_text_config(vocab_size, prompt_length, null_prompt) -> tuple[int, int, list[int]]:
    """The text fields of a model's config, checked: vocab_size > 2, prompt_length >= 1, null_prompt a list of
    prompt_length ids in 1..vocab_size-1 then padding (its first id is not padding)."""
    def whole(v):
        return isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))

    if not whole(vocab_size) or not 2 < vocab_size <= MAX_VOCAB:
        raise ValueError(f"vocab_size must be an int from 3 to {MAX_VOCAB} (padding, the null word and at least "
                         f"one word), got {vocab_size!r}.")
    if not whole(prompt_length) or not 1 <= prompt_length <= MAX_PROMPT_LENGTH:
        raise ValueError(f"prompt_length must be an int from 1 to {MAX_PROMPT_LENGTH}, got {prompt_length!r}.")
    if isinstance(null_prompt, torch.Tensor):
        null_prompt = null_prompt.tolist()
    if (not isinstance(null_prompt, (list, tuple)) or len(null_prompt) != prompt_length
            or not all(whole(i) and 0 <= i < vocab_size for i in null_prompt) or null_prompt[0] == PAD_ID):
        raise ValueError(f"null_prompt must be a list of prompt_length ({prompt_length}) token ids in "
                         f"0..{vocab_size - 1} whose first id is a word, not padding (e.g. "
                         f"crayons.null_tokens().tolist()), got {null_prompt!r}.")
    return int(vocab_size), int(prompt_length), [int(i) for i in null_prompt]


class PromptEmbedding(nn.Module):
    """Token ids (N, L) long -> one vector per prompt (N, dim): mean of the words' vectors, then a small MLP (eq. 7.1).

    ``E = nn.Embedding(vocab_size, dim, padding_idx=0)``; the mean runs over the non-padding tokens only, so
    "a red house" and "red house" padded differ only by the word "a".
    """

    def __init__(self, vocab_size: int, dim: int):
        super().__init__()
        self.tokens = nn.Embedding(vocab_size, dim, padding_idx=PAD_ID)  # one learned vector per word
        self.mlp = nn.Sequential(nn.Linear(dim, dim), nn.SiLU(), nn.Linear(dim, dim))

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        vecs = self.tokens(ids)  # (N, L, dim); padding rows are zero
        words = (ids != PAD_ID).sum(dim=1, keepdim=True).clamp(min=1)  # (N, 1): how many real words
        return self.mlp(vecs.sum(dim=1) / words)  # (N, dim)


def check_prompt_ids(ids, n: int, vocab_size: int, prompt_length: int, what: str = "y") -> None:
    """Token ids for a text-conditional model: a (n, prompt_length) long tensor of ids in 0..vocab_size-1, each
    row starting with a word (not padding). A clear error for strings, numpy arrays, floats and wrong shapes."""
    if isinstance(ids, (str, list, tuple)):
        raise TypeError(f"{what} must be token ids, a ({n}, {prompt_length}) torch.long tensor, got a "
                        f"{type(ids).__name__}: turn words into ids with crayons.tokenize(prompts).")
    if isinstance(ids, np.ndarray):
        raise TypeError(f"{what} must be a torch tensor of token ids (torch.long), got a numpy array: "
                        "use torch.from_numpy(ids).long().")
    if not isinstance(ids, torch.Tensor):
        raise TypeError(f"{what} must be a ({n}, {prompt_length}) torch.long tensor of token ids, got "
                        f"{type(ids).__name__}.")
    if ids.ndim != 2 or ids.shape[0] != n or ids.shape[1] != prompt_length:
        hint = f" For one prompt for all: ids.expand({n}, -1)." if ids.ndim == 1 and ids.shape[0] == prompt_length \
            else ""
        raise ValueError(f"{what} must hold one prompt of {prompt_length} token ids per example, shape "
                         f"({n}, {prompt_length}), got {tuple(ids.shape)}.{hint}")
    if torch.is_floating_point(ids) or ids.dtype == torch.bool or torch.is_complex(ids):
        raise TypeError(f"{what} must be token ids (torch.long), got dtype {ids.dtype}: use {what}.long().")
    if n and (int(ids.min()) < 0 or int(ids.max()) >= vocab_size):
        raise ValueError(f"{what}: token ids must lie in 0..{vocab_size - 1} (the vocabulary has {vocab_size} "
                         f"entries), got {int(ids.min())}..{int(ids.max())}.")
    if n and bool((ids[:, 0] == PAD_ID).any()):
        raise ValueError(f"{what}: a prompt must start with a word, not padding (id {PAD_ID}); the empty request is "
                         "the null prompt (crayons.null_tokens).")


def drop_prompts(ids: torch.Tensor, null_prompt, p: float, generator: torch.Generator | None = None) -> torch.Tensor:
    """Replace each prompt (row of ``ids`` (N, L)) by ``null_prompt`` with probability ``p`` (Lesson 5, eq. 5.1).

    The same draws as ``guidance.drop_labels``: one ``torch.rand(N, generator=generator)`` on the CPU, dropped
    where it is below p. Returns a new (N, L) tensor; p = 0 returns a copy without drawing.
    """
    if not isinstance(p, numbers.Real) or isinstance(p, bool) or not 0 <= p <= 1:
        raise ValueError(f"p (the share of examples given the null prompt) must be from 0 to 1, got {p!r}.")
    if p == 0:
        return ids.clone()
    null = torch.as_tensor(null_prompt, dtype=ids.dtype, device=ids.device)  # (L,)
    drop = torch.rand(ids.shape[0], generator=generator) < p  # (N,) True: this example gets no request
    return torch.where(drop.to(ids.device)[:, None], null[None, :].expand_as(ids), ids)


def as_prompt_ids(model: nn.Module, prompts, n: int, device=None, what: str = "prompts") -> torch.Tensor:
    """``prompts`` for ``sample``: a string (the same prompt for all n), a list of n strings, token ids (L,) or
    (n, L); returns checked (n, L) long ids on ``device``. Strings use ``crayons.tokenize`` (its vocabulary)."""
    from . import crayons

    L, V = model.prompt_length, model.vocab_size
    if isinstance(prompts, str) or (isinstance(prompts, (list, tuple)) and prompts
                                    and all(isinstance(p, str) for p in prompts)):
        if V != len(crayons.VOCAB):
            raise ValueError(f"this model has a vocabulary of {V} ids, not the crayons' {len(crayons.VOCAB)} words: "
                             "pass token ids instead of text.")
        if isinstance(prompts, (list, tuple)) and len(prompts) != n:
            raise ValueError(f"{what}: give one prompt for all or one per sample ({n}), got {len(prompts)} prompts.")
        ids = crayons.tokenize(prompts if isinstance(prompts, str) else list(prompts), length=L)
    else:
        ids = prompts
    if isinstance(ids, torch.Tensor) and ids.ndim == 1 and ids.shape[0] == L:
        ids = ids.expand(n, -1)
    check_prompt_ids(ids, n, V, L, what)
    return ids.to(device) if device is not None else ids
