import Foundation
import GapModel
import GapSpec
import XCTest

final class ModelConfigTests: XCTestCase {
    func testOpenCLIPConfigIsReadAsIs() throws {
        let json = """
        {"embed_dim": 128, "quick_gelu": false,
         "vision_cfg": {"image_size": 32, "patch_size": 4, "width": 128, "layers": 4, "head_width": 32, "mlp_ratio": 4.0},
         "text_cfg": {"context_length": 32, "vocab_size": 1024, "width": 128, "heads": 4, "layers": 4, "mlp_ratio": 4.0}}
        """
        let config = try JSONDecoder().decode(ModelConfig.self, from: Data(json.utf8))
        XCTAssertEqual(config, ModelConfig.reference)
        XCTAssertEqual(config.vision.heads, 4)
        XCTAssertTrue(config.isTwoTower)
        // The parameter count printed by open_clip for this configuration (openclip-params.txt).
        XCTAssertEqual(ParameterLayout(config: config).totalCount, 1_769_473)
    }

    func testImpossibleSharingIsRefusedWithKeysAndValues() {
        var c = ModelConfig.reference
        c.text.width = 64
        c.sharing = SharingConfig(depth: 2, head: false)
        let issues = c.issues(at: "model")
        XCTAssertTrue(issues.contains { $0.path == "model.sharing" && $0.message.contains("vision_cfg.width = 128") && $0.message.contains("text_cfg.width = 64") },
                      "\(issues)")

        var d = ModelConfig.reference
        d.sharing = SharingConfig(depth: 5, head: true)
        XCTAssertTrue(d.issues().contains { $0.path == "sharing.depth" && $0.message.contains("5") })

        var e = ModelConfig.reference
        e.text.heads = 8
        e.sharing.depth = 1
        XCTAssertTrue(e.issues().contains { $0.message.contains("head counts") })

        var f = ModelConfig.reference
        f.sharing = SharingConfig(depth: 4, head: true)
        XCTAssertEqual(f.issues(), [])
    }

    func testNamingSchemes() {
        let two = ParameterLayout(config: tinyConfig(depth: 0, head: false))
        XCTAssertEqual(two.naming, .openCLIP)
        XCTAssertNotNil(two.info("visual.transformer.resblocks.1.attn.in_proj_weight"))
        XCTAssertNotNil(two.info("transformer.resblocks.1.mlp.c_proj.bias"))
        XCTAssertEqual(two.info("logit_scale")?.shape, [])

        let partial = ParameterLayout(config: tinyConfig(depth: 1, head: false))
        XCTAssertEqual(partial.naming, .partial)
        XCTAssertEqual(partial.visionBlockNames, ["visual.transformer.resblocks.0", "shared.resblocks.1"])
        XCTAssertEqual(partial.textBlockNames, ["transformer.resblocks.0", "shared.resblocks.1"])
        XCTAssertNotNil(partial.info("visual.proj"))

        let head = ParameterLayout(config: tinyConfig(depth: 0, head: true))
        XCTAssertEqual(head.visionHead.projection, "shared.projection")
        XCTAssertEqual(head.textHead.ln, "shared.ln_post")
    }

    func testInitialisationIsSeededAndFollowsRules() {
        let a = CLIPModel(config: .reference, seed: 3, maxBatch: 1), b = CLIPModel(config: .reference, seed: 3, maxBatch: 1)
        XCTAssertEqual(a.weights.array, b.weights.array)
        XCTAssertEqual(Double(a.logitScale), log(1 / 0.07), accuracy: 1e-6)
        func std(_ name: String) -> Double {
            let t = a.layout.info(name)!, p = a.pointer(name)
            let xs = (0..<t.count).map { Double(p[$0]) }
            let m = xs.reduce(0, +) / Double(xs.count)
            return (xs.map { ($0 - m) * ($0 - m) }.reduce(0, +) / Double(xs.count)).squareRoot()
        }
        XCTAssertEqual(std("token_embedding.weight"), 0.02, accuracy: 0.001)
        XCTAssertEqual(std("transformer.resblocks.0.attn.out_proj.weight"), 0.0313, accuracy: 0.001)
        XCTAssertEqual(std("visual.transformer.resblocks.0.attn.in_proj_weight"), 0.0625, accuracy: 0.002)
        XCTAssertEqual(a.pointer("visual.ln_pre.weight")[5], 1)
    }
}
