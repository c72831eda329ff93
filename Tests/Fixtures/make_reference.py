#!/usr/bin/env python3
"""Writes the PyTorch parity fixtures for GapLab's Swift training engine.

Generated with (pinned in requirements.txt beside this file; pip install -r Tests/Fixtures/requirements.txt):
    Python 3.11.7, torch 2.13.0+cpu, open-clip-torch 3.3.0, safetensors 0.8.0, numpy 2.4.6,
    timm 1.0.31, torchvision 0.28.0 (imported by open_clip only; none of its ops is used).

Run from the repository root:
    python3 Tests/Fixtures/make_reference.py            # writes Tests/Fixtures/reference_*.safetensors

Each fixture holds one tiny model at init, one batch, the forward outputs, the loss, the gradient of
every parameter at init, and every parameter after one and after three AdamW steps on that batch with
open_clip's cosine schedule and logit-scale clamp. README.md beside this file lists the keys. The
output is byte-identical from run to run.

  A  reference_two_tower.safetensors  open_clip's own CLIP and ClipLoss.
  B  reference_shared.safetensors     fully shared model (SharedCLIP) trained with the AlignCLIP loss.
  C  reference_partial.safetensors    two towers whose top block (1 of 2) is shared, head not shared,
                                      ClipLoss.

Fixtures B and C are built from open_clip's Transformer (ResidualAttentionBlock); before saving, the
script checks that their hand-written forward equals open_clip's CLIP forward run on the same weights.
"""

import argparse
import importlib.util
import json
import math
import pathlib
import platform

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
import struct

from safetensors.torch import save


import openclip_import  # noqa: E402,F401  (makes `import open_clip` work next to CPU-only torch)

import open_clip  # noqa: E402
from open_clip.loss import ClipLoss  # noqa: E402
from open_clip.model import CLIP  # noqa: E402
from open_clip.transformer import LayerNorm, Transformer, text_global_pool  # noqa: E402
from open_clip_train.scheduler import cosine_lr  # noqa: E402
import safetensors  # noqa: E402

CONFIG = {
    "embed_dim": 16,
    "quick_gelu": False,
    "vision_cfg": {"image_size": 8, "patch_size": 4, "width": 16, "layers": 2, "head_width": 8, "mlp_ratio": 4.0},
    "text_cfg": {"context_length": 8, "vocab_size": 64, "width": 16, "heads": 2, "layers": 2, "mlp_ratio": 4.0},
}
BATCH = 6
MODEL_SEED = 0
INPUT_SEED = 1234
# Number of caption tokens between <sot> and <eot> per row; row 1 fills the context (eot at position 7).
CAPTION_LENGTHS = [3, 6, 1, 4, 0, 2]
CAPTION_EMBED_DIM = 12

OPTIM = {
    "optimizer": "torch.optim.AdamW",
    "betas": [0.9, 0.98],
    "eps": 1e-6,
    "weight_decay": 0.1,
    "decay_rule": "open_clip: no decay when ndim < 2 or the name contains 'bn', 'ln', 'bias' or 'logit_scale'",
    "schedule": "open_clip_train.scheduler.cosine_lr",
    "base_lr": 1e-3,
    "warmup_length": 2,
    "steps": 3,
    "logit_scale_clamp": [0.0, math.log(100)],
    "order": "lr = schedule(step); zero_grad; forward; backward; optimizer.step(); logit_scale.clamp_",
}
ALIGNCLIP_ALPHA = 1.0
ALIGNCLIP_BETA = 0.5


# ---------------------------------------------------------------------------------------------------
# Inputs


def make_inputs():
    gen = torch.Generator().manual_seed(INPUT_SEED)
    vision, text = CONFIG["vision_cfg"], CONFIG["text_cfg"]
    images = torch.randn(BATCH, 3, vision["image_size"], vision["image_size"], generator=gen, dtype=torch.float32)
    vocab, context = text["vocab_size"], text["context_length"]
    sot, eot = vocab - 2, vocab - 1
    tokens = torch.zeros(BATCH, context, dtype=torch.int64)
    for row, length in enumerate(CAPTION_LENGTHS):
        assert length + 2 <= context
        tokens[row, 0] = sot
        tokens[row, 1:1 + length] = torch.randint(1, vocab - 3, (length,), generator=gen)  # ids 1...60
        tokens[row, 1 + length] = eot
    caption_embeds = F.normalize(torch.randn(BATCH, CAPTION_EMBED_DIM, generator=gen), dim=-1)
    semantic_d = 1.0 - caption_embeds @ caption_embeds.T
    semantic_d.fill_diagonal_(0.0)  # 1 - cos(e_i, e_i) is zero; rounding would leave about 1e-7
    return images, tokens, semantic_d


# ---------------------------------------------------------------------------------------------------
# Models


def _causal_mask(context_length):
    mask = torch.empty(context_length, context_length)
    mask.fill_(float("-inf"))
    mask.triu_(1)
    return mask


def _vision_heads(vision_cfg):
    return vision_cfg["width"] // vision_cfg["head_width"]


class SharedCLIP(nn.Module):
    """SharedCLIP / AlignCLIP: one transformer, final LayerNorm and projection for both modalities.

    Parameter names follow the reference code's state dict (METHOD.md section 7), without its unused
    `text.text_projection`.
    """

    def __init__(self, embed_dim, vision_cfg, text_cfg):
        super().__init__()
        width, layers = vision_cfg["width"], vision_cfg["layers"]
        heads = _vision_heads(vision_cfg)
        if (width, layers, heads) != (text_cfg["width"], text_cfg["layers"], text_cfg["heads"]):
            raise ValueError("SharedCLIP needs equal width, layers and heads in vision_cfg and text_cfg")
        if vision_cfg["mlp_ratio"] != text_cfg["mlp_ratio"]:
            raise ValueError("SharedCLIP needs equal mlp_ratio in vision_cfg and text_cfg")
        patch, grid = vision_cfg["patch_size"], vision_cfg["image_size"] // vision_cfg["patch_size"]
        scale = width ** -0.5

        self.visual = nn.Module()
        self.visual.conv1 = nn.Conv2d(3, width, kernel_size=patch, stride=patch, bias=False)
        self.visual.class_embedding = nn.Parameter(scale * torch.randn(width))
        self.visual.positional_embedding = nn.Parameter(scale * torch.randn(grid * grid + 1, width))
        self.visual.ln_pre = LayerNorm(width)

        self.text = nn.Module()
        self.text.token_embedding = nn.Embedding(text_cfg["vocab_size"], width)
        self.text.positional_embedding = nn.Parameter(torch.empty(text_cfg["context_length"], width))

        self.transformer = Transformer(width, layers, heads, vision_cfg["mlp_ratio"])
        self.ln_post = LayerNorm(width)
        self.projection = nn.Parameter(torch.empty(width, embed_dim))
        self.logit_scale = nn.Parameter(torch.ones([]) * np.log(1 / 0.07))
        self.register_buffer("attn_mask", _causal_mask(text_cfg["context_length"]), persistent=False)
        self._init_like_open_clip_text_tower()

    def _init_like_open_clip_text_tower(self):
        # open_clip's TextTransformer.init_parameters, applied to the shared blocks and projection.
        width, layers = self.transformer.width, self.transformer.layers
        nn.init.normal_(self.text.token_embedding.weight, std=0.02)
        nn.init.normal_(self.text.positional_embedding, std=0.01)
        proj_std = (width ** -0.5) * ((2 * layers) ** -0.5)
        attn_std = width ** -0.5
        fc_std = (2 * width) ** -0.5
        for block in self.transformer.resblocks:
            nn.init.normal_(block.attn.in_proj_weight, std=attn_std)
            nn.init.normal_(block.attn.out_proj.weight, std=proj_std)
            nn.init.normal_(block.mlp.c_fc.weight, std=fc_std)
            nn.init.normal_(block.mlp.c_proj.weight, std=proj_std)
        nn.init.normal_(self.projection, std=width ** -0.5)

    def encode_image(self, images):
        x = self.visual.conv1(images)
        x = x.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1)
        x = torch.cat([self.visual.class_embedding.view(1, 1, -1).expand(x.shape[0], -1, -1), x], dim=1)
        x = x + self.visual.positional_embedding
        x = self.visual.ln_pre(x)
        x = self.transformer(x)
        x = self.ln_post(x)
        return F.normalize(x[:, 0] @ self.projection, dim=-1)

    def encode_text(self, tokens):
        x = self.text.token_embedding(tokens) + self.text.positional_embedding
        x = self.transformer(x, attn_mask=self.attn_mask)
        x = self.ln_post(x)
        x = text_global_pool(x, tokens, "argmax")
        return F.normalize(x @ self.projection, dim=-1)

    def as_open_clip_state_dict(self):
        """The same weights under open_clip CLIP's names (shared tensors duplicated per tower)."""
        state = {}
        for name, tensor in self.state_dict().items():
            if name.startswith("visual."):
                state[name] = tensor
            elif name.startswith("text."):
                state[name[len("text."):]] = tensor
            elif name.startswith("transformer."):
                state[name] = tensor
                state["visual." + name] = tensor
            elif name.startswith("ln_post."):
                state["visual." + name] = tensor
                state["ln_final." + name[len("ln_post."):]] = tensor
            elif name == "projection":
                state["visual.proj"] = tensor
                state["text_projection"] = tensor
            elif name == "logit_scale":
                state[name] = tensor
            else:
                raise KeyError(name)
        return state


class PartiallySharedCLIP(nn.Module):
    """Two open_clip towers whose top `shared_depth` blocks are one set of weights; head not shared.

    Names: open_clip's two-tower names for everything a tower owns (`visual.transformer.resblocks.i`
    and `transformer.resblocks.i` for i < layers - shared_depth), `shared.resblocks.i` for the shared
    blocks, keeping their depth index i.
    """

    def __init__(self, embed_dim, vision_cfg, text_cfg, shared_depth):
        super().__init__()
        layers = vision_cfg["layers"]
        heads = _vision_heads(vision_cfg)
        if (vision_cfg["width"], layers, heads) != (text_cfg["width"], text_cfg["layers"], text_cfg["heads"]):
            raise ValueError("shared blocks need equal width, layers and heads in vision_cfg and text_cfg")
        if not 0 <= shared_depth <= layers:
            raise ValueError(f"shared_depth must be in 0...{layers}, got {shared_depth}")
        # Start from open_clip's CLIP (its init), keep each tower's bottom blocks, and take the text
        # tower's top blocks (text init) as the shared ones.
        base = CLIP(embed_dim, vision_cfg, text_cfg, quick_gelu=False)
        own = layers - shared_depth
        self.positional_embedding = base.positional_embedding
        self.text_projection = base.text_projection
        self.logit_scale = base.logit_scale
        self.visual = base.visual
        self.visual.transformer.resblocks = nn.ModuleList(list(base.visual.transformer.resblocks)[:own])
        self.transformer = base.transformer
        shared_blocks = list(base.transformer.resblocks)[own:]
        self.transformer.resblocks = nn.ModuleList(list(base.transformer.resblocks)[:own])
        self.token_embedding = base.token_embedding
        self.ln_final = base.ln_final
        self.shared = nn.Module()
        self.shared.resblocks = nn.ModuleDict({str(own + i): block for i, block in enumerate(shared_blocks)})
        self.register_buffer("attn_mask", base.attn_mask, persistent=False)

    def _shared_blocks(self, x, attn_mask=None):
        for block in self.shared.resblocks.values():
            x = block(x, attn_mask=attn_mask)
        return x

    def encode_image(self, images):
        x = self.visual._embeds(images)
        x = self.visual.transformer(x)
        x = self._shared_blocks(x)
        pooled, _ = self.visual._pool(x)
        return F.normalize(pooled @ self.visual.proj, dim=-1)

    def encode_text(self, tokens):
        x = self.token_embedding(tokens) + self.positional_embedding
        x = self.transformer(x, attn_mask=self.attn_mask)
        x = self._shared_blocks(x, attn_mask=self.attn_mask)
        x = self.ln_final(x)
        x = text_global_pool(x, tokens, "argmax")
        return F.normalize(x @ self.text_projection, dim=-1)

    def as_open_clip_state_dict(self):
        state = {}
        for name, tensor in self.state_dict().items():
            if name.startswith("shared.resblocks."):
                rest = name[len("shared."):]
                state["visual.transformer." + rest] = tensor
                state["transformer." + rest] = tensor
            else:
                state[name] = tensor
        return state


def check_against_open_clip(model, images, tokens):
    """The hand-written forward must equal open_clip's CLIP forward on the same weights."""
    reference = CLIP(CONFIG["embed_dim"], CONFIG["vision_cfg"], CONFIG["text_cfg"], quick_gelu=False)
    reference.load_state_dict(model.as_open_clip_state_dict(), strict=True)
    with torch.no_grad():
        image_ref, text_ref, _ = reference(images, tokens)
        image, text = model.encode_image(images), model.encode_text(tokens)
    image_err = (image - image_ref).abs().max().item()
    text_err = (text - text_ref).abs().max().item()
    if image_err > 1e-6 or text_err > 1e-6:
        raise AssertionError(f"forward differs from open_clip: image {image_err:.3g}, text {text_err:.3g}")


# ---------------------------------------------------------------------------------------------------
# Losses. Each returns a dict with "loss" (what is differentiated) plus named outputs.


def clip_loss(model, images, tokens):
    if isinstance(model, CLIP):
        image_embeds, text_embeds, scale = model(images, tokens)  # normalised features, exp(logit_scale)
    else:
        image_embeds, text_embeds = model.encode_image(images), model.encode_text(tokens)
        scale = model.logit_scale.exp()
    loss = ClipLoss()(image_embeds, text_embeds, scale)
    return {"loss": loss, "image_embeds": image_embeds, "text_embeds": text_embeds}


def alignclip_loss(semantic_d):
    def loss_fn(model, images, tokens):
        v, t = model.encode_image(images), model.encode_text(tokens)
        s = model.logit_scale.exp()
        labels = torch.arange(v.shape[0])
        logits_per_image = s * v @ t.T
        cross = F.cross_entropy(logits_per_image, labels) + F.cross_entropy(logits_per_image.T, labels)
        eye = torch.eye(v.shape[0], dtype=v.dtype)
        paired = s * (v * t).sum(dim=-1)
        imsep_logits = (s * (v @ v.T) * semantic_d) * (1 - eye) + torch.diag(paired)
        imsep = F.cross_entropy(imsep_logits, labels)
        loss = ALIGNCLIP_ALPHA * cross + ALIGNCLIP_BETA * imsep
        return {"loss": loss, "image_embeds": v, "text_embeds": t, "loss_cross": cross, "loss_imsep": imsep}

    return loss_fn


# ---------------------------------------------------------------------------------------------------
# Training


def is_decay_exempt(name, param):
    return param.ndim < 2 or "bn" in name or "ln" in name or "bias" in name or "logit_scale" in name


def make_optimizer(model):
    named = list(model.named_parameters())
    exempt = [p for n, p in named if is_decay_exempt(n, p) and p.requires_grad]
    decayed = [p for n, p in named if not is_decay_exempt(n, p) and p.requires_grad]
    return torch.optim.AdamW(
        [{"params": exempt, "weight_decay": 0.0}, {"params": decayed, "weight_decay": OPTIM["weight_decay"]}],
        lr=OPTIM["base_lr"], betas=tuple(OPTIM["betas"]), eps=OPTIM["eps"])


def build_fixture(model, loss_fn, images, tokens, extra_inputs, loss_meta, architecture):
    named = list(model.named_parameters())
    tensors = {}
    for name, param in named:
        tensors[f"param.{name}"] = param.detach().clone()
    tensors["input.images"] = images
    tensors["input.tokens"] = tokens
    tensors.update(extra_inputs)

    model.zero_grad(set_to_none=True)
    outputs = loss_fn(model, images, tokens)
    outputs["loss"].backward()
    for key, value in outputs.items():
        tensors[f"out.{key}"] = value.detach().clone()
    grads = {}
    for name, param in named:
        if param.grad is None:
            raise AssertionError(f"parameter {name} received no gradient")
        grads[name] = param.grad.detach().clone()
        tensors[f"grad.{name}"] = grads[name]

    optimizer = make_optimizer(model)
    scheduler = cosine_lr(optimizer, OPTIM["base_lr"], OPTIM["warmup_length"], OPTIM["steps"])
    lrs, step_losses = [], []
    for step in range(OPTIM["steps"]):
        lrs.append(scheduler(step))
        optimizer.zero_grad(set_to_none=True)
        loss = loss_fn(model, images, tokens)["loss"]
        loss.backward()
        if step == 0:
            for name, param in named:
                if not torch.equal(param.grad, grads[name]):
                    raise AssertionError(f"gradient of {name} is not reproducible")
        step_losses.append(loss.item())
        optimizer.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        if step == 0:
            # After one step the parameters depend only on init, grad.* and lrs[0]: this checks the
            # optimiser apart from the forward and backward passes.
            for name, param in named:
                tensors[f"step1.{name}"] = param.detach().clone()
    for name, param in named:
        tensors[f"step3.{name}"] = param.detach().clone()
    tensors["out.lrs"] = torch.tensor(lrs, dtype=torch.float32)
    tensors["out.step_losses"] = torch.tensor(step_losses, dtype=torch.float32)

    optim_meta = dict(OPTIM)
    optim_meta["decayed"] = [n for n, p in named if not is_decay_exempt(n, p)]
    optim_meta["lrs"] = lrs
    metadata = {
        "config": json.dumps(CONFIG),
        "loss": json.dumps(loss_meta),
        "optim": json.dumps(optim_meta),
        "architecture": architecture,
        "params": json.dumps([n for n, _ in named]),
        "inputs": json.dumps({"batch": BATCH, "input_seed": INPUT_SEED, "model_seed": MODEL_SEED,
                              "caption_lengths": CAPTION_LENGTHS}),
        "versions": json.dumps({"python": platform.python_version(), "torch": torch.__version__,
                                "open_clip": open_clip.__version__, "safetensors": safetensors.__version__,
                                "numpy": np.__version__}),
    }
    for key, value in tensors.items():
        if value.dtype not in (torch.float32, torch.int64):
            raise AssertionError(f"{key} has dtype {value.dtype}")
    return {k: v.contiguous() for k, v in tensors.items()}, metadata, grads


def save_canonical(tensors, path, metadata):
    """Writes a .safetensors file whose bytes depend only on its content.

    The safetensors writer emits the JSON header keys in hash order, which changes from run to run;
    re-emitting the same header with sorted keys (same length, same offsets) makes regeneration
    byte-identical, so an unchanged fixture shows no diff.
    """
    data = save(tensors, metadata=metadata)
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + header_len])
    canonical = json.dumps(header, sort_keys=True, separators=(",", ":")).encode()
    if len(canonical) > header_len:
        raise AssertionError(f"canonical header of {path} is longer than the original")
    canonical += b" " * (header_len - len(canonical))
    path.write_bytes(data[:8] + canonical + data[8 + header_len:])


def report(path, tensors, grads):
    print(f"{path.name}: {len(tensors)} tensors, loss {tensors['out.loss'].item():.6f}, "
          f"lrs {tensors['out.lrs'].tolist()}, step losses {tensors['out.step_losses'].tolist()}")
    overall = max(g.abs().max().item() for g in grads.values())
    print(f"  max |grad| over all parameters: {overall:.6g}")
    for name, grad in grads.items():
        zeros = int((grad == 0).sum().item())
        note = f"  exact zeros {zeros}/{grad.numel()}" if zeros else ""
        print(f"  grad {name:48s} max|g| {grad.abs().max().item():.6g}  min|g| {grad.abs().min().item():.3g}{note}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=pathlib.Path, default=pathlib.Path(__file__).resolve().parent,
                        help="directory for the .safetensors files (default: beside this script)")
    args = parser.parse_args()

    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    torch.set_default_dtype(torch.float32)
    images, tokens, semantic_d = make_inputs()
    vision, text = CONFIG["vision_cfg"], CONFIG["text_cfg"]

    torch.manual_seed(MODEL_SEED)
    two_tower = CLIP(CONFIG["embed_dim"], vision, text, quick_gelu=False)
    fixture_a = build_fixture(
        two_tower, clip_loss, images, tokens, {},
        {"kind": "clip", "formula": "ClipLoss: (CE(s V T^T) + CE(s T V^T)) / 2, s = exp(logit_scale)"},
        "open_clip.model.CLIP")

    torch.manual_seed(MODEL_SEED)
    shared = SharedCLIP(CONFIG["embed_dim"], vision, text)
    check_against_open_clip(shared, images, tokens)
    fixture_b = build_fixture(
        shared, alignclip_loss(semantic_d), images, tokens, {"input.semantic_D": semantic_d},
        {"kind": "alignclip", "alpha": ALIGNCLIP_ALPHA, "beta": ALIGNCLIP_BETA, "imsep": "images",
         "formula": "alpha * loss_cross + beta * loss_imsep; loss_cross = CE(s V T^T) + CE(s T V^T) (sum); "
                    "loss_imsep = CE(L), L_ii = s v_i.t_i, L_ij = s (v_i.v_j) D_ij (j != i)",
         "semantic_D": f"1 - cos(e_i, e_j), e = normalise(randn [{BATCH}, {CAPTION_EMBED_DIM}]), diagonal 0"},
        "SharedCLIP: shared transformer.resblocks, ln_post (image ln_post and text final LN), projection, "
        "logit_scale; image: visual.{conv1, class_embedding, positional_embedding, ln_pre}; "
        "text: text.{token_embedding, positional_embedding} with causal mask")

    torch.manual_seed(MODEL_SEED)
    partial = PartiallySharedCLIP(CONFIG["embed_dim"], vision, text, shared_depth=1)
    check_against_open_clip(partial, images, tokens)
    fixture_c = build_fixture(
        partial, clip_loss, images, tokens, {},
        {"kind": "clip", "formula": "ClipLoss: (CE(s V T^T) + CE(s T V^T)) / 2, s = exp(logit_scale)"},
        "partial sharing: depth 1 of 2, head not shared; own bottom blocks visual.transformer.resblocks.0 "
        "and transformer.resblocks.0, shared top block shared.resblocks.1 (applied to both modalities, "
        "causal mask for text), open_clip two-tower names otherwise")

    args.out.mkdir(parents=True, exist_ok=True)
    for filename, (tensors, metadata, grads) in [("reference_two_tower.safetensors", fixture_a),
                                                 ("reference_shared.safetensors", fixture_b),
                                                 ("reference_partial.safetensors", fixture_c)]:
        path = args.out / filename
        save_canonical(tensors, path, metadata)
        report(path, tensors, grads)


if __name__ == "__main__":
    main()
