"""GapLab's training objective α·InfoNCE + β·IMSep + λ1·CyCLIP-in-modal + λ2·CyCLIP-cross-modal.

The same terms, values and logged names as Sources/GapLoss (ContrastiveLoss.swift, LossResult.swift); torch's
autograd supplies the gradients the Swift code writes by hand. Inputs are the L2-normalised embeddings.

Logged terms are each active term *before* its weight:
- "loss/cross": CE(s·V·Tᵀ) + CE(s·T·Vᵀ) for `cross_reduction` "sum", half of it for "mean";
- "loss/imsep": IMSep of the image term, the text term, or their sum for "both";
- "loss/cyclip_inmodal": mean_jk (v_j·v_k − t_j·t_k)²;
- "loss/cyclip_crossmodal": mean_jk (v_j·t_k − v_k·t_j)².
A term is active when its weight is > 0; the total is the weighted sum of the active terms.
"""
import torch
import torch.nn.functional as F

TERM_NAMES = ("loss/cross", "loss/imsep", "loss/cyclip_inmodal", "loss/cyclip_crossmodal")


def _diagonal_cross_entropy(logits):
    """Mean cross-entropy over rows with target i for row i."""
    return F.cross_entropy(logits, torch.arange(logits.shape[0], device=logits.device))


def info_nce_sum(scale, similarity):
    """CE(s·S) + CE(s·Sᵀ) with S = V·Tᵀ: both directions summed (the AlignCLIP code's L_cross)."""
    logits = scale * similarity
    return _diagonal_cross_entropy(logits) + _diagonal_cross_entropy(logits.T)


def imsep(scale, similarity, gram, distance):
    """Intra-modality separation for one modality (METHOD.md §3, IMSep.swift).

    Row i: column i is s·v_i·t_i (the paired cross-modal cosine); column j ≠ i is s·g_ij·D_ij, g the Gram
    matrix of the separated modality and D the caption distances (None: 1 off the diagonal). D's diagonal is
    never read.
    """
    n = similarity.shape[0]
    eye = torch.eye(n, dtype=torch.bool, device=similarity.device)
    if distance is None:
        distance = torch.ones_like(gram)
    else:
        # The diagonal is not used; a NaN there would still reach the gradient through the masked branch.
        distance = distance.to(gram.dtype).masked_fill(eye, 1.0)
    logits = torch.where(eye, scale * similarity, (scale * gram) * distance)
    return _diagonal_cross_entropy(logits)


def cyclip_in_modal(image, text):
    """mean_jk (v_j·v_k − t_j·t_k)² over all n² pairs."""
    return ((image @ image.T - text @ text.T) ** 2).mean()


def cyclip_cross_modal(similarity):
    """mean_jk (v_j·t_k − v_k·t_j)² over all n² pairs."""
    return ((similarity - similarity.T) ** 2).mean()


def contrastive_loss(image, text, logit_scale, settings, distance=None):
    """(total, [(term name, unweighted value)]) for one batch; `logit_scale` is the raw parameter.

    `distance` is the [n, n] caption distance matrix, required when IMSep runs with semantic re-scaling.
    """
    image, text = image.float(), text.float()
    scale = logit_scale.float().exp()
    similarity = image @ text.T
    terms, weighted = [], []
    if settings.clip_weight > 0:
        cross = info_nce_sum(scale, similarity)
        if settings.cross_reduction == "mean":
            cross = cross * 0.5
        terms.append(("loss/cross", cross))
        weighted.append(settings.clip_weight * cross)
    if settings.imsep_weight > 0:
        if settings.imsep_rescale == "semantic":
            if distance is None:
                raise ValueError('loss.imsep_rescale is "semantic" but the batch has no semantic distance matrix')
            d = distance
        else:
            d = None
        separation = None
        if settings.imsep_modality in ("image", "both"):
            separation = imsep(scale, similarity, image @ image.T, d)
        if settings.imsep_modality in ("text", "both"):
            text_term = imsep(scale, similarity, text @ text.T, d)
            separation = text_term if separation is None else separation + text_term
        terms.append(("loss/imsep", separation))
        weighted.append(settings.imsep_weight * separation)
    if settings.cyclip_lambda1 > 0:
        in_modal = cyclip_in_modal(image, text)
        terms.append(("loss/cyclip_inmodal", in_modal))
        weighted.append(settings.cyclip_lambda1 * in_modal)
    if settings.cyclip_lambda2 > 0:
        cross_modal = cyclip_cross_modal(similarity)
        terms.append(("loss/cyclip_crossmodal", cross_modal))
        weighted.append(settings.cyclip_lambda2 * cross_modal)
    if weighted:
        total = weighted[0]
        for w in weighted[1:]:
            total = total + w
    else:
        # Every weight 0: a zero loss that still reaches the parameters (all gradients 0).
        total = 0.0 * (similarity.sum() + scale)
    return total, terms
