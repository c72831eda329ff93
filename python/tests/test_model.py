"""The models against the PyTorch parity fixtures (Tests/Fixtures/README.md) and GapLab's parameter layout."""
import json
import os
import tempfile
import unittest

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file

from gaplab_torch import checkpoint as ckpt
from gaplab_torch.config import LossConfig, TrainConfig, parse_model_config
from gaplab_torch.losses import contrastive_loss
from gaplab_torch.model import GapCLIP
from gaplab_torch.optim import clamp_logit_scale, make_optimizer, make_schedule

from .helpers import FIXTURES, model_config, set_determinism

# (fixture, sharing, loss as the fixture's script computes it)
CASES = {
    "two_tower": ((0, False), LossConfig(cross_reduction="mean")),
    "shared": ((2, True), LossConfig(cross_reduction="sum", imsep_weight=0.5, imsep_modality="image")),
    "partial": ((1, False), LossConfig(cross_reduction="mean")),
}
BLOCK = ["ln_1.weight", "ln_1.bias", "attn.in_proj_weight", "attn.in_proj_bias", "attn.out_proj.weight",
         "attn.out_proj.bias", "ln_2.weight", "ln_2.bias", "mlp.c_fc.weight", "mlp.c_fc.bias", "mlp.c_proj.weight",
         "mlp.c_proj.bias"]


def block(prefix):
    return [f"{prefix}.{name}" for name in BLOCK]


def key_bias_noise(name):
    """The key part of in_proj_bias has a mathematically zero gradient; Adam moves it by rounding noise alone
    (Tests/Fixtures/README.md, notes for comparisons)."""
    return name.endswith("attn.in_proj_bias")


class FixtureTests(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        set_determinism()

    def load(self, fixture):
        path = os.path.join(FIXTURES, f"reference_{fixture}.safetensors")
        tensors = load_file(path)
        with safe_open(path, "pt") as f:
            metadata = f.metadata()
        (depth, head), loss = CASES[fixture]
        config = json.loads(metadata["config"])
        config["sharing"] = {"depth": depth, "head": head}
        torch.manual_seed(0)
        model = GapCLIP(parse_model_config(config))
        params = {k[len("param."):]: v for k, v in tensors.items() if k.startswith("param.")}
        return model, params, tensors, metadata, loss

    def test_names_and_shapes_equal_the_fixtures(self):
        for fixture in CASES:
            with self.subTest(fixture=fixture):
                model, params, _, metadata, _ = self.load(fixture)
                ours = {n: list(p.shape) for n, p in model.named_parameters()}
                self.assertEqual(sorted(ours), sorted(json.loads(metadata["params"])))
                self.assertEqual(ours, {n: list(t.shape) for n, t in params.items()})
                self.assertEqual(ours["logit_scale"], [])

    def test_forward_loss_gradients_and_adamw_steps_equal_the_fixtures(self):
        for fixture in CASES:
            with self.subTest(fixture=fixture):
                model, params, fx, metadata, loss_config = self.load(fixture)
                model.load_weights(params, fixture)
                images, tokens = fx["input.images"], fx["input.tokens"]
                distance = fx.get("input.semantic_D")
                optim_meta = json.loads(metadata["optim"])
                train = TrainConfig(lr=optim_meta["base_lr"], wd=optim_meta["weight_decay"],
                                    beta1=optim_meta["betas"][0], beta2=optim_meta["betas"][1], eps=optim_meta["eps"],
                                    warmup=optim_meta["warmup_length"])
                optimizer = make_optimizer(model, train)
                schedule = make_schedule(optimizer, train, optim_meta["steps"])
                for step in range(optim_meta["steps"]):
                    lr = schedule(step)
                    self.assertAlmostEqual(lr, fx["out.lrs"][step].item(), places=9)
                    optimizer.zero_grad(set_to_none=True)
                    image, text = model(images, tokens)
                    total, terms = contrastive_loss(image, text, model.logit_scale, loss_config, distance)
                    self.assertAlmostEqual(total.item(), fx["out.step_losses"][step].item(),
                                           delta=1e-5 * abs(fx["out.step_losses"][step].item()))
                    total.backward()
                    if step == 0:
                        torch.testing.assert_close(image, fx["out.image_embeds"], rtol=0, atol=1e-5)
                        torch.testing.assert_close(text, fx["out.text_embeds"], rtol=0, atol=1e-5)
                        terms = dict(terms)
                        if fixture == "shared":
                            self.assertEqual(list(terms), ["loss/cross", "loss/imsep"])
                            self.assertAlmostEqual(terms["loss/cross"].item(), fx["out.loss_cross"].item(), delta=1e-5)
                            self.assertAlmostEqual(terms["loss/imsep"].item(), fx["out.loss_imsep"].item(), delta=1e-4)
                        for name, p in model.named_parameters():
                            expected = fx[f"grad.{name}"]
                            scale = expected.abs().max().item()
                            torch.testing.assert_close(p.grad, expected, rtol=0, atol=1e-5 * max(scale, 1.0),
                                                       msg=lambda m, n=name: f"grad.{n}: {m}")
                    optimizer.step()
                    clamp_logit_scale(model)
                    if step in (0, 2):
                        key = "step1" if step == 0 else "step3"
                        for name, p in model.named_parameters():
                            if key_bias_noise(name):
                                # Entries 16..<32 are noise-driven; the query and value parts must still agree.
                                width = p.shape[0] // 3
                                got = torch.cat([p[:width], p[2 * width:]])
                                want = torch.cat([fx[f"{key}.{name}"][:width], fx[f"{key}.{name}"][2 * width:]])
                            else:
                                got, want = p, fx[f"{key}.{name}"]
                            torch.testing.assert_close(got.detach(), want, rtol=0, atol=2e-5,
                                                       msg=lambda m, n=name, k=key: f"{k}.{n}: {m}")

    def test_decayed_parameters_are_the_fixtures(self):
        from gaplab_torch.optim import open_clip_decays
        for fixture in CASES:
            with self.subTest(fixture=fixture):
                model, _, _, metadata, _ = self.load(fixture)
                decayed = [n for n, p in model.named_parameters() if open_clip_decays(n, p.ndim)]
                self.assertEqual(sorted(decayed), sorted(json.loads(metadata["optim"])["decayed"]))


class LayoutTests(unittest.TestCase):
    """Names of the layouts without a fixture, as Sources/GapModel/ParameterLayout.swift lays them out."""

    def names(self, config):
        torch.manual_seed(0)
        return sorted(n for n, _ in GapCLIP(parse_model_config(config)).named_parameters())

    def embeddings(self):
        return ["logit_scale", "positional_embedding", "token_embedding.weight", "visual.class_embedding",
                "visual.conv1.weight", "visual.ln_pre.bias", "visual.ln_pre.weight", "visual.positional_embedding"]

    def test_partial_sharing_with_a_shared_head(self):
        expected = (self.embeddings() + block("visual.transformer.resblocks.0") + block("transformer.resblocks.0")
                    + block("shared.resblocks.1") + ["shared.ln_post.weight", "shared.ln_post.bias",
                                                     "shared.projection"])
        self.assertEqual(self.names(model_config(1, True)), sorted(expected))

    def test_shared_head_only(self):
        expected = (self.embeddings() + block("visual.transformer.resblocks.0") + block("visual.transformer.resblocks.1")
                    + block("transformer.resblocks.0") + block("transformer.resblocks.1")
                    + ["shared.ln_post.weight", "shared.ln_post.bias", "shared.projection"])
        self.assertEqual(self.names(model_config(0, True)), sorted(expected))

    def test_shared_blocks_are_counted_in_the_vision_tower(self):
        # Vision 3 layers, text 2, top 2 shared: the vision tower keeps block 0, the text tower none.
        config = model_config(2, False)
        config["vision_cfg"]["layers"] = 3
        expected = (self.embeddings() + block("visual.transformer.resblocks.0") + block("shared.resblocks.1")
                    + block("shared.resblocks.2") + ["visual.ln_post.weight", "visual.ln_post.bias", "visual.proj",
                                                     "ln_final.weight", "ln_final.bias", "text_projection"])
        self.assertEqual(self.names(config), sorted(expected))
        # With the head shared too, the model is fully shared but the towers' depths differ: partial names.
        config["sharing"]["head"] = True
        self.assertTrue(any(n.startswith("shared.ln_post") for n in self.names(config)))

    def test_shared_blocks_run_in_both_towers(self):
        torch.manual_seed(0)
        model = GapCLIP(parse_model_config(model_config(1, True)))
        self.assertIs(model.vision_blocks()[-1], model.text_blocks()[-1])
        self.assertIs(model.vision_head()[1], model.text_head()[1])
        self.assertIsNot(model.vision_blocks()[0], model.text_blocks()[0])

    def test_gradient_checkpointing_changes_no_number(self):
        config = parse_model_config(model_config(1, True))
        g = torch.Generator().manual_seed(2)
        images = torch.randn(3, 3, 8, 8, generator=g)
        tokens = torch.tensor([[62, 5, 63, 0, 0, 0, 0, 0], [62, 63, 0, 0, 0, 0, 0, 0], [62, 1, 2, 3, 4, 5, 6, 63]])
        grads = []
        for checkpointing in (False, True):
            torch.manual_seed(0)
            model = GapCLIP(config)
            model.set_grad_checkpointing(checkpointing)
            image, text = model(images, tokens)
            total, _ = contrastive_loss(image, text, model.logit_scale, LossConfig())
            total.backward()
            grads.append({n: p.grad.clone() for n, p in model.named_parameters()})
        for name in grads[0]:
            torch.testing.assert_close(grads[1][name], grads[0][name], rtol=0, atol=1e-6)

    def test_same_seed_same_initial_weights(self):
        config = parse_model_config(model_config(1, True))
        torch.manual_seed(5)
        a = GapCLIP(config).weights()
        torch.manual_seed(5)
        b = GapCLIP(config).weights()
        self.assertEqual(a.keys(), b.keys())
        for name in a:
            self.assertTrue(torch.equal(a[name], b[name]), name)


class WeightsFileTests(unittest.TestCase):
    def test_round_trip_with_gaplab_names_and_metadata(self):
        torch.manual_seed(0)
        model = GapCLIP(parse_model_config(model_config(2, True)))
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "w.safetensors")
            ckpt.save_weights(model, path, {"gaplab.step": 7, "gaplab.epoch": 1, "gaplab.seed": 0})
            tensors = load_file(path)
            with safe_open(path, "pt") as f:
                metadata = f.metadata()
            self.assertEqual(metadata["gaplab.step"], "7")
            self.assertEqual(metadata["format"], "pt")
            self.assertEqual(sorted(tensors), sorted(n for n, _ in model.named_parameters()))
            self.assertEqual(tensors["logit_scale"].shape, torch.Size([]))
            self.assertTrue(all(t.dtype == torch.float32 for t in tensors.values()))
            torch.manual_seed(1)
            other = GapCLIP(parse_model_config(model_config(2, True)))
            ckpt.load_weights(other, path)
            for name, p in other.named_parameters():
                self.assertTrue(torch.equal(p.detach(), tensors[name]), name)

    def test_a_file_of_another_layout_is_refused_by_name(self):
        torch.manual_seed(0)
        two_tower = GapCLIP(parse_model_config(model_config(0, False)))
        partial = GapCLIP(parse_model_config(model_config(1, False)))
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "w.safetensors")
            ckpt.save_weights(two_tower, path, {})
            with self.assertRaisesRegex(ValueError, r"missing tensor 'shared\.resblocks\.1\.ln_1\.weight'"):
                ckpt.load_weights(partial, path)
            extra = dict(two_tower.weights())
            extra["visual.extra"] = torch.zeros(1)
            save_file(extra, path)
            with self.assertRaisesRegex(ValueError, r"unexpected tensor 'visual\.extra'"):
                ckpt.load_weights(two_tower, path)


if __name__ == "__main__":
    unittest.main()
