"""AdamW with open_clip's no-decay rule and learning-rate schedules (Sources/GapOptim).

GapLab's Swift AdamW follows torch.optim.AdamW's single-tensor CPU path operation by operation, so torch's
own optimiser is used here (on CPU torch picks that path); the schedules are open_clip_train's.
"""
import math

import torch

from ._openclip import const_lr, cosine_lr

LOGIT_SCALE_MAX = math.log(100)


def open_clip_decays(name, ndim):
    """open_clip's rule: no decay when ndim < 2 or the name contains "bn", "ln", "bias" or "logit_scale"."""
    if ndim < 2:
        return False
    return not any(marker in name for marker in ("bn", "ln", "bias", "logit_scale"))


def trainable_parameters(model, train):
    """(name, parameter) pairs the optimiser updates: all, less the logit scale when it is not learned."""
    return [(n, p) for n, p in model.named_parameters() if train.learn_logit_scale or n != "logit_scale"]


def make_optimizer(model, train):
    named = trainable_parameters(model, train)
    decayed = [p for n, p in named if open_clip_decays(n, p.ndim)]
    exempt = [p for n, p in named if not open_clip_decays(n, p.ndim)]
    groups = [{"params": exempt, "weight_decay": 0.0}, {"params": decayed, "weight_decay": train.wd}]
    return torch.optim.AdamW(groups, lr=train.lr, betas=(train.beta1, train.beta2), eps=train.eps)


def make_schedule(optimizer, train, total_steps):
    """open_clip's schedule as a function of the 0-based step about to run; it sets the groups' lr and returns it.

    Linear warm-up base·(step+1)/warmup for step < warmup, then "cosine": ½(1 + cos(π(step−warmup)/(total−warmup)))·base
    or "const": base.
    """
    kind = {"cosine": cosine_lr, "const": const_lr}[train.lr_scheduler]
    return kind(optimizer, train.lr, train.warmup, total_steps)


def clamp_logit_scale(model):
    """open_clip clamps the logit scale to [0, ln 100] after every optimiser step."""
    with torch.no_grad():
        model.logit_scale.clamp_(0, LOGIT_SCALE_MAX)
