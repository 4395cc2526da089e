"""Tiny transformer encoder for Parapet's guard classifier (tract/wasm friendly).

Plain ops only (Gather, MatMul, Add, Softmax, LayerNorm, tanh-GELU, ReduceMean/Max) so the
TorchScript ONNX exporter (opset 17) produces a graph tract loads and optimizes.
Output: logits [B, 7] in the fixed order HEADS; apply sigmoid per head (multi-label).
"""
import math

import torch
import torch.nn as nn

HEADS = ["prompt_attack", "hate", "sexual", "violence", "self_harm", "weapons", "crime"]


class Config:
    def __init__(self, vocab=30522, d=128, layers=2, heads=4, ffn=512, max_pos=256, n_out=7, dropout=0.1):
        self.vocab, self.d, self.layers, self.heads, self.ffn = vocab, d, layers, heads, ffn
        self.max_pos, self.n_out, self.dropout = max_pos, n_out, dropout

    def to_dict(self):
        return dict(self.__dict__)


class Block(nn.Module):
    """Pre-LN transformer block with explicit attention (no fused kernels)."""

    def __init__(self, c):
        super().__init__()
        self.h = c.heads
        self.dh = c.d // c.heads
        self.ln1 = nn.LayerNorm(c.d)
        self.qkv = nn.Linear(c.d, 3 * c.d)
        self.proj = nn.Linear(c.d, c.d)
        self.ln2 = nn.LayerNorm(c.d)
        self.fc1 = nn.Linear(c.d, c.ffn)
        self.act = nn.GELU(approximate="tanh")
        self.fc2 = nn.Linear(c.ffn, c.d)
        self.drop = nn.Dropout(c.dropout)

    def forward(self, x, bias):
        B, S, D = x.shape
        q, k, v = self.qkv(self.ln1(x)).split(D, dim=2)
        q = q.reshape(B, S, self.h, self.dh).transpose(1, 2)
        k = k.reshape(B, S, self.h, self.dh).transpose(1, 2)
        v = v.reshape(B, S, self.h, self.dh).transpose(1, 2)
        att = torch.matmul(q, k.transpose(2, 3)) * (1.0 / math.sqrt(self.dh)) + bias
        att = torch.softmax(att, dim=-1)
        y = torch.matmul(att, v).transpose(1, 2).reshape(B, S, D)
        x = x + self.drop(self.proj(y))
        x = x + self.drop(self.fc2(self.act(self.fc1(self.ln2(x)))))
        return x


class GuardModel(nn.Module):
    def __init__(self, c: Config):
        super().__init__()
        self.c = c
        self.tok = nn.Embedding(c.vocab, c.d)
        self.pos = nn.Embedding(c.max_pos, c.d)
        self.ln_emb = nn.LayerNorm(c.d)
        self.blocks = nn.ModuleList([Block(c) for _ in range(c.layers)])
        self.ln_f = nn.LayerNorm(c.d)
        self.drop = nn.Dropout(c.dropout)
        # mean- and max-pooled features: max pooling keeps a local signal (an injection
        # sentence inside a long benign window) from being averaged away.
        self.head = nn.Linear(2 * c.d, c.n_out)

    def pooled(self, input_ids, attention_mask):
        """The features the output layer reads: masked mean and max of the encoder output."""
        S = input_ids.shape[1]
        pos_ids = torch.arange(S, device=input_ids.device).unsqueeze(0)
        x = self.ln_emb(self.tok(input_ids) + self.pos(pos_ids))
        x = self.drop(x)
        m = attention_mask.to(x.dtype)  # [B, S]
        bias = ((1.0 - m) * -10000.0).unsqueeze(1).unsqueeze(2)  # [B,1,1,S]
        for b in self.blocks:
            x = b(x, bias)
        x = self.ln_f(x)
        me = m.unsqueeze(2)
        mean = (x * me).sum(dim=1) / me.sum(dim=1).clamp(min=1.0)
        mx = (x + (me - 1.0) * 10000.0).max(dim=1).values
        return torch.cat([mean, mx], dim=1)

    def forward(self, input_ids, attention_mask):
        return self.head(self.drop(self.pooled(input_ids, attention_mask)))
