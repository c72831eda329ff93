#!/usr/bin/env python3
"""Checks that open_clip loads GapLab checkpoints with strict=True and embeds like GapLab.

Usage: python3 Tests/Fixtures/check_openclip_load.py [path/to/gaplab]
Writes the reference configuration, `gaplab init`s it, loads the checkpoint into open_clip's CLIP built from the
same config with load_state_dict(strict=True), embeds a random batch with both (`gaplab encode`) and prints the
largest difference. Needs the packages of requirements.txt.
"""
import json
import os
import subprocess
import sys
import tempfile

import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import openclip_import  # noqa: E402,F401
import open_clip  # noqa: E402
from safetensors.torch import load_file, save_file  # noqa: E402

CONFIG = {
    "embed_dim": 128,
    "vision_cfg": {"image_size": 32, "patch_size": 4, "width": 128, "layers": 4, "head_width": 32, "mlp_ratio": 4.0},
    "text_cfg": {"context_length": 32, "vocab_size": 1024, "width": 128, "heads": 4, "layers": 4, "mlp_ratio": 4.0},
}


def main():
    gaplab = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..", ".build", "release", "gaplab")
    with tempfile.TemporaryDirectory() as tmp:
        model_json = os.path.join(tmp, "model.json")
        json.dump(CONFIG, open(model_json, "w"))
        ckpt = os.path.join(tmp, "ckpt.safetensors")
        subprocess.run([gaplab, "init", "--model", model_json, "--seed", "1", "--out", ckpt], check=True)
        model = open_clip.model.CLIP(CONFIG["embed_dim"], CONFIG["vision_cfg"], CONFIG["text_cfg"])
        model.load_state_dict(load_file(ckpt), strict=True)
        model.eval()
        torch.manual_seed(0)
        images = torch.randn(8, 3, 32, 32)
        tokens = torch.zeros(8, 32, dtype=torch.long)
        for i in range(8):
            tokens[i, 0] = 1022
            tokens[i, 1:3 + i] = torch.randint(1, 1000, (2 + i,))
            tokens[i, 3 + i] = 1023
        inputs = os.path.join(tmp, "in.safetensors")
        save_file({"images": images, "tokens": tokens}, inputs)
        out = os.path.join(tmp, "out.safetensors")
        subprocess.run([gaplab, "encode", "--model", model_json, "--checkpoint", ckpt, "--inputs", inputs, "--out", out], check=True)
        ours = load_file(out)
        with torch.no_grad():
            image = model.encode_image(images, normalize=True)
            text = model.encode_text(tokens, normalize=True)
        print("open_clip loaded the GapLab checkpoint with strict=True")
        print(f"max |image embedding difference| {float((ours['image_embeds'] - image).abs().max()):.2e}")
        print(f"max |text embedding difference|  {float((ours['text_embeds'] - text).abs().max()):.2e}")


if __name__ == "__main__":
    main()
