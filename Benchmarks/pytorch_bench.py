#!/usr/bin/env python3
"""Train the reference configuration with open_clip in PyTorch on random data, as `gaplab bench` does, and
print the same figures as JSON: steady-state samples/s (median over timed steps after warm-up), inference
pairs/s and the process's peak resident memory up to the end of training. One thread count per process, so peak
memory is comparable.

Needs torch and open-clip-torch (see Tests/Fixtures/requirements.txt for the versions used).
"""
import argparse
import json
import os
import resource
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures"))
import openclip_import  # noqa: E402,F401
import open_clip  # noqa: E402
from open_clip.loss import ClipLoss  # noqa: E402

REFERENCE = {
    "embed_dim": 128,
    "vision_cfg": {"image_size": 32, "patch_size": 4, "width": 128, "layers": 4, "head_width": 32, "mlp_ratio": 4.0},
    "text_cfg": {"context_length": 32, "vocab_size": 1024, "width": 128, "heads": 4, "layers": 4, "mlp_ratio": 4.0},
}


def decay_groups(model):
    def exclude(n, p):
        return p.ndim < 2 or "bn" in n or "ln" in n or "bias" in n or "logit_scale" in n
    named = list(model.named_parameters())
    return [
        {"params": [p for n, p in named if exclude(n, p)], "weight_decay": 0.0},
        {"params": [p for n, p in named if not exclude(n, p)], "weight_decay": 0.1},
    ]


def random_batch(generator, batch, cfg):
    v, t = cfg["vision_cfg"], cfg["text_cfg"]
    images = torch.randn(batch, 3, v["image_size"], v["image_size"], generator=generator)
    ctx, vocab = t["context_length"], t["vocab_size"]
    tokens = torch.zeros(batch, ctx, dtype=torch.long)
    for b in range(batch):
        length = 2 + int(torch.randint(0, ctx - 2, (1,), generator=generator))
        tokens[b, 0] = vocab - 2
        tokens[b, 1:length] = torch.randint(1, vocab - 2, (length - 1,), generator=generator)
        tokens[b, length] = vocab - 1
    return images, tokens


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--warmup-steps", type=int, default=3)
    ap.add_argument("--steps", type=int, default=20)
    ap.add_argument("--inference-pairs", type=int, default=1024)
    args = ap.parse_args()

    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    model = open_clip.model.CLIP(REFERENCE["embed_dim"], REFERENCE["vision_cfg"], REFERENCE["text_cfg"])
    model.train()
    optimizer = torch.optim.AdamW(decay_groups(model), lr=1e-3, betas=(0.9, 0.98), eps=1e-6)
    loss_fn = ClipLoss()
    generator = torch.Generator().manual_seed(0)
    times = []
    for step in range(args.warmup_steps + args.steps):
        images, tokens = random_batch(generator, args.batch, REFERENCE)
        start = time.perf_counter()
        image_features, text_features, logit_scale = model(images, tokens)
        loss = loss_fn(image_features, text_features, logit_scale)  # CLIP.forward returns exp(logit_scale)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, 4.605170185988092)
        if step >= args.warmup_steps:
            times.append(time.perf_counter() - start)

    # Training's peak, before the inference pass allocates its inputs (as `gaplab bench` reports it).
    training_peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    model.eval()
    n = args.inference_pairs
    images, tokens = random_batch(generator, n, REFERENCE)
    with torch.no_grad():
        model.encode_image(images[: args.batch], normalize=True)
        start = time.perf_counter()
        for i in range(0, n, args.batch):
            model.encode_image(images[i:i + args.batch], normalize=True)
            model.encode_text(tokens[i:i + args.batch], normalize=True)
        inference = n / (time.perf_counter() - start)

    median = statistics.median(times)
    print(json.dumps({
        "engine": "pytorch", "threads": args.threads, "batch": args.batch,
        "train_samples_per_s": args.batch / median, "train_step_s_median": median,
        "train_step_s_min": min(times), "train_step_s_max": max(times), "timed_steps": len(times),
        "inference_pairs_per_s": inference,
        "peak_rss_mib": training_peak_mib,
        "torch": torch.__version__, "open_clip": open_clip.__version__,
    }, sort_keys=True))


if __name__ == "__main__":
    main()
