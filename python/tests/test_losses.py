"""Each loss arm against the formula of METHOD.md §3 written out with plain Python floats."""
import math
import unittest

import torch
import torch.nn.functional as F

from gaplab_torch.config import LossConfig
from gaplab_torch.losses import contrastive_loss

N, E = 4, 3


def dot(a, b):
    return sum(x * y for x, y in zip(a, b))


def ce(rows):
    """Mean over rows of −log softmax(row)[i]."""
    return sum(math.log(sum(math.exp(x) for x in row)) - row[i] for i, row in enumerate(rows)) / len(rows)


class LossArmTests(unittest.TestCase):
    def setUp(self):
        g = torch.Generator().manual_seed(3)
        self.v = F.normalize(torch.randn(N, E, generator=g, dtype=torch.float64), dim=-1).float()
        self.t = F.normalize(torch.randn(N, E, generator=g, dtype=torch.float64), dim=-1).float()
        d = torch.rand(N, N, generator=g)
        self.d = (d + d.T) / 2
        self.d.fill_diagonal_(float("nan"))  # never read
        self.logit_scale = torch.tensor(1.3, requires_grad=True)
        self.s = math.exp(1.3)
        self.V, self.T = self.v.double().tolist(), self.t.double().tolist()
        self.D = self.d.double().tolist()

    def run_loss(self, **settings):
        total, terms = contrastive_loss(self.v, self.t, self.logit_scale, LossConfig(**settings), self.d)
        return total.item(), {name: value.item() for name, value in terms}

    def cross_sum(self):
        s, V, T = self.s, self.V, self.T
        i2t = [[s * dot(V[i], T[j]) for j in range(N)] for i in range(N)]
        t2i = [[s * dot(T[i], V[j]) for j in range(N)] for i in range(N)]
        return ce(i2t) + ce(t2i)

    def imsep(self, X, semantic):
        s, V, T = self.s, self.V, self.T
        rows = [[s * dot(V[i], T[i]) if i == j else s * dot(X[i], X[j]) * (self.D[i][j] if semantic else 1.0)
                 for j in range(N)] for i in range(N)]
        return ce(rows)

    def test_cross_sum_and_mean(self):
        total, terms = self.run_loss(clip_weight=1.0, cross_reduction="sum")
        self.assertEqual(list(terms), ["loss/cross"])
        self.assertAlmostEqual(terms["loss/cross"], self.cross_sum(), places=5)
        self.assertAlmostEqual(total, self.cross_sum(), places=5)
        total, terms = self.run_loss(clip_weight=2.0, cross_reduction="mean")
        self.assertAlmostEqual(terms["loss/cross"], 0.5 * self.cross_sum(), places=5)  # logged before the weight
        self.assertAlmostEqual(total, 2.0 * 0.5 * self.cross_sum(), places=5)

    def test_imsep_modalities_and_rescaling(self):
        for modality in ("image", "text", "both"):
            for rescale in ("semantic", "hollow"):
                with self.subTest(modality=modality, rescale=rescale):
                    semantic = rescale == "semantic"
                    expected = 0.0
                    if modality != "text":
                        expected += self.imsep(self.V, semantic)
                    if modality != "image":
                        expected += self.imsep(self.T, semantic)
                    total, terms = self.run_loss(clip_weight=1.0, imsep_weight=0.5, imsep_modality=modality,
                                                 imsep_rescale=rescale)
                    self.assertEqual(list(terms), ["loss/cross", "loss/imsep"])
                    self.assertAlmostEqual(terms["loss/imsep"], expected, places=5)
                    self.assertAlmostEqual(total, self.cross_sum() + 0.5 * expected, places=5)

    def test_cyclip_terms(self):
        V, T = self.V, self.T
        in_modal = sum((dot(V[j], V[k]) - dot(T[j], T[k])) ** 2 for j in range(N) for k in range(N)) / N ** 2
        cross_modal = sum((dot(V[j], T[k]) - dot(V[k], T[j])) ** 2 for j in range(N) for k in range(N)) / N ** 2
        total, terms = self.run_loss(clip_weight=1.0, cross_reduction="mean", cyclip_lambda1=0.25, cyclip_lambda2=0.5)
        self.assertEqual(list(terms), ["loss/cross", "loss/cyclip_inmodal", "loss/cyclip_crossmodal"])
        self.assertAlmostEqual(terms["loss/cyclip_inmodal"], in_modal, places=6)
        self.assertAlmostEqual(terms["loss/cyclip_crossmodal"], cross_modal, places=6)
        self.assertAlmostEqual(total, 0.5 * self.cross_sum() + 0.25 * in_modal + 0.5 * cross_modal, places=5)

    def test_inactive_terms_are_absent_and_semantic_needs_distances(self):
        total, terms = self.run_loss(clip_weight=0.0, imsep_weight=1.0, imsep_rescale="hollow")
        self.assertEqual(list(terms), ["loss/imsep"])
        with self.assertRaisesRegex(ValueError, "semantic distance"):
            contrastive_loss(self.v, self.t, self.logit_scale, LossConfig(imsep_weight=1.0), None)

    def test_gradients_are_finite_despite_the_unused_diagonal(self):
        v = self.v.clone().requires_grad_(True)
        total, _ = contrastive_loss(v, self.t, self.logit_scale,
                                    LossConfig(imsep_weight=0.5, imsep_modality="both"), self.d)
        total.backward()
        self.assertTrue(torch.isfinite(v.grad).all())
        self.assertTrue(torch.isfinite(self.logit_scale.grad))


if __name__ == "__main__":
    unittest.main()
