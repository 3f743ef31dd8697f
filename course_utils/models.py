"""The denoisers of Lesson 2: a small MLP for 2-D points and a small U-Net for 8x8 digits.

Both take a noisy input x_t and its timesteps t (one per example) and predict the noise eps that was
added (the simplified DDPM objective, Ho et al. 2020, eq. 14). Essential: ``timestep_embedding``
(how the network is told t) and the U-Net's skip connections. Plumbing: the input checks.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from ._validate import check_positive_int, check_real


def timestep_embedding(timesteps: torch.Tensor, dim: int, max_period: float = 10000.0) -> torch.Tensor:
    """Sinusoidal embedding of integer timesteps (Lesson 2, eq. 2.4; Vaswani et al. 2017, used by Ho et al. 2020).

    For i = 0 .. dim/2 - 1, with frequency w_i = max_period^(-i / (dim/2 - 1)):
        emb[:, i] = sin(t * w_i),   emb[:, dim/2 + i] = cos(t * w_i).
    Args: timesteps (N,) integers; dim even, >= 4. Returns (N, dim) float32.
    """
    if dim < 4 or dim % 2:
        raise ValueError(f"dim must be an even number >= 4, got {dim}.")
    if not isinstance(timesteps, torch.Tensor) or timesteps.ndim != 1:
        raise ValueError("timesteps must be a 1-D tensor, one timestep per example, shape (N,).")
    half = dim // 2
    freqs = torch.exp(-math.log(max_period) * torch.arange(half, dtype=torch.float32, device=timesteps.device)
                      / (half - 1))  # (half,): from 1 down to 1 / max_period
    args = timesteps.float()[:, None] * freqs[None, :]  # (N, half)
    return torch.cat([torch.sin(args), torch.cos(args)], dim=1)  # (N, dim)


def _check_input(model: nn.Module, x, what: str) -> None:
    """x must be a torch tensor of the model's dtype (float32 unless you converted the model)."""
    dtype = next(model.parameters()).dtype
    name = str(dtype).removeprefix("torch.")
    if isinstance(x, np.ndarray):
        raise TypeError(f"{type(model).__name__} takes {what} as a {name} torch tensor, got a numpy array: "
                        "use torch.from_numpy(x).float().")
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{type(model).__name__} takes {what} as a {name} torch tensor, got {type(x).__name__}: "
                        "use torch.tensor(x, dtype=torch.float32).")
    if x.dtype != dtype:
        hint = " (ints and bools are not pictures yet: map them to [-1, 1] first)" if not x.is_floating_point() else ""
        raise TypeError(f"{type(model).__name__} takes {what} as a {name} torch tensor (the dtype of its weights), "
                        f"got dtype {x.dtype}: use x.float(){hint}.")


def _check_t(t: torch.Tensor, n: int, num_train_timesteps: int) -> None:
    if isinstance(t, np.ndarray):
        raise TypeError("t must be a torch tensor of integer timesteps (torch.long), got a numpy array: "
                        "use torch.from_numpy(t).")
    if not isinstance(t, torch.Tensor) or t.ndim != 1 or t.shape[0] != n:
        shape = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
        raise ValueError(f"t must hold one timestep per example, shape ({n},), got {shape}.")
    if torch.is_floating_point(t) or t.dtype == torch.bool:
        raise TypeError(f"t must be integer timesteps (torch.long), got dtype {t.dtype}.")
    if n and (int(t.min()) < 0 or int(t.max()) >= num_train_timesteps):
        raise ValueError(f"t must lie in 0..{num_train_timesteps - 1}, got {int(t.min())}..{int(t.max())}.")


def _check_num_classes(num_classes, null_label) -> int:
    """num_classes: 0 (unconditional) or a positive int; null_label, if given (a checkpoint's config), must be it."""
    num_classes = check_positive_int(num_classes, "num_classes", minimum=0)
    if null_label is not None and (num_classes == 0 or null_label != num_classes):
        raise ValueError(f"null_label must be num_classes ({num_classes}) on a class-conditional model (the last row "
                         f"of the label embedding), got {null_label!r}.")
    return num_classes


def check_labels(y, n: int, num_classes: int, what: str = "y", allow_null: bool = True) -> None:
    """Labels for a class-conditional model (Lesson 5): a (n,) long tensor of 0..num_classes-1, or num_classes
    (the null label: "no request"). A clear error for a numpy array, floats, a wrong shape or a value out of range."""
    if isinstance(y, np.ndarray):
        raise TypeError(f"{what} must be a torch tensor of integer labels (torch.long), got a numpy array: "
                        "use torch.from_numpy(y).long().")
    if not isinstance(y, torch.Tensor):
        raise TypeError(f"{what} must be a torch tensor of integer labels (torch.long), shape ({n},), got "
                        f"{type(y).__name__}: use torch.full(({n},), label) for one label for every example.")
    if y.ndim != 1 or y.shape[0] != n:
        raise ValueError(f"{what} must hold one label per example, shape ({n},), got {tuple(y.shape)}.")
    if torch.is_floating_point(y) or y.dtype == torch.bool or torch.is_complex(y):
        raise TypeError(f"{what} must be integer labels (torch.long), got dtype {y.dtype}: use {what}.long().")
    if n and (int(y.min()) < 0 or int(y.max()) > num_classes - (not allow_null)):
        null = f" or be {num_classes} (the null label, no request)" if allow_null else ""
        raise ValueError(f"{what} must lie in 0..{num_classes - 1} (a class){null}, got "
                         f"{int(y.min())}..{int(y.max())}.")


def _label_embedding(model: nn.Module, y, n: int, device) -> torch.Tensor | None:
    """The label's embedding (n, emb) for a conditional model (y None: the null label); None for an unconditional
    model, which refuses any y."""
    if getattr(model, "vocab_size", 0):  # Lesson 7: y is a prompt's token ids (n, L), embedded the same way
        return _prompt_embedding(model, y, n, device)
    if not model.num_classes and isinstance(y, torch.Tensor) and y.ndim == 2:
        raise ValueError(f"this {type(model).__name__} takes no prompts (it was built without a vocabulary): "
                         "build it with vocab_size=, prompt_length= and null_prompt= (Lesson 7), or load the "
                         "checkpoint 'crayons'.")
    if not model.num_classes:
        if y is not None:
            raise ValueError(f"this {type(model).__name__} is unconditional (num_classes=0): it takes no labels y. "
                             "Build it with num_classes=10 (Lesson 5), or load the checkpoint 'digits_cond'.")
        return None
    if y is None:
        y = torch.full((n,), model.num_classes, dtype=torch.long, device=device)  # the null label: no request
    check_labels(y, n, model.num_classes)
    return model.label_emb(y.to(device))


# what the network predicts: the noise (Lessons 2-5), the velocity (6), the clean picture ("sample", diffusers' name;
# Lesson 8's blur-to-static crayons: a noise guess is divided by alpha_t(k) there, measured unstable, docs/models.md)
PREDICTION_TYPES = ("epsilon", "velocity", "sample")


def _check_prediction_type(prediction_type) -> str:
    if prediction_type not in PREDICTION_TYPES:
        raise ValueError(f"prediction_type must be one of {', '.join(PREDICTION_TYPES)}, got {prediction_type!r}.")
    return prediction_type


def _check_continuous_t(t, n: int) -> None:
    """Flow matching (Lesson 6): t is a float time in [0, 1] per example (1: pure static), not an integer."""
    if not isinstance(t, torch.Tensor) or t.ndim != 1 or t.shape[0] != n:
        shape = tuple(t.shape) if isinstance(t, torch.Tensor) else type(t).__name__
        raise ValueError(f"t must hold one time in [0, 1] per example, shape ({n},), got {shape}.")
    if not torch.is_floating_point(t):
        raise TypeError(f"this model predicts a velocity and takes t as float times in [0, 1] (flow matching, "
                        f"Lesson 6), got dtype {t.dtype}. Integer timesteps are a noise model's: sample and train this "
                        "one with a FlowMatchScheduler (calling it yourself: t.float() / num_train_timesteps).")
    if n and (not bool(torch.isfinite(t).all()) or float(t.min()) < 0 or float(t.max()) > 1):
        raise ValueError(f"t must lie in [0, 1] (flow matching's time), got {float(t.min()):g}..{float(t.max()):g}.")


def _time_input(model: nn.Module, t: torch.Tensor, n: int) -> torch.Tensor:
    """What goes into the sinusoidal embedding: the integer timestep (epsilon models), or t * T (velocity models,
    as SD3 feeds its transformer t * 1000: the same embedding sees the same range of numbers)."""
    if getattr(model, "prediction_type", "epsilon") == "velocity":
        _check_continuous_t(t, n)
        return t.float() * model.num_train_timesteps
    _check_t(t, n, model.num_train_timesteps)
    return t
def _prompt_embedding(model: nn.Module, y, n: int, device) -> torch.Tensor:
    """Lesson 7: the prompt's embedding (n, emb) (eq. 7.1, ``text.PromptEmbedding``); y None: the null prompt."""
    from .text import check_prompt_ids

    if y is None:
        y = model.null_condition(n, device)  # (n, L): no request
    check_prompt_ids(y, n, model.vocab_size, model.prompt_length)
    return model.prompt_emb(y.to(device))


def training_condition(model: nn.Module, labels: torch.Tensor, label_dropout: float,
                       generator: torch.Generator | None, device) -> torch.Tensor:
    """What a conditional model is told during training (Lessons 5 and 7): ``labels`` (N,) or prompts (N, L), each
    replaced by the null request with probability ``label_dropout`` (one ``torch.rand(N)`` draw with ``generator``),
    on ``device``. The one place ``diffusion_loss`` and ``flow_matching_loss`` turn labels into the model's input."""
    if getattr(model, "vocab_size", 0):  # Lesson 7: prompts, dropped to the null prompt
        from .text import drop_prompts

        return drop_prompts(labels, model.config["null_prompt"], label_dropout, generator).to(device)  # (N, L)
    if not getattr(model, "num_classes", 0):
        raise ValueError("labels need a class-conditional model (UNet or PointDenoiser with num_classes > 0); "
                         "this one was built without labels.")
    from .guidance import drop_labels

    return drop_labels(labels, model.num_classes, label_dropout, generator).to(device)  # (N,)


def _null_condition(model: nn.Module, n: int, device=None) -> torch.Tensor:
    """The "no request" condition for n examples: the null prompt (n, L) on a text model, else the null label (n,)."""
    if getattr(model, "vocab_size", 0):
        return torch.tensor(model.config["null_prompt"], dtype=torch.long, device=device).expand(n, -1)  # (n, L)
    if not getattr(model, "num_classes", 0):
        raise ValueError(f"this {type(model).__name__} is unconditional: it has no null condition.")
    return torch.full((n,), model.num_classes, dtype=torch.long, device=device)  # (n,)


class PointDenoiser(nn.Module):
    """An MLP that predicts eps for 2-D points: input (x_t (N, 2), t (N,)), output (N, 2)."""

    def __init__(self, hidden: int = 128, layers: int = 3, time_dim: int = 32, num_train_timesteps: int = 1000,
                 num_classes: int = 0, null_label: int | None = None, prediction_type: str = "epsilon"):
        super().__init__()
        hidden, layers = check_positive_int(hidden, "hidden"), check_positive_int(layers, "layers")
        time_dim = check_positive_int(time_dim, "time_dim", minimum=4)
        if time_dim % 2:
            raise ValueError(f"time_dim must be even (half sines, half cosines), got {time_dim}.")
        num_train_timesteps = check_positive_int(num_train_timesteps, "num_train_timesteps")
        self.config = {"arch": "PointDenoiser", "hidden": hidden, "layers": layers, "time_dim": time_dim,
                       "num_train_timesteps": num_train_timesteps}
        self.prediction_type = _check_prediction_type(prediction_type)
        if prediction_type != "epsilon":  # Lesson 6; absent for the noise predictors, whose configs stay as shipped
            self.config["prediction_type"] = prediction_type
        self.time_dim, self.num_train_timesteps = time_dim, num_train_timesteps
        dims = [2 + time_dim] + [hidden] * layers
        blocks: list[nn.Module] = []
        for a, b in zip(dims[:-1], dims[1:], strict=True):
            blocks += [nn.Linear(a, b), nn.SiLU()]
        self.net = nn.Sequential(*blocks, nn.Linear(hidden, 2))
        # Lesson 5: with num_classes > 0, a label embedding added to the time embedding; row num_classes is the
        # null label ("no request"). An unconditional model keeps exactly the config and weights it had.
        self.num_classes = _check_num_classes(num_classes, null_label)
        if self.num_classes:
            self.config.update(num_classes=self.num_classes, null_label=self.num_classes)
            self.label_emb = nn.Embedding(self.num_classes + 1, time_dim)

    def null_condition(self, n: int, device=None) -> torch.Tensor:
        """The null label for n examples (Lesson 5), (n,) long."""
        return _null_condition(self, n, device)

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """x (N, 2), t (N,) long; y (N,) long labels for a conditional model (None: the null label)."""
        _check_input(self, x, "points")
        if x.ndim != 2 or x.shape[1] != 2:
            raise ValueError(f"PointDenoiser takes points shaped (N, 2), got {tuple(x.shape)}.")
        t = _time_input(self, t, x.shape[0])  # integer timesteps, or t * T for a velocity model (Lesson 6)
        emb = timestep_embedding(t, self.time_dim).to(x.dtype)  # (N, time_dim)
        label = _label_embedding(self, y, x.shape[0], x.device)
        if label is not None:
            emb = emb + label  # (N, time_dim): "which moon" joins "how noisy" (Lesson 5)
        return self.net(torch.cat([x, emb], dim=1))  # (N, 2)


class ResBlock(nn.Module):
    """Two 3x3 convolutions with the time embedding added in between, plus a shortcut (He et al. 2016)."""

    def __init__(self, c_in: int, c_out: int, emb_dim: int, groups: int = 8, dropout: float = 0.0):
        super().__init__()
        self.norm1 = nn.GroupNorm(groups, c_in)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.emb = nn.Linear(emb_dim, c_out)
        self.norm2 = nn.GroupNorm(groups, c_out)
        self.dropout = nn.Dropout(dropout)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, padding=1)
        self.shortcut = nn.Conv2d(c_in, c_out, 1) if c_in != c_out else nn.Identity()

    def forward(self, x: torch.Tensor, emb: torch.Tensor) -> torch.Tensor:
        h = self.conv1(F.silu(self.norm1(x)))  # (N, c_out, H, W)
        h = h + self.emb(emb)[:, :, None, None]  # tell every pixel the timestep
        h = self.conv2(self.dropout(F.silu(self.norm2(h))))  # dropout as in DDPM's ResBlocks
        return self.shortcut(x) + h


class UNet(nn.Module):
    """A small U-Net for (N, 1, 8, 8) images: 8x8 -> 4x4 -> 2x2 and back, with skip connections.

    The way down sees more and more of the picture at once (coarse shapes); the way up rebuilds the
    detail, and each skip connection hands it the features of the same resolution from the way down,
    which the bottleneck alone could not carry (Ronneberger et al. 2015).
    """

    def __init__(self, channels: int = 32, emb_dim: int = 128, image_size: int = 8, in_channels: int = 1,
                 num_train_timesteps: int = 1000, dropout: float = 0.0, num_classes: int = 0,
                 null_label: int | None = None, prediction_type: str = "epsilon", vocab_size: int = 0,
                 prompt_length: int | None = None, null_prompt: list[int] | None = None):
        super().__init__()
        channels, emb_dim = check_positive_int(channels, "channels"), check_positive_int(emb_dim, "emb_dim")
        image_size, in_channels = check_positive_int(image_size, "image_size"), check_positive_int(in_channels,
                                                                                                 "in_channels")
        num_train_timesteps = check_positive_int(num_train_timesteps, "num_train_timesteps")
        dropout = check_real(dropout, "dropout", low=0.0, high=1.0, high_open=True)
        if image_size % 4:
            raise ValueError(f"image_size must be a multiple of 4 (two halvings), got {image_size}.")
        if channels < 8 or channels % 8:
            raise ValueError(f"channels must be a multiple of 8 (GroupNorm uses 8 groups), got {channels}.")
        self.config = {"arch": "UNet", "channels": channels, "emb_dim": emb_dim, "image_size": image_size,
                       "in_channels": in_channels, "num_train_timesteps": num_train_timesteps, "dropout": dropout}
        self.prediction_type = _check_prediction_type(prediction_type)
        if prediction_type != "epsilon":  # Lesson 6; absent for the noise predictors, whose configs stay as shipped
            self.config["prediction_type"] = prediction_type
        c = channels
        self.channels, self.image_size, self.in_channels = c, image_size, in_channels
        self.num_train_timesteps = num_train_timesteps
        self.time_mlp = nn.Sequential(nn.Linear(c, emb_dim), nn.SiLU(), nn.Linear(emb_dim, emb_dim))
        self.conv_in = nn.Conv2d(in_channels, c, 3, padding=1)
        self.down1 = ResBlock(c, c, emb_dim, dropout=dropout)  # 8x8
        self.pool1 = nn.Conv2d(c, c, 3, stride=2, padding=1)  # -> 4x4
        self.down2 = ResBlock(c, 2 * c, emb_dim, dropout=dropout)  # 4x4
        self.pool2 = nn.Conv2d(2 * c, 2 * c, 3, stride=2, padding=1)  # -> 2x2
        self.mid = ResBlock(2 * c, 2 * c, emb_dim, dropout=dropout)  # 2x2: sees the whole digit
        self.up2 = ResBlock(4 * c, 2 * c, emb_dim, dropout=dropout)  # 4x4, after concatenating the skip from down2
        self.up1 = ResBlock(3 * c, c, emb_dim, dropout=dropout)  # 8x8, after concatenating the skip from down1
        self.conv_out = nn.Sequential(nn.GroupNorm(8, c), nn.SiLU(), nn.Conv2d(c, in_channels, 3, padding=1))
        nn.init.zeros_(self.conv_out[-1].weight)  # start by predicting eps = 0: a calm first step
        nn.init.zeros_(self.conv_out[-1].bias)
        # Lesson 5: a class label as one learned vector per class, ADDED to the time embedding as in Dhariwal &
        # Nichol 2021's class-conditional ADM: cheap (num_classes + 1 rows), and every ResBlock already receives
        # the embedding. Row num_classes is the null label ("no request"), which classifier-free guidance needs.
        self.num_classes = _check_num_classes(num_classes, null_label)
        if self.num_classes:
            self.config.update(num_classes=self.num_classes, null_label=self.num_classes)
            self.label_emb = nn.Embedding(self.num_classes + 1, emb_dim)
        # Lesson 7: a prompt of prompt_length token ids, embedded by text.PromptEmbedding (mean of the words'
        # vectors, a small MLP) and ADDED at the same place; null_prompt is "no request". Drawn after every other
        # weight, so an unconditional or digit-label model keeps exactly its config and weights.
        self.vocab_size = 0
        if vocab_size or prompt_length is not None or null_prompt is not None:
            from .text import PromptEmbedding, check_text_config

            if self.num_classes:
                raise ValueError("a model takes class labels (num_classes) or prompts (vocab_size), not both.")
            if null_prompt is None:
                raise ValueError("a text-conditional UNet needs null_prompt= (e.g. crayons.null_tokens().tolist()): "
                                 "the prompt that means no request.")
            plen = prompt_length if prompt_length is not None else (len(null_prompt) if isinstance(
                null_prompt, (list, tuple)) else None)
            self.vocab_size, self.prompt_length, null = check_text_config(vocab_size, plen, null_prompt)
            self.config.update(vocab_size=self.vocab_size, prompt_length=self.prompt_length, null_prompt=null)
            self.prompt_emb = PromptEmbedding(self.vocab_size, emb_dim)

    def null_condition(self, n: int, device=None) -> torch.Tensor:
        """The null request for n examples (Lessons 5 and 7): the null label (n,) or the null prompt (n, L)."""
        return _null_condition(self, n, device)

    def forward(self, x: torch.Tensor, t: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """x (N, C, H, W), t (N,) long; y (N,) long labels for a conditional model (None: the null label), or for a
        text-conditional one (Lesson 7) (N, L) long token ids (None: the null prompt)."""
        _check_input(self, x, "images")
        s = self.image_size
        if x.ndim != 4 or x.shape[1] != self.in_channels or x.shape[2:] != (s, s):
            raise ValueError(
                f"this UNet takes images shaped (N, {self.in_channels}, {s}, {s}), got {tuple(x.shape)}."
            )
        t = _time_input(self, t, x.shape[0])  # integer timesteps, or t * T for a velocity model (Lesson 6)
        emb = self.time_mlp(timestep_embedding(t, self.channels).to(x.dtype))  # (N, emb_dim)
        label = _label_embedding(self, y, x.shape[0], x.device)
        if label is not None:
            emb = emb + label  # (N, emb_dim): the request joins the timestep (Lesson 5)
        h1 = self.down1(self.conv_in(x), emb)  # (N, c, 8, 8)   skip 1
        h2 = self.down2(self.pool1(h1), emb)  # (N, 2c, 4, 4)  skip 2
        h = self.mid(self.pool2(h2), emb)  # (N, 2c, 2, 2)
        h = F.interpolate(h, scale_factor=2, mode="nearest")  # (N, 2c, 4, 4)
        h = self.up2(torch.cat([h, h2], dim=1), emb)  # (N, 2c, 4, 4)
        h = F.interpolate(h, scale_factor=2, mode="nearest")  # (N, 2c, 8, 8)
        h = self.up1(torch.cat([h, h1], dim=1), emb)  # (N, c, 8, 8)
        return self.conv_out(h)  # (N, 1, 8, 8): the predicted noise


ARCHITECTURES = {"UNet": UNet, "PointDenoiser": PointDenoiser}


def build_model(config: dict) -> nn.Module:
    """Rebuild a model from its ``config`` dict (as stored in a checkpoint)."""
    config = dict(config)
    arch = config.pop("arch", None)
    if arch not in ARCHITECTURES:
        raise ValueError(f"unknown architecture {arch!r}: expected one of {sorted(ARCHITECTURES)}.")
    return ARCHITECTURES[arch](**config)
