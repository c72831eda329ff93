"""Imports open_clip next to a CPU-only torch wheel.

open_clip imports torchvision. PyPI's torchvision wheels are linked against the CUDA build of torch, so next
to the CPU-only torch wheel its C extension cannot load; torchvision 0.28 then fails at import while
registering fake kernels for two ops whose schemas only that extension defines. Declaring the schemas lets the
import finish; no torchvision op runs in this package. (Same logic as Tests/Fixtures/openclip_import.py.)
"""
import importlib.util
import pathlib

import torch


def _allow_open_clip_import_without_torchvision_ops():
    spec = importlib.util.find_spec("torchvision")
    if spec is None or spec.origin is None:
        return
    extensions = sorted(pathlib.Path(spec.origin).parent.glob("_C*.so"))
    try:
        if not extensions:
            raise OSError("torchvision has no compiled extension")
        torch.ops.load_library(str(extensions[0]))
    except OSError:
        for op in ("nms", "qnms"):
            try:
                torch.library.define(
                    f"torchvision::{op}", "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
            except RuntimeError:
                pass  # already declared (the fixtures' shim may have run first in this process)


_allow_open_clip_import_without_torchvision_ops()

import open_clip  # noqa: E402
from open_clip.model import CLIP  # noqa: E402
from open_clip.transformer import LayerNorm, text_global_pool  # noqa: E402
from open_clip_train.scheduler import const_lr, cosine_lr  # noqa: E402

__all__ = ["open_clip", "CLIP", "LayerNorm", "text_global_pool", "cosine_lr", "const_lr"]
