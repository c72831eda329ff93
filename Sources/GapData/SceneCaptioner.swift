import GapRandom

/// The caption grammar of generated scenes. Each caption is true of its image, but mentions a random subset of
/// attributes, uses synonyms, and picks among list, relation and count constructions, so several different
/// captions fit one image and no caption is a fixed function of the pixels.
enum SceneCaptioner {
    static func captions(for scene: Scene, count: Int, seed: Int, stream: UInt64, index: Int) -> [String] {
        var rng = SeededRandom(seed: seed, stream: stream &+ 1000, index: index)
        var result: [String] = []
        var attempts = 0
        while result.count < count {
            let caption = sentence(scene, rng: &rng)
            attempts += 1
            if !result.contains(caption) || attempts > 30 { result.append(caption) }
        }
        return result
    }

    static func sentence(_ scene: Scene, rng: inout SeededRandom) -> String {
        let objects = scene.objects
        var kinds: [Int] = [0]
        if objects.count >= 2 { kinds += [1, 1, 2] }
        if let _ = countGroup(objects) { kinds += [3, 3] }
        let core: String
        let frame = rng.nextInt(below: 7)
        switch rng.pick(kinds) {
        case 1: core = relationPhrase(objects, asSentence: frame >= 4, rng: &rng)
        case 2: core = listPhrase(objects, rng: &rng)
        case 3: core = countPhrase(objects, rng: &rng)
        default: core = nounPhrase(objects[0], rng: &rng, keepColour: 0.9)
        }
        var framed: String
        switch frame {
        case 0: framed = "a photo of " + core
        case 1: framed = "an image of " + core
        case 2: framed = core.hasPrefix("two ") || core.hasPrefix("three ") ? "there are " + core : "there is " + core
        case 3: framed = "a picture showing " + core
        default: framed = core
        }
        if rng.chance(0.2) { framed += " on a \(scene.backgroundTone) background" }
        return framed
    }

    /// "a small striped red circle", with size, fill and colour each dropped at random.
    static func nounPhrase(_ o: SceneObject, rng: inout SeededRandom, keepColour: Double = 0.85) -> String {
        var words: [String] = []
        if rng.chance(0.5) { words.append(rng.pick(o.size.words)) }
        if rng.chance(0.5) { words.append(rng.pick(o.fill.words)) }
        if rng.chance(keepColour) { words.append(rng.pick(o.colour.words)) }
        words.append(rng.pick(o.shape.nouns).0)
        let phrase = words.joined(separator: " ")
        return article(phrase) + " " + phrase
    }

    static func article(_ phrase: String) -> String {
        guard let first = phrase.first else { return "a" }
        return "aeiou".contains(first) ? "an" : "a"
    }

    static func relation(from a: SceneObject, to b: SceneObject) -> SceneRelation {
        let dx = b.x - a.x, dy = b.y - a.y
        if abs(dx) >= abs(dy) { return dx > 0 ? .leftOf : .rightOf }
        return dy > 0 ? .above : .below
    }

    /// "a red circle left of a small blue square" (A's position relative to B), either order.
    /// `asSentence` allows "A is left of B"; inside a frame ("a photo of …") only the noun phrase form fits.
    static func relationPhrase(_ objects: [SceneObject], asSentence: Bool, rng: inout SeededRandom) -> String {
        var a = 0, b = 1 + rng.nextInt(below: objects.count - 1)
        if rng.chance(0.35) { swap(&a, &b) }
        let rel = relation(from: objects[a], to: objects[b])
        let first = nounPhrase(objects[a], rng: &rng), second = nounPhrase(objects[b], rng: &rng)
        let verb = asSentence && rng.chance(0.4) ? " is " : " "
        return first + verb + rng.pick(rel.phrases) + " " + second
    }

    static func listPhrase(_ objects: [SceneObject], rng: inout SeededRandom) -> String {
        var phrases = objects.map { nounPhrase($0, rng: &rng) }
        if rng.chance(0.4) { rng.shuffle(&phrases) }
        if phrases.count == 2 { return phrases[0] + " and " + phrases[1] }
        return phrases.dropLast().joined(separator: ", ") + " and " + phrases.last!
    }

    /// Indices of the largest group of objects sharing shape and colour, when it has at least two members.
    static func countGroup(_ objects: [SceneObject]) -> [Int]? {
        var best: [Int] = []
        for o in objects {
            let group = objects.indices.filter { objects[$0].shape == o.shape && objects[$0].colour == o.colour }
            if group.count > best.count { best = group }
        }
        return best.count >= 2 ? best : nil
    }

    /// "two red circles", plus the remaining object when there is one. Only the attributes the group shares.
    static func countPhrase(_ objects: [SceneObject], rng: inout SeededRandom) -> String {
        let group = countGroup(objects)!
        let members = group.map { objects[$0] }
        var words = [numberWords[group.count]]
        if members.allSatisfy({ $0.size == members[0].size }), rng.chance(0.4) { words.append(rng.pick(members[0].size.words)) }
        if members.allSatisfy({ $0.fill == members[0].fill }), rng.chance(0.4) { words.append(rng.pick(members[0].fill.words)) }
        words.append(rng.pick(members[0].colour.words))
        words.append(rng.pick(members[0].shape.nouns).1)
        var phrase = words.joined(separator: " ")
        if let other = objects.indices.first(where: { !group.contains($0) }), rng.chance(0.6) {
            phrase += " and " + nounPhrase(objects[other], rng: &rng)
        }
        return phrase
    }
}
