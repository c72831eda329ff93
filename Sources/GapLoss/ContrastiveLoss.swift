import Foundation
import GapEngine
import GapSpec

/// The training objective α·InfoNCE + β·IMSep + λ1·CyCLIP-in-modal + λ2·CyCLIP-cross-modal over a batch of
/// unit image and text embeddings, with its gradients. Its products run on the engine context it is handed: the
/// model's (`CLIPModel.engine`) in training.
///
/// Embeddings are flat row-major Float32 blocks [count, dim]; the model owns the L2 normalisation and its
/// backward, so the gradients here are with respect to the normalised embeddings. Scratch space for up to
/// `maxBatch` pairs is allocated at construction: a step allocates nothing.
public struct ContrastiveLoss {
    public let settings: LossConfig
    public let maxBatch: Int
    private var workspace: LossWorkspace

    /// Throws `ConfigIssues` for a weight that is negative or not finite.
    public init(settings: LossConfig, maxBatch: Int) throws {
        precondition(maxBatch >= 1, "ContrastiveLoss: maxBatch must be at least 1, got \(maxBatch)")
        let issues = settings.weightIssues()
        if !issues.isEmpty { throw ConfigIssues(issues) }
        self.settings = settings
        self.maxBatch = maxBatch
        self.workspace = LossWorkspace(capacity: maxBatch)
    }

    /// Loss, named terms and gradients of one batch.
    ///
    /// `imageGrad` and `textGrad` ([count, dim]) are overwritten with ∂total/∂V and ∂total/∂T;
    /// `logitScale` is the raw parameter (s = exp(logitScale)) and the result's `logitScaleGrad` is taken
    /// through the exponential. `semanticDistance` is the [count, count] caption distance matrix D, required
    /// when IMSep is on with semantic re-scaling and ignored otherwise.
    public mutating func forwardBackward(engine: EngineContext, image: UnsafePointer<Float>, text: UnsafePointer<Float>, count: Int, dim: Int,
                                         logitScale: Float, semanticDistance: UnsafePointer<Float>?,
                                         imageGrad: UnsafeMutablePointer<Float>,
                                         textGrad: UnsafeMutablePointer<Float>) -> LossResult {
        evaluate(engine: engine, image: image, text: text, count: count, dim: dim, logitScale: logitScale,
                 semanticDistance: semanticDistance, gradients: (imageGrad, textGrad))
    }

    /// Loss and named terms only, for evaluation; `logitScaleGrad` is 0.
    public mutating func forward(engine: EngineContext, image: UnsafePointer<Float>, text: UnsafePointer<Float>, count: Int, dim: Int,
                                 logitScale: Float, semanticDistance: UnsafePointer<Float>?) -> LossResult {
        evaluate(engine: engine, image: image, text: text, count: count, dim: dim, logitScale: logitScale,
                 semanticDistance: semanticDistance, gradients: nil)
    }

    private mutating func evaluate(engine: EngineContext, image: UnsafePointer<Float>, text: UnsafePointer<Float>, count n: Int, dim e: Int,
                                   logitScale: Float, semanticDistance: UnsafePointer<Float>?,
                                   gradients: (image: UnsafeMutablePointer<Float>, text: UnsafeMutablePointer<Float>)?)
        -> LossResult {
        precondition(n >= 1 && n <= maxBatch, "ContrastiveLoss: batch of \(n) pairs, expected 1...\(maxBatch)")
        precondition(e >= 1, "ContrastiveLoss: embedding dimension \(e), expected at least 1")
        if !isKnownUniquelyReferenced(&workspace) {
            // A copied loss gets its own scratch space so two copies never write into each other.
            workspace = LossWorkspace(capacity: maxBatch)
        }
        let distance: UnsafePointer<Float>?
        if settings.needsSemanticDistance {
            precondition(semanticDistance != nil,
                         "ContrastiveLoss: loss.imsep_rescale is \"semantic\" but the batch has no semantic distance matrix")
            distance = semanticDistance
        } else {
            distance = nil
        }
        let active = ActiveTerms(settings)
        let ws = workspace
        multiplyTransposed(engine: engine, image, text, into: ws.similarity, rows: n, dim: e)
        if active.needsImageGram { multiplyTransposed(engine: engine, image, image, into: ws.imageGram, rows: n, dim: e) }
        if active.needsTextGram { multiplyTransposed(engine: engine, text, text, into: ws.textGram, rows: n, dim: e) }
        let sinks = gradients == nil ? nil : zeroedSinks(ws, count: n, active)
        let batch = BatchMatrices(count: n, scale: Float(exp(Double(logitScale))), similarity: ws.similarity,
                                  imageGram: ws.imageGram, textGram: ws.textGram, logits: ws.logits)
        var (result, logitScaleGrad) = terms(batch, distance: distance, sinks: sinks, active)
        if let gradients {
            result.logitScaleGrad = Float(logitScaleGrad)
            backpropagate(engine: engine, ws, image: image, text: text, into: gradients, count: n, dim: e, active)
        }
        return result
    }

    /// Which terms the settings turn on, and so which Gram matrices they need.
    struct ActiveTerms {
        var imsepImage, imsepText, inModal: Bool
        var needsImageGram: Bool { imsepImage || inModal }
        var needsTextGram: Bool { imsepText || inModal }

        init(_ settings: LossConfig) {
            imsepImage = settings.imsepWeight > 0 && settings.imsepModality != .text
            imsepText = settings.imsepWeight > 0 && settings.imsepModality != .image
            inModal = settings.cyclipLambda1 > 0
        }
    }

    /// The gradient accumulators of the matrices in use, zeroed: each term adds its share into them.
    private func zeroedSinks(_ ws: LossWorkspace, count n: Int, _ active: ActiveTerms) -> GradientSinks {
        let size = n * n
        ws.similarityGrad.update(repeating: 0, count: size)
        if active.needsImageGram { ws.imageGramGrad.update(repeating: 0, count: size) }
        if active.needsTextGram { ws.textGramGrad.update(repeating: 0, count: size) }
        return GradientSinks(similarity: ws.similarityGrad, imageGram: ws.imageGramGrad, textGram: ws.textGramGrad)
    }

    /// Every active term's value, weighted into the total, and the logit scale's gradient; each term adds its
    /// gradient with respect to the batch matrices into `sinks`.
    private func terms(_ batch: BatchMatrices, distance: UnsafePointer<Float>?, sinks: GradientSinks?,
                       _ active: ActiveTerms) -> (LossResult, logitScaleGrad: Double) {
        var result = LossResult(total: 0)
        var total = 0.0
        var logitScaleGrad = 0.0
        if settings.clipWeight > 0 {
            let reductionFactor = settings.crossReduction == .sum ? 1.0 : 0.5
            let term = infoNCE(batch, weight: settings.clipWeight * reductionFactor, gradients: sinks)
            let cross = term.value * reductionFactor
            total += settings.clipWeight * cross
            logitScaleGrad += term.logitScaleGrad
            result.cross = Float(cross)
        }
        if settings.imsepWeight > 0 {
            var separation = 0.0
            if active.imsepImage {
                let term = imsep(batch, gram: batch.imageGram, semanticDistance: distance, weight: settings.imsepWeight,
                                 gramGradient: sinks?.imageGram, gradients: sinks)
                separation += term.value
                logitScaleGrad += term.logitScaleGrad
            }
            if active.imsepText {
                let term = imsep(batch, gram: batch.textGram, semanticDistance: distance, weight: settings.imsepWeight,
                                 gramGradient: sinks?.textGram, gradients: sinks)
                separation += term.value
                logitScaleGrad += term.logitScaleGrad
            }
            total += settings.imsepWeight * separation
            result.imsep = Float(separation)
        }
        if active.inModal {
            let term = cyclipInModal(batch, weight: settings.cyclipLambda1, gradients: sinks)
            total += settings.cyclipLambda1 * term.value
            result.cyclipInModal = Float(term.value)
        }
        if settings.cyclipLambda2 > 0 {
            let term = cyclipCrossModal(batch, weight: settings.cyclipLambda2, gradients: sinks)
            total += settings.cyclipLambda2 * term.value
            result.cyclipCrossModal = Float(term.value)
        }
        result.total = Float(total)
        return (result, logitScaleGrad)
    }

    /// The embeddings' gradients from the batch matrices':
    /// ∂/∂V = ∂S·T + (∂G_V + ∂G_Vᵀ)·V and ∂/∂T = ∂Sᵀ·V + (∂G_T + ∂G_Tᵀ)·T.
    private func backpropagate(engine: EngineContext, _ ws: LossWorkspace, image: UnsafePointer<Float>, text: UnsafePointer<Float>,
                               into gradients: (image: UnsafeMutablePointer<Float>, text: UnsafeMutablePointer<Float>),
                               count n: Int, dim e: Int, _ active: ActiveTerms) {
        multiplyCoefficients(engine: engine, ws.similarityGrad, transposed: false, text, into: gradients.image, rows: n, dim: e, beta: 0)
        multiplyCoefficients(engine: engine, ws.similarityGrad, transposed: true, image, into: gradients.text, rows: n, dim: e, beta: 0)
        if active.needsImageGram {
            symmetrizeInPlace(ws.imageGramGrad, count: n)
            multiplyCoefficients(engine: engine, ws.imageGramGrad, transposed: false, image, into: gradients.image, rows: n, dim: e, beta: 1)
        }
        if active.needsTextGram {
            symmetrizeInPlace(ws.textGramGrad, count: n)
            multiplyCoefficients(engine: engine, ws.textGramGrad, transposed: false, text, into: gradients.text, rows: n, dim: e, beta: 1)
        }
    }
}
