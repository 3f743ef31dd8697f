"""Checks of Lesson 7 (notebooks/07_crayons_from_words.ipynb): one ``check_*`` function per exercise.

The references are the package's own: ``crayons.tokenize`` (a prompt to token ids), the mean in
``text.PromptEmbedding`` (the conditional embedding, eq. 7.1) and ``sampling._predict`` with ``negative=``
(guidance away from a negative prompt, eq. 7.2). The named mistakes: case, padding, unknown words skipped;
padding counted in the mean, a sum for a mean; guidance from the null prompt, or toward the negative one.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import torch

from .. import crayons
from .core import _call, _compare, _fail, _passed, _refuse_subclass, _want_dtype, exercise


def _ids(ex: str, got, length: int, prompt: str) -> list[int]:
    if got is None:
        _fail(ex, "your function returned None: replace the stub's None with your code (and keep the `return`).")
    if not isinstance(got, torch.Tensor):
        _fail(ex, f"{prompt!r} gave {type(got).__name__!r}, expected a torch.Tensor of token ids: the model (and the "
                  "next cell, which calls .tolist() on it) takes a tensor, torch.tensor(ids, dtype=torch.long).")
    if torch.is_floating_point(got) or got.dtype == torch.bool:
        _fail(ex, f"token ids are integers: return torch.tensor(ids, dtype=torch.long), got dtype {got.dtype}.")
    _want_dtype(ex, got, torch.long, "token ids index the model's word table (nn.Embedding takes torch.long): "
                                     "torch.tensor(ids, dtype=torch.long).")
    if got.ndim != 1 or got.shape[0] != length:
        n_words = len(prompt.split())
        if got.ndim == 1 and got.shape[0] == n_words < length:
            _fail(ex, f"{prompt!r} gave {n_words} ids: pad it with the padding id ({crayons.PAD_ID}) to "
                      f"length = {length}, so that every prompt in a batch has the same shape.")
        _fail(ex, f"{prompt!r}: expected {length} ids, shape ({length},), got shape {tuple(got.shape)}.")
    return [int(i) for i in got]


@exercise("Exercise 7.1 (prompt_to_ids)")
def check_prompt_to_ids(fn: Callable, ex: str) -> None:
    """Exercise 7.1: words to ids, lower case, letters only, padded with PAD_ID; unknown words a ValueError."""
    vocab = dict(crayons.WORD_TO_ID)
    L, pad, null = crayons.PROMPT_LENGTH, crayons.PAD_ID, crayons.NULL_ID
    for prompt in ("a red house", "an orange boat", "green tree", "A Purple FLOWER", "a blue sun.", "sun",
                   "house red", "red red boat"):
        expected = crayons.tokenize(prompt).tolist()
        try:
            got = _call(ex, fn, prompt, dict(vocab), L)
        except Exception as err:  # ExerciseFailed from _call: name the case and punctuation mistakes first
            if prompt != prompt.lower() and prompt.lower() != prompt and "raised" in str(err):
                _fail(ex, f"{prompt!r} raised an error: the vocabulary is lower case, so lower the prompt first "
                          "(prompt.lower()): 'A Red House' asks for the same drawing as 'a red house'.")
            if prompt.endswith(".") and "raised" in str(err):
                _fail(ex, f"{prompt!r} raised an error: a full stop is not part of a word. Keep only letters "
                          "(re.findall(r'[a-z]+', prompt.lower())) rather than prompt.split().")
            raise
        got = _ids(ex, got, L, prompt)
        if got == expected:
            continue
        words = [w for w in expected if w != pad]
        if got == words + [null] * (L - len(words)):
            _fail(ex, f"{prompt!r} -> {got}: you padded with the null word (id {null}); padding is id {pad}. The null "
                      "word means 'no request' and the model learns a vector for it; padding has none.")
        if sorted(got[:len(words)]) == sorted(words) and got != expected:
            _fail(ex, f"{prompt!r} -> {got}, expected {expected}: keep the words in the order they are written "
                      "(sorted() or a set loses it; a prompt is a sequence of words).")
        if len(set(words)) < len(words) and got == list(dict.fromkeys(words)) + [pad] * (L - len(set(words))):
            _fail(ex, f"{prompt!r} -> {got}, expected {expected}: a repeated word is still a word; a set drops it.")
        if got == [pad] * (L - len(words)) + words:
            _fail(ex, f"{prompt!r} -> {got}: pad at the end, after the words (the course's convention), not before.")
        _fail(ex, f"{prompt!r}: expected the ids {expected}, got {got}. Look each lower-case word up in vocab and "
                  f"pad with {pad} to {L} ids.")
    for prompt, word in (("a pink house", "pink"), ("a red car", "car")):
        try:
            got = fn(prompt, dict(vocab), L)
        except ValueError as err:
            if word not in str(err):
                _fail(ex, f"{prompt!r} raised a ValueError that does not name the unknown word {word!r}: say which "
                          "word you do not know, so the learner can fix the prompt.")
            continue
        except KeyError:
            _fail(ex, f"{prompt!r} raised a bare KeyError: check each word and raise a ValueError that names the "
                      f"unknown word ({word!r}) and lists the words you know.")
        except Exception as err:  # noqa: BLE001
            _fail(ex, f"{prompt!r} raised {type(err).__name__}; raise a ValueError naming the unknown word {word!r}.")
        _fail(ex, f"{prompt!r} gave {got!r} without complaint: an unknown word must raise a ValueError naming it, "
                  "not be skipped or turned into padding (the model would silently draw something else).")
    try:
        fn("a red house boat", dict(vocab), L)
    except ValueError:
        pass
    except Exception as err:  # noqa: BLE001
        _fail(ex, f"a 4-word prompt raised {type(err).__name__}; raise a ValueError: at most {L} words fit.")
    else:
        _fail(ex, f"'a red house boat' has 4 words but only {L} fit: raise a ValueError rather than cut it short.")
    _other_vocab(ex, fn)
    _passed(ex, "lower case, letters only, padded with id 0 to 3 ids; unknown words and long prompts refused.")


def _other_vocab(ex: str, fn: Callable) -> None:
    """Another vocab (the same words, other ids, and new words) and another length, as later cells may pass."""
    vocab = {"<pad>": 0, "<null>": 1, "a": 7, "red": 3, "house": 9, "big": 5, "dog": 2, "the": 8}
    for prompt, length in (("a red house", 5), ("The big red dog.", 5), ("a big dog", 3)):
        words = re.findall(r"[a-z]+", prompt.lower())
        expected = [vocab[w] for w in words] + [crayons.PAD_ID] * (length - len(words))
        try:
            got = fn(prompt, dict(vocab), length)
        except NotImplementedError:
            raise
        except Exception as err:  # noqa: BLE001
            _fail(ex, f"{prompt!r} with vocab={vocab} and length={length} raised {type(err).__name__} "
                      f"({str(err)[:60]!r}), though every word is in that vocab and fits: use the vocab and the length "
                      "given as arguments (later cells pass other ones), not crayons' own vocabulary or 3.")
        _refuse_subclass(ex, got)
        if isinstance(got, torch.Tensor) and got.ndim == 1 and got.shape[0] == crayons.PROMPT_LENGTH != length:
            _fail(ex, f"{prompt!r} with length={length} gave {crayons.PROMPT_LENGTH} ids: pad to the length given as "
                      f"an argument, not to {crayons.PROMPT_LENGTH}.")
        got = _ids(ex, got, length, prompt)
        if got == expected:
            continue
        if got[:len(words)] == [crayons.WORD_TO_ID.get(w) for w in words]:
            _fail(ex, f"{prompt!r} with another vocab {vocab} gave {got}, expected {expected}: you looked the words "
                      "up in crayons' own vocabulary; use the vocab given as an argument.")
        _fail(ex, f"{prompt!r} with vocab={vocab} and length={length}: expected the ids {expected}, got {got}. Look "
                  "each lower-case word up in the vocab given and pad to the length given.")


def _table() -> torch.Tensor:
    g = torch.Generator().manual_seed(7)
    return torch.randn(len(crayons.VOCAB), 6, generator=g, dtype=torch.float64)


@exercise("Exercise 7.2 (mean_word_vector)")
def check_mean_word_vector(fn: Callable, ex: str) -> None:
    """Exercise 7.2: the mean of the words' vectors, padding left out (eq. 7.1, before the MLP)."""
    ids = torch.tensor([[2, 4, 13], [4, 13, 0], [12, 0, 0], [1, 0, 0]])  # 3, 2, 1 words; the null prompt
    for zero_pad in (False, True):  # nn.Embedding's padding row is zero; a table without that tells more apart
        table = _table()
        if zero_pad:
            table[crayons.PAD_ID] = 0
        words = (ids != crayons.PAD_ID).sum(1, keepdim=True).double()  # (N, 1)
        vecs = table[ids] * (ids != crayons.PAD_ID)[..., None]  # (N, L, D), padding zeroed
        expected = vecs.sum(1) / words
        got = _call(ex, fn, ids.clone(), table.clone())
        mistakes = {
            "you divided by the prompt length (3) for every prompt: divide by the number of real words (ids != 0), so "
            "that 'red house' padded is not a weaker 'red house'.": vecs.sum(1) / ids.shape[1],
            "you included the padding's vector in the mean: leave padding (id 0) out, or padding would become a "
            "word the model has to learn.": table[ids].mean(1),
            "you summed the words' vectors: eq. 7.1 takes their mean (a 1-word prompt and a 3-word prompt would "
            "then differ in size, not only in meaning).": vecs.sum(1),
            "you summed every vector, padding included: take the mean of the real words only.": table[ids].sum(1),
            "you took only the first word's vector: the prompt's vector is the mean of all its words.":
                table[ids[:, 0]],
            "you took only the last slot's vector: the prompt's vector is the mean of all its words.":
                table[ids[:, -1]],
        }
        _compare(ex, got, expected, mistakes, "Expected (N, D): for each prompt, table[ids] averaged over its words "
                 "(ids != 0).", atol=1e-6)
    got = _call(ex, fn, ids.clone(), _table().float())
    if not isinstance(got, torch.Tensor) or got.dtype != torch.float32:
        _fail(ex, f"for a float32 table you returned {getattr(got, 'dtype', type(got).__name__)}: keep the table's "
                  "dtype (the model's vectors are float32, and its MLP refuses float64 input).")
    _passed(ex, "each prompt's vector is the mean of its words' vectors, padding left out.")


def _tiny_text_model() -> torch.nn.Module:
    from ..models import UNet

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        m = UNet(channels=8, emb_dim=16, image_size=4, in_channels=3, vocab_size=len(crayons.VOCAB),
                 prompt_length=crayons.PROMPT_LENGTH, null_prompt=crayons.null_tokens().tolist()).double().eval()
        torch.nn.init.normal_(m.conv_out[-1].weight)  # the output layer starts at zero on purpose
        for p in m.prompt_emb.parameters():
            p.data.mul_(3)  # a prompt that matters: the mistakes below give clearly different numbers
    return m


@exercise("Exercise 7.3 (guided_eps_negative)")
def check_guided_eps_negative(fn: Callable, ex: str) -> None:
    """Exercise 7.3: eps_neg + w (eps_y - eps_neg), the negative prompt in the null prompt's place (eq. 7.2)."""
    model = _tiny_text_model()
    g = torch.Generator().manual_seed(3)
    x = torch.randn(3, 3, 4, 4, generator=g, dtype=torch.float64)
    t = torch.tensor([900, 400, 50])
    ids = crayons.tokenize(["a red house", "a green tree", "a blue boat"])
    neg = crayons.tokenize(["a blue house", "a red tree", "a yellow boat"])
    with torch.no_grad():
        e_y, e_n, e_0 = model(x, t, ids), model(x, t, neg), model(x, t)
    for w in (3.0, 0.0, 1.5):
        with torch.no_grad():
            got = _call(ex, fn, model, x.clone(), t.clone(), ids.clone(), neg.clone(), w)
        mistakes = {
            "you guided from the null prompt: with a negative prompt, eps(x_t, t, negative) takes the null "
            "prompt's place in eq. 5.2.": e_0 + w * (e_y - e_0),
            "you pushed TOWARD the negative prompt: eps_neg + w (eps_y - eps_neg) moves from the negative request "
            "to the asked one (eq. 7.2); you swapped y and the negative.": e_y + w * (e_n - e_y),
            "you started from eps_y: eq. 7.2 starts from eps_neg and adds w times (eps_y - eps_neg) (at w = 0 it "
            "must give the negative prompt's prediction).": e_y + w * (e_y - e_n),
            "you subtracted the negative prompt's whole prediction: eq. 7.2 is eps_neg + w (eps_y - eps_neg), a "
            "step from one request toward the other.": e_y - w * e_n,
            "the guidance scale w is missing: eps_neg + w (eps_y - eps_neg).": e_y,
            "you used w - 1 (Ho & Salimans' scale): the course's w is diffusers' guidance_scale, eps_neg + w "
            "(eps_y - eps_neg), so w = 1 gives eps_y alone.": e_n + (w - 1) * (e_y - e_n),
        }
        if w == 0:
            mistakes = {m: v for m, v in mistakes.items() if not torch.allclose(v, e_n)}
        _compare(ex, got, e_n + w * (e_y - e_n), mistakes, "Expected eps_neg + w (eps_y - eps_neg), shaped like x.",
                 atol=1e-8)
    model32, x32 = model.float(), x.float()  # the lesson's model is float32: the result must stay float32
    with torch.no_grad():
        got = _call(ex, fn, model32, x32.clone(), t.clone(), ids.clone(), neg.clone(), 3.0)
        e_y, e_n = model32(x32, t, ids), model32(x32, t, neg)
    _compare(ex, got, e_n + 3.0 * (e_y - e_n), {}, "Expected eps_neg + w (eps_y - eps_neg), shaped like x.",
             atol=1e-4, dtype=torch.float32)
    _passed(ex, "eps_neg + w (eps_y - eps_neg): guided away from the negative prompt, toward the asked one.")
