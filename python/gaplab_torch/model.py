"""CLIP-style models of any sharing depth, built from open_clip's own classes, with GapLab's parameter names.

The layout follows Sources/GapModel/ParameterLayout.swift:
- two towers (sharing.depth 0, no shared head): open_clip's CLIP state-dict names exactly;
- fully shared (depth = layers in both towers, shared head): the AlignCLIP reference code's names
  (`transformer.resblocks.N`, `ln_post`, `projection`, `text.token_embedding.weight`, `text.positional_embedding`);
- anything in between: open_clip's names for everything a tower owns, `shared.resblocks.N` for the shared top
  blocks (N counted in the vision tower) and `shared.ln_post`, `shared.projection` for a shared head.

Each tower runs its own bottom blocks, then the shared ones (images and texts as separate sequences, the text
with open_clip's causal mask), then its final LayerNorm on every token, pools (class token; end-of-text token
found as argmax of the ids, as open_clip), projects and L2-normalises.
"""
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.checkpoint import checkpoint

from ._openclip import CLIP, LayerNorm, text_global_pool


class GapCLIP(nn.Module):
    def __init__(self, config):
        """Builds open_clip's CLIP (its initialisation, from torch's global RNG) and regroups its modules.

        Shared blocks are the text tower's top blocks (open_clip's text init, as the Swift layout's
        `addTextStyleBlock`); a shared projection is the text projection; a shared LayerNorm is new (ones, zeros).
        """
        super().__init__()
        self.config = config
        self.naming = config.naming
        self.grad_checkpointing = False
        v, t, k = config.vision, config.text, config.sharing_depth
        base = CLIP(config.embed_dim, v.open_clip_cfg(), t.open_clip_cfg(), quick_gelu=False,
                    init_logit_scale=config.init_logit_scale)
        vision_own = list(base.visual.transformer.resblocks)[:v.layers - k]
        text_blocks = list(base.transformer.resblocks)
        text_own, shared = text_blocks[:t.layers - k], text_blocks[t.layers - k:]

        self.logit_scale = base.logit_scale
        self.visual = nn.Module()
        self.visual.conv1 = base.visual.conv1
        self.visual.class_embedding = base.visual.class_embedding
        self.visual.positional_embedding = base.visual.positional_embedding
        self.visual.ln_pre = base.visual.ln_pre
        self.register_buffer("attn_mask", base.attn_mask, persistent=False)

        if self.naming == "alignCLIP":
            self.text = nn.Module()
            self.text.token_embedding = base.token_embedding
            self.text.positional_embedding = base.positional_embedding
            self.transformer = base.transformer  # all blocks, shared
            self.ln_post = LayerNorm(t.width)
            self.projection = base.text_projection
            return

        self.positional_embedding = base.positional_embedding
        self.token_embedding = base.token_embedding
        self.visual.transformer = base.visual.transformer
        self.visual.transformer.resblocks = nn.ModuleList(vision_own)
        self.transformer = base.transformer
        self.transformer.resblocks = nn.ModuleList(text_own)
        if not config.sharing_head:
            self.visual.ln_post = base.visual.ln_post
            self.visual.proj = base.visual.proj
            self.ln_final = base.ln_final
            self.text_projection = base.text_projection
        if self.naming == "partial":
            self.shared = nn.Module()
            first = v.layers - k
            self.shared.resblocks = nn.ModuleDict({str(first + i): block for i, block in enumerate(shared)})
            if config.sharing_head:
                self.shared.ln_post = LayerNorm(t.width)
                self.shared.projection = base.text_projection

    # -- the towers' pieces -------------------------------------------------------------------------------------

    def _shared_blocks(self):
        if self.naming == "alignCLIP":
            return list(self.transformer.resblocks)
        if self.naming == "partial":
            return list(self.shared.resblocks.values())
        return []

    def vision_blocks(self):
        own = [] if self.naming == "alignCLIP" else list(self.visual.transformer.resblocks)
        return own + self._shared_blocks()

    def text_blocks(self):
        own = [] if self.naming == "alignCLIP" else list(self.transformer.resblocks)
        return own + self._shared_blocks()

    def vision_head(self):
        """(final LayerNorm, projection [width, embed_dim])."""
        if self.naming == "alignCLIP":
            return self.ln_post, self.projection
        if self.config.sharing_head:
            return self.shared.ln_post, self.shared.projection
        return self.visual.ln_post, self.visual.proj

    def text_head(self):
        if self.naming == "alignCLIP":
            return self.ln_post, self.projection
        if self.config.sharing_head:
            return self.shared.ln_post, self.shared.projection
        return self.ln_final, self.text_projection

    def text_embeddings(self):
        """(token embedding module, positional embedding)."""
        if self.naming == "alignCLIP":
            return self.text.token_embedding, self.text.positional_embedding
        return self.token_embedding, self.positional_embedding

    def set_grad_checkpointing(self, enable=True):
        self.grad_checkpointing = enable

    def _run_blocks(self, blocks, x, attn_mask):
        for block in blocks:
            if self.grad_checkpointing and self.training:
                # As open_clip's Transformer: recompute each block's activations in the backward pass.
                x = checkpoint(block, x, None, None, attn_mask, use_reentrant=False)
            else:
                x = block(x, attn_mask=attn_mask)
        return x

    # -- forward ------------------------------------------------------------------------------------------------

    def encode_image(self, images):
        """L2-normalised image embeddings [batch, embed_dim] of images [batch, 3, S, S]."""
        vis = self.visual
        x = vis.conv1(images)
        x = x.reshape(x.shape[0], x.shape[1], -1).permute(0, 2, 1)
        x = torch.cat([vis.class_embedding.view(1, 1, -1).expand(x.shape[0], -1, -1).to(x.dtype), x], dim=1)
        x = x + vis.positional_embedding.to(x.dtype)
        x = vis.ln_pre(x)
        x = self._run_blocks(self.vision_blocks(), x, None)
        ln, proj = self.vision_head()
        x = ln(x)
        return F.normalize(x[:, 0] @ proj, dim=-1)

    def encode_text(self, tokens):
        """L2-normalised text embeddings [batch, embed_dim] of token ids [batch, context] (int64)."""
        token_embedding, positional = self.text_embeddings()
        x = token_embedding(tokens) + positional
        x = self._run_blocks(self.text_blocks(), x, self.attn_mask)
        ln, proj = self.text_head()
        x = ln(x)
        x = text_global_pool(x, tokens, "argmax")
        return F.normalize(x @ proj, dim=-1)

    def forward(self, images, tokens):
        return self.encode_image(images), self.encode_text(tokens)

    # -- weights ------------------------------------------------------------------------------------------------

    def parameter_count(self):
        return sum(p.numel() for p in self.parameters())

    def weights(self):
        """Every parameter by name as contiguous float32 CPU tensors (what a weights file holds)."""
        return {name: p.detach().to("cpu", torch.float32).contiguous() for name, p in self.named_parameters()}

    def load_weights(self, tensors, source):
        """Copies `tensors` (name → tensor) into the parameters; every parameter must be there with its shape.

        As GapLab's loader, an unused `text.text_projection` (AlignCLIP's reference code keeps one) and
        `attn_mask` buffers are accepted and skipped; any other extra tensor is an error.
        """
        params = dict(self.named_parameters())
        for name, p in params.items():
            if name not in tensors:
                raise ValueError(f"{source}: missing tensor '{name}' (shape {list(p.shape)}) — check model.sharing")
            if tuple(tensors[name].shape) != tuple(p.shape):
                raise ValueError(f"{source}: tensor '{name}' has shape {list(tensors[name].shape)}, "
                                 f"the model expects {list(p.shape)}")
        for name in sorted(tensors):
            if name not in params and name != "text.text_projection" and not name.endswith("attn_mask"):
                raise ValueError(f"{source}: unexpected tensor '{name}' (not part of this model; check the "
                                 f"sharing settings)")
        with torch.no_grad():
            for name, p in params.items():
                p.copy_(tensors[name].to(p.dtype))
