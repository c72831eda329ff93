"""Importing this module lets `import open_clip` succeed next to a CPU-only torch wheel.

Shared by Tests/Fixtures/make_reference.py and Benchmarks/pytorch_bench.py.
"""
import importlib.util
import pathlib

import torch


def _allow_open_clip_import_without_torchvision_ops():
    # open_clip imports torchvision. PyPI's torchvision wheels are linked against the CUDA build of
    # torch, so next to the CPU-only torch wheel its C extension cannot load; torchvision 0.28 then
    # fails at import while registering fake kernels for the two ops below, whose schemas only that
    # extension defines. Declaring the schemas lets the import finish. No torchvision op runs here.
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
            torch.library.define(
                f"torchvision::{op}", "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")



_allow_open_clip_import_without_torchvision_ops()
