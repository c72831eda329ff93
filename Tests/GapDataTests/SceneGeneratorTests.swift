import Foundation
import XCTest
@testable import GapData

final class SceneGeneratorTests: XCTestCase {
    func testSameSeedGivesIdenticalBytesAndCaptions() {
        let a = SceneGenerator(seed: 7).makeSplit(name: "train", variant: .train, count: 40)
        let b = SceneGenerator(seed: 7).makeSplit(name: "train", variant: .train, count: 40)
        XCTAssertEqual(a.pixels, b.pixels)
        XCTAssertEqual(a.captions, b.captions)
        XCTAssertEqual(a.labelAxes, b.labelAxes)
        let c = SceneGenerator(seed: 8).makeSplit(name: "train", variant: .train, count: 40)
        XCTAssertNotEqual(a.pixels, c.pixels)
    }

    func testImagesDependOnlyOnTheirIndex() {
        let generator = SceneGenerator(seed: 3)
        let split = generator.makeSplit(name: "train", variant: .train, count: 12)
        let eleventh = generator.render(generator.scene(index: 11, variant: .train))
        XCTAssertEqual(split.image(11), eleventh)
    }

    func testAnyImageSize() {
        var options = SceneGenerator.Options()
        options.imageSize = 48
        let split = SceneGenerator(seed: 1, options: options).makeSplit(name: "val", variant: .iid, count: 3)
        XCTAssertEqual(split.imageWidth, 48)
        XCTAssertEqual(split.pixels.count, 3 * 48 * 48 * 3)
    }

    func testHeldOutPairsNeverInTrainingButEveryShapeAndColourIs() {
        let generator = SceneGenerator(seed: 11)
        XCTAssertEqual(generator.heldOutPairs.count, 8)
        let heldOut = Set(generator.heldOutPairs)
        var shapes = Set<SceneShape>(), colours = Set<SceneColour>()
        for i in 0..<400 {
            for o in generator.scene(index: i, variant: .train).objects {
                XCTAssertFalse(heldOut.contains(o.composition), "held-out pair \(o.composition) appeared in training scene \(i)")
                shapes.insert(o.shape)
                colours.insert(o.colour)
            }
        }
        XCTAssertEqual(shapes.count, 8)
        XCTAssertEqual(colours.count, 8)
        for i in 0..<50 {
            XCTAssertTrue(heldOut.contains(generator.scene(index: i, variant: .heldOut).objects[0].composition))
        }
    }

    func testCaptionsDescribeTheMainObjectsShapeAndAreSeveral() {
        let generator = SceneGenerator(seed: 5)
        let split = generator.makeSplit(name: "train", variant: .train, count: 60)
        let shapeAxis = split.labelAxis(named: "shape")!
        var mentioned = 0
        for image in 0..<split.imageCount {
            let captions = split.captions(ofImage: image)
            XCTAssertEqual(captions.count, 4)
            XCTAssertGreaterThan(Set(captions).count, 1, "image \(image) has identical captions")
            let shape = SceneShape(rawValue: shapeAxis.labels[image])!
            let nouns = shape.nouns.flatMap { [$0.0, $0.1] }
            mentioned += captions.filter { c in nouns.contains { c.contains($0) } }.count
        }
        // Count captions and relations may lead with another object, but the main object appears in most.
        XCTAssertGreaterThan(Double(mentioned) / Double(split.captionCount), 0.7)
    }

    func testRelationWordsMatchGeometry() {
        let generator = SceneGenerator(seed: 2)
        for i in 0..<200 {
            let scene = generator.scene(index: i, variant: .train)
            guard scene.objects.count >= 2 else { continue }
            let a = scene.objects[0], b = scene.objects[1]
            let relation = SceneCaptioner.relation(from: a, to: b)
            switch relation {
            case .leftOf: XCTAssertLessThan(a.x, b.x)
            case .rightOf: XCTAssertGreaterThan(a.x, b.x)
            case .above: XCTAssertLessThan(a.y, b.y)
            case .below: XCTAssertGreaterThan(a.y, b.y)
            }
        }
    }

    func testSwapGalleryPairsDifferOnlyBySwappedColoursOrRelation() {
        let generator = SceneGenerator(seed: 6)
        let gallery = generator.makeSwapGallery(name: "test_swapped", pairs: 10, firstIndex: 0)
        XCTAssertEqual(gallery.imageCount, 20)
        XCTAssertEqual(Set(gallery.captions).count, 20, "every image has its own caption")
        let colours = gallery.labelAxis(named: "colour")!.labels
        let shapes = gallery.labelAxis(named: "shape")!.labels
        let opposite = ["left": "right", "right": "left", "above": "below", "below": "above"]
        for k in 0..<10 {
            XCTAssertEqual(shapes[2 * k], shapes[2 * k + 1])
            XCTAssertNotEqual(gallery.image(2 * k), gallery.image(2 * k + 1))
            let a = gallery.captions[2 * k].split(separator: " ").map(String.init)
            let b = gallery.captions[2 * k + 1].split(separator: " ").map(String.init)
            XCTAssertEqual(a.count, b.count)
            if k % 2 == 0 {
                XCTAssertNotEqual(colours[2 * k], colours[2 * k + 1])
                XCTAssertEqual(a[1], b[b.count - 2], "the first colour of one is the second of the other")
            } else {
                XCTAssertEqual(colours[2 * k], colours[2 * k + 1])
                XCTAssertEqual(opposite[a[3]], b[3], "the relation flips: \(a) / \(b)")
                XCTAssertEqual(a.filter { opposite[$0] == nil }, b.filter { opposite[$0] == nil })
            }
        }
    }

    func testShiftedVariantIsNoisierThanTraining() {
        let generator = SceneGenerator(seed: 4)
        let train = (0..<50).map { generator.scene(index: $0, variant: .train).noiseSigma }
        let shifted = (0..<50).map { generator.scene(index: $0, variant: .shifted).noiseSigma }
        XCTAssertLessThan(train.max()!, shifted.min()!)
    }
}
