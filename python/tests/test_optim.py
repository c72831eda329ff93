"""Schedules, the no-decay rule, the frozen logit scale and the clamp (Sources/GapOptim)."""
import math
import unittest

import torch

from gaplab_torch.config import TrainConfig, parse_model_config
from gaplab_torch.model import GapCLIP
from gaplab_torch.optim import (LOGIT_SCALE_MAX, clamp_logit_scale, make_optimizer, make_schedule, open_clip_decays,
                                trainable_parameters)

from .helpers import model_config


class ScheduleTests(unittest.TestCase):
    def lrs(self, kind, warmup, total):
        optimizer = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
        schedule = make_schedule(optimizer, TrainConfig(lr=0.1, warmup=warmup, lr_scheduler=kind), total)
        values = [schedule(step) for step in range(total)]
        self.assertEqual(optimizer.param_groups[0]["lr"], values[-1])
        return values

    def test_cosine_after_linear_warmup(self):
        expected = [0.1 * (s + 1) / 3 if s < 3 else 0.5 * (1 + math.cos(math.pi * (s - 3) / 7)) * 0.1
                    for s in range(10)]
        self.assertEqual(self.lrs("cosine", 3, 10), expected)

    def test_const_after_linear_warmup(self):
        self.assertEqual(self.lrs("const", 2, 5), [0.05, 0.1, 0.1, 0.1, 0.1])

    def test_warmup_longer_than_the_run(self):
        self.assertEqual(self.lrs("cosine", 10, 3), [0.1 * (s + 1) / 10 for s in range(3)])


class OptimizerTests(unittest.TestCase):
    def model(self):
        torch.manual_seed(0)
        return GapCLIP(parse_model_config(model_config(1, True)))

    def test_decay_rule(self):
        self.assertFalse(open_clip_decays("visual.class_embedding", 1))
        self.assertFalse(open_clip_decays("shared.ln_post.weight", 1))
        self.assertFalse(open_clip_decays("logit_scale", 0))
        self.assertFalse(open_clip_decays("transformer.resblocks.0.attn.in_proj_bias", 1))
        self.assertTrue(open_clip_decays("shared.projection", 2))
        self.assertTrue(open_clip_decays("token_embedding.weight", 2))
        self.assertTrue(open_clip_decays("visual.conv1.weight", 4))

    def test_groups_follow_the_rule(self):
        model = self.model()
        train = TrainConfig(wd=0.2)
        optimizer = make_optimizer(model, train)
        by_param = {p: g["weight_decay"] for g in optimizer.param_groups for p in g["params"]}
        for name, p in model.named_parameters():
            self.assertEqual(by_param[p], 0.2 if open_clip_decays(name, p.ndim) else 0.0, name)
        group = optimizer.param_groups[0]
        self.assertEqual((group["betas"], group["eps"]), ((0.9, 0.98), 1e-6))

    def test_a_fixed_logit_scale_is_left_out(self):
        model = self.model()
        train = TrainConfig(learn_logit_scale=False)
        names = [n for n, _ in trainable_parameters(model, train)]
        self.assertNotIn("logit_scale", names)
        optimizer = make_optimizer(model, train)
        self.assertFalse(any(p is model.logit_scale for g in optimizer.param_groups for p in g["params"]))

    def test_clamp(self):
        model = self.model()
        with torch.no_grad():
            model.logit_scale.fill_(7.0)
        clamp_logit_scale(model)
        self.assertEqual(model.logit_scale.item(), torch.tensor(LOGIT_SCALE_MAX, dtype=torch.float32).item())
        with torch.no_grad():
            model.logit_scale.fill_(-1.0)
        clamp_logit_scale(model)
        self.assertEqual(model.logit_scale.item(), 0.0)


if __name__ == "__main__":
    unittest.main()
