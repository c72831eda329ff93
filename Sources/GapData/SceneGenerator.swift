import Foundation
import GapRandom

/// One object a caption may describe.
public struct SceneObject: Equatable, Codable, Sendable {
    public var shape: SceneShape
    public var colour: SceneColour
    public var size: SceneSize
    public var fill: SceneFill
    /// Centre and radius in pixels.
    public var x: Double
    public var y: Double
    public var radius: Double
    public var rotation: Double
    /// The drawn colour (base colour with a little jitter).
    var rgb: [Double]

    /// shape × colour as one index (shape-major), the compositional class.
    public var composition: Int { shape.rawValue * SceneColour.allCases.count + colour.rawValue }
}

/// A clutter stroke no caption mentions.
struct SceneDistractor: Equatable, Sendable {
    var x0: Double, y0: Double, x1: Double, y1: Double
    var thickness: Double
    var rgb: [Double]
}

public struct Scene: Equatable, Sendable {
    /// Described objects; the first is the main object (always large), which the label axes refer to.
    public var objects: [SceneObject]
    var distractors: [SceneDistractor]
    var background: SceneBackground
    /// "dark" or "light", from the background's mean luminance, so captions can honestly mention it.
    public var backgroundTone: String
    var noiseSigma: Double
    var seedForPixels: UInt64
}

struct SceneBackground: Equatable, Sendable {
    enum Pattern: Int { case flat, gradient, waves, checker, stripes }
    var pattern: Pattern
    var base: [Double]
    var second: [Double]
    var angle: Double
    var frequency: Double
}

/// Which distribution a split's scenes come from.
public enum SceneVariant: String, CaseIterable, Codable, Sendable {
    /// Training scenes: held-out shape×colour pairs never appear.
    case train
    /// Same distribution as training, different images (val and test).
    case iid
    /// The main object is always a held-out shape×colour pair.
    case heldOut = "held_out"
    /// Backgrounds and noise unlike training (saturated patterns, strong noise); compositions as training.
    case shifted

    var stream: UInt64 {
        switch self {
        case .train: return 1
        case .iid: return 2
        case .heldOut: return 3
        case .shifted: return 4
        }
    }
}

/// GapLab's procedural image–caption generator: seeded and deterministic (same seed, same bytes), any image size.
/// Every image is a function of (seed, variant, index) alone, so splits can be generated in any order.
public struct SceneGenerator: Sendable {
    public struct Options: Equatable, Codable, Sendable {
        public var imageSize: Int = 32
        public var captionsPerImage: Int = 4
        /// How many shape×colour pairs (of 64) are withheld from training.
        public var heldOutPairCount: Int = 8
        public init() {}
    }

    public let seed: Int
    public let options: Options
    /// shape×colour compositions (`SceneObject.composition`) never drawn in train or iid scenes.
    public let heldOutPairs: [Int]

    public init(seed: Int, options: Options = Options()) {
        self.seed = seed
        self.options = options
        heldOutPairs = SceneGenerator.chooseHeldOutPairs(seed: seed, count: options.heldOutPairCount)
    }

    /// A Latin-square style choice: shape s is withheld with colour perm[(s + k·3) mod 8] for rounds k, so every
    /// shape and every colour keeps most of its partners in training.
    static func chooseHeldOutPairs(seed: Int, count: Int) -> [Int] {
        var rng = SeededRandom(seed: seed, stream: 99, index: 0)
        let shapes = SceneShape.allCases.count, colours = SceneColour.allCases.count
        let perm = rng.permutation(colours)
        var pairs: [Int] = []
        var round = 0
        while pairs.count < min(count, shapes * (colours - 1)) {
            for s in 0..<shapes where pairs.count < count {
                let c = perm[(s + round * 3) % colours]
                let pair = s * colours + c
                if !pairs.contains(pair) { pairs.append(pair) }
            }
            round += 1
        }
        return pairs.sorted()
    }

    // MARK: Scene sampling

    public func scene(index: Int, variant: SceneVariant) -> Scene {
        var rng = SeededRandom(seed: seed, stream: variant.stream, index: index)
        let s = Double(options.imageSize)
        let heldOut = Set(heldOutPairs)

        let background = sampleBackground(variant: variant, rng: &rng)
        let objectCount = 1 + rng.nextInt(below: 3)
        var objects: [SceneObject] = []
        var attempts = 0
        while objects.count < objectCount && attempts < 200 {
            attempts += 1
            let size: SceneSize = objects.isEmpty ? .large : (rng.chance(0.5) ? .small : .large)
            var shape = SceneShape(rawValue: rng.nextInt(below: 8))!
            var colour = SceneColour(rawValue: rng.nextInt(below: 8))!
            // Repeat the main object's shape and colour now and then, so count captions ("two red circles") occur.
            if objects.count >= 1, rng.chance(0.3) {
                shape = objects[0].shape
                colour = objects[0].colour
            } else if variant == .heldOut && objects.isEmpty {
                let pair = heldOutPairs[rng.nextInt(below: heldOutPairs.count)]
                shape = SceneShape(rawValue: pair / 8)!
                colour = SceneColour(rawValue: pair % 8)!
            } else {
                while heldOut.contains(shape.rawValue * 8 + colour.rawValue) {
                    shape = SceneShape(rawValue: rng.nextInt(below: 8))!
                    colour = SceneColour(rawValue: rng.nextInt(below: 8))!
                }
            }
            let fill = SceneFill(rawValue: rng.nextInt(below: 3))!
            let radius = s * (size == .large ? 0.2 : 0.12) * rng.uniform(0.9, 1.1)
            let x = rng.uniform(radius + 0.5, s - radius - 0.5)
            let y = rng.uniform(radius + 0.5, s - radius - 0.5)
            let clear = objects.allSatisfy { other in
                let dx = other.x - x, dy = other.y - y
                return max(abs(dx), abs(dy)) >= 0.95 * (other.radius + radius)
            }
            if !clear { continue }
            let base = colour.rgb
            let brightness = rng.uniform(0.85, 1.08)
            let rgb = [base.0, base.1, base.2].map { min(255, max(0, $0 * brightness + rng.uniform(-14, 14))) }
            let rotation = rng.uniform(-0.25, 0.25)
            objects.append(SceneObject(shape: shape, colour: colour, size: size, fill: fill, x: x, y: y,
                                       radius: radius, rotation: rotation, rgb: rgb))
        }

        let distractorCount = rng.nextInt(below: 3)
        var distractors: [SceneDistractor] = []
        let neutral: [[Double]] = [[20, 20, 20], [90, 90, 90], [170, 170, 170], [120, 80, 45], [235, 235, 225]]
        for _ in 0..<distractorCount {
            let x0 = rng.uniform(0, s), y0 = rng.uniform(0, s)
            let angle = rng.uniform(0, 2 * Double.pi), length = s * rng.uniform(0.12, 0.3)
            distractors.append(SceneDistractor(x0: x0, y0: y0, x1: x0 + length * Foundation.cos(angle), y1: y0 + length * Foundation.sin(angle),
                                               thickness: max(0.8, s / 32 * rng.uniform(0.8, 1.6)), rgb: rng.pick(neutral)))
        }

        let noise = variant == .shifted ? rng.uniform(14, 26) : rng.uniform(2, 10)
        let luminance = 0.299 * background.base[0] + 0.587 * background.base[1] + 0.114 * background.base[2]
        return Scene(objects: objects, distractors: distractors, background: background,
                     backgroundTone: luminance < 110 ? "dark" : "light", noiseSigma: noise, seedForPixels: rng.next())
    }

    func sampleBackground(variant: SceneVariant, rng: inout SeededRandom) -> SceneBackground {
        if variant == .shifted {
            // Saturated, high-frequency patterns: never seen in training.
            let pattern: SceneBackground.Pattern = rng.chance(0.5) ? .checker : .stripes
            let a = (0..<3).map { _ in rng.uniform(0, 255) }
            let b = (0..<3).map { _ in rng.uniform(0, 255) }
            return SceneBackground(pattern: pattern, base: a, second: b, angle: rng.uniform(0, Double.pi),
                                   frequency: rng.uniform(0.25, 0.6))
        }
        let grey = rng.uniform(35, 215)
        let base = (0..<3).map { _ in min(255, max(0, grey + rng.uniform(-22, 22))) }
        let shift = rng.uniform(-55, 55)
        let second = base.map { min(255, max(0, $0 + shift + rng.uniform(-10, 10))) }
        let patterns: [SceneBackground.Pattern] = [.flat, .gradient, .gradient, .waves]
        return SceneBackground(pattern: rng.pick(patterns), base: base, second: second,
                               angle: rng.uniform(0, 2 * Double.pi), frequency: rng.uniform(0.05, 0.15))
    }

    // MARK: Rendering

    public func render(_ scene: Scene) -> RGBImage {
        let size = options.imageSize
        var canvas = SceneCanvas(width: size, height: size)
        let bg = scene.background
        let cosA = Foundation.cos(bg.angle), sinA = Foundation.sin(bg.angle)
        let scale = 32.0 / Double(size)
        for y in 0..<size {
            for x in 0..<size {
                let u = (Double(x) + 0.5) * scale, v = (Double(y) + 0.5) * scale
                let t: Double
                switch bg.pattern {
                case .flat: t = 0
                case .gradient: t = min(1, max(0, 0.5 + ((u - 16) * cosA + (v - 16) * sinA) / 32))
                case .waves: t = 0.5 + 0.5 * Foundation.sin((u * cosA + v * sinA) * bg.frequency * 2 * Double.pi / 2)
                case .checker: t = (Int((u * bg.frequency).rounded(.down)) + Int((v * bg.frequency).rounded(.down))) % 2 == 0 ? 0 : 1
                case .stripes: t = Int(((u * cosA + v * sinA) * bg.frequency).rounded(.down)) % 2 == 0 ? 0 : 1
                }
                let i = (y * size + x) * 3
                for c in 0..<3 { canvas.values[i + c] = bg.base[c] * (1 - t) + bg.second[c] * t }
            }
        }
        for d in scene.distractors { drawStroke(d, on: &canvas) }
        for object in scene.objects { drawObject(object, on: &canvas) }
        var noise = SeededRandom(seed: scene.seedForPixels)
        for i in 0..<canvas.values.count { canvas.values[i] += scene.noiseSigma * noise.gaussian() }
        return canvas.toImage()
    }

    func drawObject(_ o: SceneObject, on canvas: inout SceneCanvas) {
        let cosR = Foundation.cos(o.rotation), sinR = Foundation.sin(o.rotation)
        let colour = (o.rgb[0], o.rgb[1], o.rgb[2])
        let shade = (o.rgb[0] * 0.3, o.rgb[1] * 0.3, o.rgb[2] * 0.3)
        let stripePeriod = max(2.0, Double(options.imageSize) / 11) / o.radius
        let reach = o.radius * 1.05
        canvas.draw(bounds: (o.x - reach, o.y - reach, o.x + reach, o.y + reach)) { px, py in
            let dx = (px - o.x) / o.radius, dy = (py - o.y) / o.radius
            let u = dx * cosR + dy * sinR, v = -dx * sinR + dy * cosR
            guard ShapeGeometry.contains(o.shape, u, v) else { return nil }
            switch o.fill {
            case .solid: return colour
            case .outline: return ShapeGeometry.contains(o.shape, u / 0.55, v / 0.55) ? nil : colour
            case .striped:
                let band = Int(((u + v + 4) / stripePeriod).rounded(.down))
                return band % 2 == 0 ? colour : shade
            }
        }
    }

    func drawStroke(_ d: SceneDistractor, on canvas: inout SceneCanvas) {
        let colour = (d.rgb[0], d.rgb[1], d.rgb[2])
        let half = d.thickness / 2
        let dx = d.x1 - d.x0, dy = d.y1 - d.y0
        let lengthSquared = max(dx * dx + dy * dy, 1e-9)
        canvas.draw(bounds: (min(d.x0, d.x1) - half, min(d.y0, d.y1) - half, max(d.x0, d.x1) + half, max(d.y0, d.y1) + half)) { px, py in
            let t = max(0, min(1, ((px - d.x0) * dx + (py - d.y0) * dy) / lengthSquared))
            let ex = d.x0 + t * dx - px, ey = d.y0 + t * dy - py
            return ex * ex + ey * ey <= half * half ? colour : nil
        }
    }

    // MARK: Splits

    /// `count` scenes of `variant` starting at scene `firstIndex`, rendered and captioned, with the label axes.
    /// Splits of one variant stay disjoint by taking disjoint index ranges.
    public func makeSplit(name: String, variant: SceneVariant, count: Int, firstIndex: Int = 0) -> ImageTextDataset {
        let size = options.imageSize
        let bytes = size * size * 3
        var pixels = [UInt8](repeating: 0, count: count * bytes)
        var captions = [[String]](repeating: [], count: count)
        var scenes = [Scene?](repeating: nil, count: count)
        // Each image depends only on its index, so chunks render in parallel and still give identical bytes.
        let chunk = 64
        let chunks = (count + chunk - 1) / chunk
        pixels.withUnsafeMutableBufferPointer { pixelBuffer in
            captions.withUnsafeMutableBufferPointer { captionBuffer in
                scenes.withUnsafeMutableBufferPointer { sceneBuffer in
                    DispatchQueue.concurrentPerform(iterations: chunks) { c in
                        for i in (c * chunk)..<min(count, (c + 1) * chunk) {
                            let scene = self.scene(index: firstIndex + i, variant: variant)
                            let image = render(scene)
                            image.pixels.withUnsafeBufferPointer { src in
                                (pixelBuffer.baseAddress! + i * bytes).update(from: src.baseAddress!, count: bytes)
                            }
                            captionBuffer[i] = SceneCaptioner.captions(for: scene, count: options.captionsPerImage,
                                                                       seed: seed, stream: variant.stream, index: firstIndex + i)
                            sceneBuffer[i] = scene
                        }
                    }
                }
            }
        }
        let mains = scenes.map { $0!.objects[0] }
        return ImageTextDataset(name: name, imageWidth: size, imageHeight: size, pixels: pixels, captionsPerImage: captions,
                                labelAxes: SceneGenerator.labelAxes(shape: mains.map { $0.shape.rawValue }, colour: mains.map { $0.colour.rawValue },
                                                                    pair: mains.map { $0.composition }, count: scenes.map { $0!.objects.count - 1 }),
                                sourceIDs: (0..<count).map { "scenes/\(variant.rawValue)/\(seed)/\(firstIndex + $0)" })
    }

    /// A hard-negative gallery: `pairs` pairs of images (2k, 2k+1), each with the one caption "a C1 S1 REL a C2 S2".
    /// In even pairs the colours of the two objects are swapped; in odd pairs the objects are mirrored along the axis
    /// of their relation, so the relation flips ("left of" ↔ "right of") while every object stays the same.
    /// Retrieval on it measures binding of colour to shape and of objects to places, not bag-of-words matching.
    public func makeSwapGallery(name: String, pairs: Int, firstIndex: Int) -> ImageTextDataset {
        let heldOut = Set(heldOutPairs)
        let side = Double(options.imageSize)
        var scenes: [Scene] = []
        var index = firstIndex
        while scenes.count < 2 * pairs {
            let scene = self.scene(index: index, variant: .iid)
            index += 1
            guard scene.objects.count >= 2 else { continue }
            let a = scene.objects[0], b = scene.objects[1]
            guard a.colour != b.colour, a.shape != b.shape,
                  !heldOut.contains(a.shape.rawValue * 8 + b.colour.rawValue),
                  !heldOut.contains(b.shape.rawValue * 8 + a.colour.rawValue) else { continue }
            var swapped = scene
            if (scenes.count / 2) % 2 == 0 {
                swapped.objects[0].colour = b.colour
                swapped.objects[0].rgb = b.rgb
                swapped.objects[1].colour = a.colour
                swapped.objects[1].rgb = a.rgb
            } else {
                let relation = SceneCaptioner.relation(from: a, to: b)
                let horizontal = relation == .leftOf || relation == .rightOf
                for k in swapped.objects.indices {
                    if horizontal { swapped.objects[k].x = side - swapped.objects[k].x } else { swapped.objects[k].y = side - swapped.objects[k].y }
                    swapped.objects[k].rotation = -swapped.objects[k].rotation
                }
                for k in swapped.distractors.indices {
                    if horizontal {
                        swapped.distractors[k].x0 = side - swapped.distractors[k].x0
                        swapped.distractors[k].x1 = side - swapped.distractors[k].x1
                    } else {
                        swapped.distractors[k].y0 = side - swapped.distractors[k].y0
                        swapped.distractors[k].y1 = side - swapped.distractors[k].y1
                    }
                }
            }
            scenes += [scene, swapped]
        }
        let size = options.imageSize
        var pixels: [UInt8] = []
        pixels.reserveCapacity(scenes.count * size * size * 3)
        var captions: [[String]] = []
        for scene in scenes {
            pixels += render(scene).pixels
            let a = scene.objects[0], b = scene.objects[1]
            let relation = SceneCaptioner.relation(from: a, to: b).phrases[0]
            captions.append(["a \(a.colour.name) \(a.shape.name) \(relation) a \(b.colour.name) \(b.shape.name)"])
        }
        let mains = scenes.map { $0.objects[0] }
        return ImageTextDataset(name: name, imageWidth: size, imageHeight: size, pixels: pixels, captionsPerImage: captions,
                                labelAxes: SceneGenerator.labelAxes(shape: mains.map { $0.shape.rawValue }, colour: mains.map { $0.colour.rawValue },
                                                                    pair: mains.map { $0.composition }, count: scenes.map { $0.objects.count - 1 }),
                                sourceIDs: scenes.indices.map { "scenes/swap/\(seed)/\(firstIndex)+\($0)" })
    }

    static func labelAxes(shape: [Int], colour: [Int], pair: [Int], count: [Int]) -> [LabelAxis] {
        let pairNames = SceneShape.allCases.flatMap { s in SceneColour.allCases.map { c in "\(c.name) \(s.name)" } }
        return [
            LabelAxis(name: "shape", classNames: SceneShape.names, labels: shape,
                      templates: ["the {}.", "a photo of the {}.", "the large {}.", "an image with the {} in it.", "there is one {}."]),
            LabelAxis(name: "colour", classNames: SceneColour.names, labels: colour,
                      templates: ["the {} shape.", "the {} object.", "a photo of the {} shape.", "something {}.", "the large {} shape."]),
            LabelAxis(name: "shape_colour", classNames: pairNames, labels: pair,
                      templates: ["the {}.", "a photo of the {}.", "the large {}.", "there is one {}.", "an image of the {}."]),
            LabelAxis(name: "count", classNames: ["one shape", "two shapes", "three shapes"], labels: count,
                      templates: ["{}.", "a photo of {}.", "an image with {}.", "there is {} in the picture."]),
        ]
    }
}
