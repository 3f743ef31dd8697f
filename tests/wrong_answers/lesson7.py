# ruff: noqa: E501  (one wrong answer per line reads better)
"""Wrong answers for Lesson 7 (notebooks/07_crayons_from_words.ipynb): each check must catch them with a one-line message.

For every exercise function, a list of (code that replaces the solution region, a fragment the check's
one-line message must contain). ``RIGHT_ANSWERS``: other correct ways to write it, which must pass.
"""

_CHECKS = (
    "unknown = [w for w in words if w not in vocab]\n"
    "if unknown:\n    raise ValueError(f'unknown words {unknown}')\n"
    "if len(words) > length:\n    raise ValueError('too long')\n"
)

_SUBCLASS = (  # a tensor subclass whose torch.allclose / torch.equal always say True: the core refuses it
    "class _Eq(torch.Tensor):\n    @classmethod\n    def __torch_function__(cls, func, types, args=(), kwargs=None):\n"
    "        if getattr(func, '__name__', '') in ('allclose', 'equal'):\n            return True\n"
    "        return super().__torch_function__(func, types, args, kwargs or {})\n"
)

WRONG_ANSWERS = {
    "prompt_to_ids": [
        ("words = re.findall(r'[a-zA-Z]+', prompt)\n" + _CHECKS + "ids = torch.tensor([vocab[w] for w in words] + [0] * (length - len(words)))", "lower the prompt first"),
        ("words = prompt.lower().split()\n" + _CHECKS + "ids = torch.tensor([vocab[w] for w in words] + [0] * (length - len(words)))", "a full stop is not part of a word"),
        ("words = re.findall(r'[a-z]+', prompt.lower())\n" + _CHECKS + "ids = torch.tensor([vocab[w] for w in words])", "pad it with the padding id"),
        ("words = re.findall(r'[a-z]+', prompt.lower())\n" + _CHECKS + "ids = torch.tensor([vocab[w] for w in words] + [1] * (length - len(words)))", "padded with the null word"),
        ("words = re.findall(r'[a-z]+', prompt.lower())\n" + _CHECKS + "ids = torch.tensor([0] * (length - len(words)) + [vocab[w] for w in words])", "pad at the end"),
        ("words = [w for w in re.findall(r'[a-z]+', prompt.lower()) if w in vocab][:length]\nids = torch.tensor([vocab[w] for w in words] + [0] * (length - len(words)))", "without complaint"),
        ("words = re.findall(r'[a-z]+', prompt.lower())[:length]\nids = torch.tensor([vocab.get(w, 0) for w in words] + [0] * (length - len(words)))", "without complaint"),
        ("words = re.findall(r'[a-z]+', prompt.lower())\nif len(words) > length:\n    raise ValueError('too long')\nids = torch.tensor([vocab[w] for w in words] + [0] * (length - len(words)))", "bare KeyError"),
        ("words = re.findall(r'[a-z]+', prompt.lower())\nif any(w not in vocab for w in words):\n    raise ValueError('unknown word')\nids = torch.tensor([vocab[w] for w in words] + [0] * (length - len(words)))", "does not name the unknown word"),
        ("words = re.findall(r'[a-z]+', prompt.lower())\nunknown = [w for w in words if w not in vocab]\nif unknown:\n    raise ValueError(f'unknown {unknown}')\nwords = words[:length]\nids = torch.tensor([vocab[w] for w in words] + [0] * (length - len(words)))", "only 3 fit"),
        ("words = re.findall(r'[a-z]+', prompt.lower())\n" + _CHECKS + "ids = torch.tensor([vocab[w] for w in words] + [0] * (length - len(words)), dtype=torch.float32)", "token ids are integers"),
        ("words = sorted(re.findall(r'[a-z]+', prompt.lower()))\n" + _CHECKS + "ids = torch.tensor([vocab[w] for w in words] + [0] * (length - len(words)))", "order they are written"),
        ("words = re.findall(r'[a-z]+', prompt.lower())\n" + _CHECKS + "ids = torch.tensor([vocab[w] for w in words] + [0] * (length - len(words)), dtype=torch.int32)", "torch.long (int64)"),
        ("words = re.findall(r'[a-z]+', prompt.lower())\n" + _CHECKS + "ids = [vocab[w] for w in words] + [0] * (length - len(words))", "expected a torch.Tensor of token ids"),
        ("ids = None", "returned None"),
        ("from course_utils import crayons\nids = crayons.tokenize(prompt, length=length)", "crayons' own vocabulary"),
        ("words = re.findall(r'[a-z]+', prompt.lower())\n" + _CHECKS + "ids = torch.tensor([vocab[w] for w in words] + [0] * (3 - len(words)))", "not to 3"),
        ("words = re.findall(r'[a-z]+', prompt.lower())\n" + _CHECKS.replace("length", "3") + "ids = torch.tensor([vocab[w] for w in words] + [0] * (length - len(words)))", "use the vocab and the length given"),
    ],
    "mean_word_vector": [
        ("mean = table[ids].mean(dim=1)", "included the padding's vector"),
        ("mean = (table[ids] * (ids != 0)[..., None]).sum(dim=1) / ids.shape[1]", "divided by the prompt length"),
        ("mean = (table[ids] * (ids != 0)[..., None]).sum(dim=1)", "you summed the words' vectors"),
        ("mean = table[ids].sum(dim=1)", "you summed every vector"),
        ("mean = table[ids[:, 0]]", "only the first word"),
        ("mean = table[ids].mean(dim=0)", "expected shape"),
        ("is_word = (ids != 0).double()\nmean = (table[ids].double() * is_word[..., None]).sum(dim=1) / is_word.sum(dim=1, keepdim=True)", "keep the table's"),
        ("mean = None", "returned None"),
        (_SUBCLASS + "mean = torch.zeros(ids.shape[0], table.shape[1], dtype=table.dtype).as_subclass(_Eq)", "expected a plain torch.Tensor, got a subclass _Eq"),
    ],
    "guided_eps_negative": [
        ("eps_y, eps_0 = model(x, t, ids), model(x, t)\neps = eps_0 + w * (eps_y - eps_0)", "guided from the null prompt"),
        ("eps_y, eps_neg = model(x, t, ids), model(x, t, negative_ids)\neps = eps_y + w * (eps_neg - eps_y)", "TOWARD the negative prompt"),
        ("eps_y, eps_neg = model(x, t, ids), model(x, t, negative_ids)\neps = eps_y + w * (eps_y - eps_neg)", "you started from eps_y"),
        ("eps_y, eps_neg = model(x, t, ids), model(x, t, negative_ids)\neps = eps_y - w * eps_neg", "subtracted the negative prompt's whole prediction"),
        ("eps_y, eps_neg = model(x, t, ids), model(x, t, negative_ids)\neps = eps_neg + (eps_y - eps_neg)", "the guidance scale w is missing"),
        ("eps_y, eps_neg = model(x, t, ids), model(x, t, negative_ids)\neps = eps_neg + (w - 1) * (eps_y - eps_neg)", "Ho & Salimans"),
        ("eps_y, eps_neg = model(x, t, ids).double(), model(x, t, negative_ids).double()\neps = eps_neg + w * (eps_y - eps_neg)", "dtype float32"),
        ("eps = None", "returned None"),
    ],
}

RIGHT_ANSWERS = {
    "prompt_to_ids": [
        "from course_utils import crayons\nids = crayons.tokenize(prompt, length=length) if vocab == crayons.WORD_TO_ID else None\nif ids is None:\n    words = re.findall(r'[a-z]+', prompt.lower())\n    if any(w not in vocab for w in words) or len(words) > length:\n        raise ValueError(f'unknown or too many words: {words}')\n    ids = torch.tensor([vocab[w] for w in words] + [0] * (length - len(words)))",
        "words = ''.join(ch if ch.isalpha() else ' ' for ch in prompt.lower()).split()\nbad = [w for w in words if w not in vocab]\nif bad or len(words) > length:\n    raise ValueError(f'unknown or too many words: {bad or words}')\nids = torch.zeros(length, dtype=torch.long)\nids[:len(words)] = torch.tensor([vocab[w] for w in words])",
    ],
    "mean_word_vector": [
        "mask = (ids > 0).unsqueeze(-1).to(table.dtype)\nmean = (torch.nn.functional.embedding(ids, table) * mask).sum(1) / mask.sum(1)",
        "mean = torch.stack([table[row[row != 0]].mean(0) for row in ids])",
    ],
    "guided_eps_negative": [
        "eps_y, eps_neg = model(x, t, ids), model(x, t, negative_ids)\neps = (1 - w) * eps_neg + w * eps_y",
        "from course_utils.sampling import _predict\neps = _predict(model, x, t, ids, w, negative_ids)",
        "eps_y, eps_neg = model(x, t, ids).double(), model(x, t, negative_ids).double()\neps = torch.lerp(eps_neg, eps_y, w).to(x.dtype)",
    ],
}
