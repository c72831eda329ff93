/// The loss of one batch: the weighted total, each active term before weighting, and the logit-scale gradient.
///
/// A non-finite `total` is returned as is; the trainer decides what to do with it.
public struct LossResult: Equatable, Sendable {
    /// α·cross + β·imsep + λ1·cyclipInModal + λ2·cyclipCrossModal.
    public var total: Float
    /// InfoNCE with the configured reduction, before α; nil when α = 0.
    public var cross: Float?
    /// IMSep (image, text, or their sum for "both"), before β; nil when β = 0.
    public var imsep: Float?
    /// mean_jk(v_j·v_k − t_j·t_k)², before λ1; nil when λ1 = 0.
    public var cyclipInModal: Float?
    /// mean_jk(v_j·t_k − v_k·t_j)², before λ2; nil when λ2 = 0.
    public var cyclipCrossModal: Float?
    /// ∂total/∂logit_scale for the raw parameter (s = exp(logit_scale)); 0 from the forward-only pass.
    public var logitScaleGrad: Float

    public init(total: Float, cross: Float? = nil, imsep: Float? = nil, cyclipInModal: Float? = nil,
                cyclipCrossModal: Float? = nil, logitScaleGrad: Float = 0) {
        self.total = total
        self.cross = cross
        self.imsep = imsep
        self.cyclipInModal = cyclipInModal
        self.cyclipCrossModal = cyclipCrossModal
        self.logitScaleGrad = logitScaleGrad
    }

    /// The active terms under the names the run logs use.
    public var terms: [(name: String, value: Float)] {
        var named: [(name: String, value: Float)] = []
        if let cross { named.append(("loss/cross", cross)) }
        if let imsep { named.append(("loss/imsep", imsep)) }
        if let cyclipInModal { named.append(("loss/cyclip_inmodal", cyclipInModal)) }
        if let cyclipCrossModal { named.append(("loss/cyclip_crossmodal", cyclipCrossModal)) }
        return named
    }
}
