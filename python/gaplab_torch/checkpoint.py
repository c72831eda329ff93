"""Weights files and training checkpoints in GapLab's format (Sources/GapTrain/TrainingCheckpoint.swift).

A weights file is safetensors with the model's parameter names and shapes (`logit_scale` 0-dim), float32,
metadata `format: pt` plus `gaplab.*` strings: GapLab's CLIPModel.loadWeights reads it and this package
reads GapLab's. A checkpoint is a weights file at CKPT.safetensors with `gaplab.step`, `gaplab.epoch`,
`gaplab.optimizer_step`, `gaplab.seed`, and the optimiser state beside it at CKPT.optim.safetensors
(`exp_avg.<name>`, `exp_avg_sq.<name>` per parameter, the same metadata). `gaplab.step` counts the steps
done and `gaplab.epoch` the epochs completed, so a checkpoint written inside an epoch resumes at batch
step − epoch·steps_per_epoch of that epoch.
"""
import os

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file


def optimizer_state_path(path):
    """`CKPT.optim.safetensors` for `CKPT.safetensors`, as GapLab's optimizerStatePath."""
    suffix = ".safetensors"
    return path[:-len(suffix)] + ".optim.safetensors" if path.endswith(suffix) else path + ".optim"


def _write(tensors, path, metadata):
    # Written beside the target and renamed, so a crash never leaves a half-written file.
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = f"{path}.tmp-{os.getpid()}"
    save_file(tensors, tmp, metadata={"format": "pt", **{k: str(v) for k, v in metadata.items()}})
    os.replace(tmp, path)


def save_weights(model, path, metadata):
    _write(model.weights(), path, metadata)


def read_weights(path):
    """(tensors, metadata) of a weights file, errors naming the file."""
    if not os.path.exists(path):
        raise ValueError(f"{path}: no such weights file")
    try:
        with safe_open(path, "pt") as f:
            metadata = f.metadata() or {}
        return load_file(path), metadata
    except Exception as e:  # safetensors raises its own error types for malformed files
        raise ValueError(f"{path}: not a readable safetensors file: {e}") from None


def load_weights(model, path):
    tensors, metadata = read_weights(path)
    model.load_weights(tensors, path)
    return metadata


def _state_metadata(step, epoch, optimizer_step, seed):
    return {"gaplab.step": step, "gaplab.epoch": epoch, "gaplab.optimizer_step": optimizer_step,
            "gaplab.seed": seed, "gaplab.engine": "torch"}


def _optimizer_step(optimizer):
    steps = {int(s["step"]) for s in optimizer.state.values() if "step" in s}
    if len(steps) > 1:
        raise AssertionError(f"parameters have taken different numbers of optimiser steps: {sorted(steps)}")
    return steps.pop() if steps else 0


def save_checkpoint(path, model, optimizer, named_parameters, step, epoch, seed, extra=None):
    """Writes the optimiser state first, then the weights (as GapLab: a crash between the two leaves weights
    whose step differs from the state's, which `load_checkpoint` detects)."""
    optimizer_step = _optimizer_step(optimizer)
    metadata = _state_metadata(step, epoch, optimizer_step, seed)
    state = {}
    for name, p in named_parameters:
        s = optimizer.state.get(p, {})
        if "exp_avg" in s:
            state[f"exp_avg.{name}"] = s["exp_avg"].detach().to("cpu", torch.float32).contiguous()
            state[f"exp_avg_sq.{name}"] = s["exp_avg_sq"].detach().to("cpu", torch.float32).contiguous()
    for key, tensor in (extra or {}).items():
        state[key] = tensor
    if not state:
        # safetensors needs a tensor; an optimiser that has not stepped yet has no moments.
        state["gaplab.no_moments"] = torch.zeros(0)
    _write(state, optimizer_state_path(path), metadata)
    save_weights(model, path, metadata)


def load_checkpoint(path, model, optimizer, named_parameters, seed):
    """Restores weights and optimiser state; returns (step, epoch, optimiser tensors)."""
    tensors, metadata = read_weights(path)
    optim_path = optimizer_state_path(path)
    state, optim_metadata = read_weights(optim_path)
    try:
        step, epoch = int(metadata["gaplab.step"]), int(metadata["gaplab.epoch"])
        optimizer_step = int(optim_metadata["gaplab.optimizer_step"])
        same = optim_metadata["gaplab.step"] == metadata["gaplab.step"]
    except (KeyError, ValueError):
        same = False
    if not same:
        raise ValueError(f"{path}: cannot resume from this checkpoint: weights and optimiser state "
                         f"({optim_path}) are not from the same step")
    if metadata.get("gaplab.seed") != str(seed):
        raise ValueError(f"{path}: cannot resume from this checkpoint: it was written by a run with seed "
                         f"{metadata.get('gaplab.seed', '?')}, this run's seed is {seed}")
    model.load_weights(tensors, path)
    if optimizer_step > 0:
        index = {p: i for i, p in enumerate(q for g in optimizer.param_groups for q in g["params"])}
        restored = {}
        for name, p in named_parameters:
            for key in ("exp_avg", "exp_avg_sq"):
                if f"{key}.{name}" not in state:
                    raise ValueError(f"{optim_path}: missing tensor '{key}.{name}'")
                if tuple(state[f"{key}.{name}"].shape) != tuple(p.shape):
                    raise ValueError(f"{optim_path}: tensor '{key}.{name}' has shape "
                                     f"{list(state[f'{key}.{name}'].shape)}, expected {list(p.shape)}")
            restored[index[p]] = {"step": torch.tensor(float(optimizer_step)),
                                  "exp_avg": state[f"exp_avg.{name}"], "exp_avg_sq": state[f"exp_avg_sq.{name}"]}
        saved = optimizer.state_dict()
        saved["state"] = restored
        optimizer.load_state_dict(saved)
    return step, epoch, state


def convert_open_clip_checkpoint(source, out):
    """Writes the weights of an open_clip checkpoint as safetensors; returns the number of tensors.

    open_clip_train saves {"epoch", "name", "state_dict", "optimizer", ...}, with a "module." prefix on every name
    when it trained under DDP; a bare state dict (open_clip's exports) is taken as it is. Buffers that are not
    weights (the text tower's attention mask) are left out."""
    checkpoint = torch.load(source, map_location="cpu", weights_only=True)
    state = checkpoint.get("state_dict", checkpoint) if isinstance(checkpoint, dict) else None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise ValueError(f"{source}: expected an open_clip state dict or a checkpoint with a 'state_dict'")
    if state and all(name.startswith("module.") for name in state):
        state = {name[len("module."):]: value for name, value in state.items()}
    tensors = {name: value.detach().to(torch.float32).contiguous() for name, value in state.items()
               if not name.endswith("attn_mask")}
    _write(tensors, out, {"gaplab.source": os.path.basename(source)})
    return len(tensors)
