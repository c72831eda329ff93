"""Shared pieces of the tests: the fixtures' paths and a tiny synthetic job."""
import copy
import json
import os

import numpy as np
import torch

from gaplab_torch.data import epoch_path, write_epoch

FIXTURES = os.path.join(os.path.dirname(__file__), "..", "..", "Tests", "Fixtures")

# The fixtures' model (Tests/Fixtures/README.md): width 16, 2 heads, 2 layers in both towers.
TINY_MODEL = {"embed_dim": 16, "quick_gelu": False,
              "vision_cfg": {"image_size": 8, "patch_size": 4, "width": 16, "layers": 2, "head_width": 8,
                             "mlp_ratio": 4.0},
              "text_cfg": {"context_length": 8, "vocab_size": 64, "width": 16, "heads": 2, "layers": 2,
                           "mlp_ratio": 4.0}}


def model_config(depth=0, head=False, **changes):
    cfg = copy.deepcopy(TINY_MODEL)
    cfg["sharing"] = {"depth": depth, "head": head}
    cfg.update(changes)
    return cfg


def write_batches(directory, epochs, steps, batch, distances, seed=0):
    """Random normalised-looking pixels, captions `<sot> ids <eot> 0...` and a symmetric distance matrix."""
    rng = np.random.default_rng(seed)
    S, L, V = TINY_MODEL["vision_cfg"]["image_size"], TINY_MODEL["text_cfg"]["context_length"], 64
    for e in range(epochs):
        records = []
        for _ in range(steps):
            pixels = rng.standard_normal((batch, 3, S, S)).astype(np.float32)
            tokens = np.zeros((batch, L), np.int32)
            tokens[:, 0] = V - 2
            for b in range(batch):
                n = int(rng.integers(0, L - 1))
                tokens[b, 1:1 + n] = rng.integers(1, V - 3, n)
                tokens[b, 1 + n] = V - 1
            d = None
            if distances:
                d = rng.uniform(0, 1, (batch, batch)).astype(np.float32)
                d = (d + d.T) / 2
                np.fill_diagonal(d, 0)
            records.append((pixels, tokens, d))
        write_epoch(epoch_path(directory, e), records)


def write_job(folder, epochs=2, steps=3, batch=4, sharing=(1, True), loss=None, supervised=False, checkpoint=True,
              **extra):
    """A job in `folder` with its batches; returns the job file's path."""
    loss = loss or {"clip_weight": 1.0, "cross_reduction": "sum", "imsep_weight": 0.5, "imsep_modality": "both",
                    "imsep_rescale": "semantic", "semantic_encoder": "tfidf", "cyclip_lambda1": 0.25,
                    "cyclip_lambda2": 0.25}
    distances = loss.get("imsep_weight", 0) > 0 and loss.get("imsep_rescale", "semantic") == "semantic"
    write_batches(os.path.join(folder, "batches"), epochs, steps, batch, distances)
    job = {"format": "gaplab-torch-job/1", "model": model_config(*sharing),
           "train": {"engine": "torch", "epochs": epochs, "batch_size": batch, "lr": 1e-3, "wd": 0.1, "beta1": 0.9,
                     "beta2": 0.98, "eps": 1e-6, "warmup": 2, "lr_scheduler": "cosine", "grad_clip_norm": 1.0,
                     "learn_logit_scale": True},
           "loss": loss, "seed": 0, "steps_per_epoch": steps,
           "batches": {"dir": "batches", "batch_size": batch, "image_size": 8, "context_length": 8,
                       "distances": distances},
           "initial_weights": None, "checkpoint": "ckpt/run.safetensors" if checkpoint else None, "output": "out",
           "device": "cpu", "precision": "fp32", "threads": 1, "supervised": supervised}
    job.update(extra)
    path = os.path.join(folder, "job.json")
    with open(path, "w") as f:
        json.dump(job, f, indent=1)
    return path


def set_determinism():
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
