"""What would cross-attention cost on a CPU at 16 px? (Lesson 7: the prompt is ADDED to the time embedding instead.)

    OMP_NUM_THREADS=1 python scripts/crayons_attention_cost.py

Times one training step (forward and backward, batch 128, 16 x 16 colour drawings) of the course's text-conditional
U-Net (mean of the words' vectors, added to the time embedding) against the same U-Net with Stable Diffusion's
way of reading a prompt added: cross-attention from every pixel to the prompt's 3 word vectors (Rombach et al.
2022), after the 8 x 8 block and in the 4 x 4 middle. Interleaved rounds, the median of each; prints the ratio.
"""

from __future__ import annotations

import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import course_utils as cu  # noqa: E402
from course_utils import crayons  # noqa: E402
from course_utils.models import timestep_embedding  # noqa: E402


class CrossAttention(nn.Module):
    """Every pixel's features (queries) attend to the prompt's word vectors (keys, values); residual."""

    def __init__(self, channels: int, context_dim: int, heads: int = 4):
        super().__init__()
        self.norm = nn.GroupNorm(8, channels)
        self.attn = nn.MultiheadAttention(channels, heads, kdim=context_dim, vdim=context_dim, batch_first=True)

    def forward(self, h: torch.Tensor, context: torch.Tensor, pad: torch.Tensor) -> torch.Tensor:
        n, c, hh, ww = h.shape
        q = self.norm(h).flatten(2).transpose(1, 2)  # (N, HW, C)
        out, _ = self.attn(q, context, context, key_padding_mask=pad)  # (N, HW, C)
        return h + out.transpose(1, 2).reshape(n, c, hh, ww)


class CrossAttentionUNet(cu.UNet):
    def __init__(self, **kw):
        super().__init__(**kw)
        c, d = self.channels, self.config["emb_dim"]
        self.attn2, self.attn_mid = CrossAttention(2 * c, d), CrossAttention(2 * c, d)

    def forward(self, x, t, y):
        emb = self.time_mlp(timestep_embedding(t, self.channels)) + self.prompt_emb(y)
        context, pad = self.prompt_emb.tokens(y), y == crayons.PAD_ID  # (N, L, d), (N, L)
        h1 = self.down1(self.conv_in(x), emb)
        h2 = self.attn2(self.down2(self.pool1(h1), emb), context, pad)
        h = self.attn_mid(self.mid(self.pool2(h2), emb), context, pad)
        h = self.up2(torch.cat([F.interpolate(h, scale_factor=2), h2], 1), emb)
        h = self.up1(torch.cat([F.interpolate(h, scale_factor=2), h1], 1), emb)
        return self.conv_out(h)


def main() -> int:
    torch.manual_seed(0)
    kw = dict(channels=32, image_size=16, in_channels=3, vocab_size=len(crayons.VOCAB),
              prompt_length=crayons.PROMPT_LENGTH, null_prompt=crayons.null_tokens().tolist())
    models = {"added to the time embedding (the course)": cu.UNet(**kw), "+ cross-attention at 8x8 and 4x4":
              CrossAttentionUNet(**kw)}
    d = cu.make_drawings(128, 16, seed=0)
    x, y, t = d.images, d.tokens, torch.randint(0, 1000, (128,))
    times = {k: [] for k in models}
    opts = {k: torch.optim.Adam(m.parameters(), 1e-4) for k, m in models.items()}
    for r in range(12):
        for k, m in models.items():
            tic = time.perf_counter()
            loss = ((m(x, t, y) - x) ** 2).mean()
            opts[k].zero_grad()
            loss.backward()
            opts[k].step()
            if r >= 2:  # the first rounds warm up
                times[k].append(time.perf_counter() - tic)
    base = statistics.median(times[next(iter(models))])
    for k, m in models.items():
        med = statistics.median(times[k])
        print(f"{k:45s} {sum(p.numel() for p in m.parameters()):>8,} weights, {med * 1000:6.0f} ms a step "
              f"({med / base:.2f}x)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
