import Foundation
import GapTestSupport
import GapModel
import GapSpec
import XCTest

/// `gaplab init` and `gaplab encode` through the built executable, against the PyTorch fixture.
final class ModelCommandTests: XCTestCase {
    var directory: URL!
    let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .appendingPathComponent("Fixtures/reference_two_tower.safetensors")

    override func setUpWithError() throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("gaplab-model-cli-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    }

    override func tearDownWithError() throws { try? FileManager.default.removeItem(at: directory) }

    func gaplab(_ arguments: [String], name: String) throws -> GapLabBinary.Launched {
        let launched = try GapLabBinary.Launched(arguments: arguments, logDirectory: directory, name: name)
        launched.wait()
        return launched
    }

    func testEncodeReproducesPyTorchEmbeddingsAndLoss() throws {
        let file = try SafeTensorsFile(path: fixture.path)
        let configJSON = file.metadata["config"]!
        let modelPath = directory.appendingPathComponent("model.json").path
        try configJSON.write(toFile: modelPath, atomically: true, encoding: .utf8)
        let config = try JSONDecoder().decode(ModelConfig.self, from: Data(configJSON.utf8))
        let model = CLIPModel(config: config, maxBatch: 6)
        try model.loadWeights(from: file, prefix: "param.")
        let checkpoint = directory.appendingPathComponent("ckpt.safetensors").path
        try model.saveWeights(to: checkpoint)
        var inputs = SafeTensorsWriter()
        inputs.add("images", floats: try file.floats("input.images"), shape: try file.entry("input.images").shape)
        inputs.add("tokens", int64s: try file.int32s("input.tokens").map(Int64.init), shape: try file.entry("input.tokens").shape)
        let inputPath = directory.appendingPathComponent("in.safetensors").path
        try inputs.write(to: inputPath)
        let outPath = directory.appendingPathComponent("out.safetensors").path

        let encode = try gaplab(["encode", "--model", modelPath, "--checkpoint", checkpoint, "--inputs", inputPath, "--out", outPath], name: "encode")
        XCTAssertEqual(encode.process.terminationStatus, 0, encode.stderr)
        let out = try SafeTensorsFile(path: outPath)
        for (ours, theirs) in [("image_embeds", "out.image_embeds"), ("text_embeds", "out.text_embeds"), ("loss", "out.loss")] {
            let a = try out.floats(ours), b = try file.floats(theirs)
            XCTAssertEqual(a.count, b.count)
            for (x, y) in zip(a, b) { XCTAssertEqual(x, y, accuracy: 1e-5 * max(1, abs(y)), ours) }
        }
        XCTAssertEqual(try out.entry("loss").shape, [])

        // A checkpoint that does not fit the config: the first mismatching tensor is named, exit non-zero.
        let shared = directory.appendingPathComponent("shared.json").path
        try configJSON.replacingOccurrences(of: "\"embed_dim\": 16", with: "\"embed_dim\": 16, \"sharing\": {\"depth\": 1}")
            .write(toFile: shared, atomically: true, encoding: .utf8)
        let mismatch = try gaplab(["encode", "--model", shared, "--checkpoint", checkpoint, "--inputs", inputPath, "--out", outPath], name: "mismatch")
        XCTAssertNotEqual(mismatch.process.terminationStatus, 0)
        XCTAssertTrue(mismatch.stderr.contains("missing tensor 'shared.resblocks.1"), mismatch.stderr)
    }

    func testInitWritesOpenCLIPNamesAndRefusesImpossibleSharing() throws {
        let modelPath = directory.appendingPathComponent("model.json").path
        try #"{"embed_dim": 8, "vision_cfg": {"image_size": 8, "patch_size": 4, "width": 16, "layers": 2, "head_width": 8}, "text_cfg": {"context_length": 6, "vocab_size": 20, "width": 16, "heads": 2, "layers": 2}}"#
            .write(toFile: modelPath, atomically: true, encoding: .utf8)
        let out = directory.appendingPathComponent("init.safetensors").path
        let first = try gaplab(["init", "--model", modelPath, "--seed", "3", "--out", out], name: "init")
        XCTAssertEqual(first.process.terminationStatus, 0, first.stderr)
        let file = try SafeTensorsFile(path: out)
        XCTAssertEqual(try file.entry("visual.transformer.resblocks.1.attn.in_proj_weight").shape, [48, 16])
        XCTAssertEqual(try file.entry("text_projection").shape, [16, 8])
        XCTAssertEqual(try file.entry("logit_scale").shape, [])
        let bytes = try Data(contentsOf: URL(fileURLWithPath: out))
        let again = try gaplab(["init", "--model", modelPath, "--seed", "3", "--out", out], name: "init-again")
        XCTAssertEqual(again.process.terminationStatus, 0)
        XCTAssertEqual(try Data(contentsOf: URL(fileURLWithPath: out)), bytes, "same seed, same bytes")

        let bad = directory.appendingPathComponent("bad.json").path
        try #"{"embed_dim": 8, "sharing": {"depth": 1}, "vision_cfg": {"width": 16, "layers": 2, "head_width": 8}, "text_cfg": {"width": 32, "heads": 2, "layers": 2}}"#
            .write(toFile: bad, atomically: true, encoding: .utf8)
        let refused = try gaplab(["init", "--model", bad, "--out", out], name: "refused")
        XCTAssertNotEqual(refused.process.terminationStatus, 0)
        XCTAssertTrue(refused.stderr.contains("vision_cfg.width = 16") && refused.stderr.contains("text_cfg.width = 32"), refused.stderr)
    }
}
