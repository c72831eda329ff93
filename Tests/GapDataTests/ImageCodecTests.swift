import Foundation
import XCTest
@testable import GapData

final class ImageCodecTests: XCTestCase {
    /// A 6×4 gradient with distinct channels, so any channel or row mix-up shows.
    func gradient() -> RGBImage {
        var pixels: [UInt8] = []
        for y in 0..<4 { for x in 0..<6 { pixels += [UInt8(x * 40), UInt8(y * 60), UInt8(200 - x * 20)] } }
        return RGBImage(width: 6, height: 4, pixels: pixels)
    }

    func testRGBRoundTrip() throws {
        let image = gradient()
        XCTAssertEqual(try ImageDecoder.decode(try PNGCodec.encode(image), source: "rgb.png"), image)
    }

    func testGreyPNGExpandsToRGB() throws {
        let grey: [UInt8] = [0, 50, 100, 150, 200, 255]
        let decoded = try ImageDecoder.decode(try PNGCodec.encode(samples: grey, width: 3, height: 2, layout: .grey), source: "grey.png")
        XCTAssertEqual(decoded, RGBImage(width: 3, height: 2, grey: grey))
    }

    func testAlphaIsCompositedOntoWhite() throws {
        // Opaque red, fully transparent black, half-transparent black.
        let rgba: [UInt8] = [255, 0, 0, 255, 0, 0, 0, 0, 0, 0, 0, 128]
        let decoded = try ImageDecoder.decode(try PNGCodec.encode(samples: rgba, width: 3, height: 1, layout: .rgba), source: "rgba.png")
        XCTAssertEqual(Array(decoded.pixels[0..<3]), [255, 0, 0])
        XCTAssertEqual(Array(decoded.pixels[3..<6]), [255, 255, 255])
        let half = Int(decoded.pixels[6])
        XCTAssertTrue((100...200).contains(half), "half-transparent black over white should be mid grey, got \(half)")
        XCTAssertEqual(decoded.pixels[6], decoded.pixels[7])
    }

    func testGreyAlphaIsCompositedOntoWhite() throws {
        let ga: [UInt8] = [0, 255, 0, 0]
        let decoded = try ImageDecoder.decode(try PNGCodec.encode(samples: ga, width: 2, height: 1, layout: .greyAlpha), source: "ga.png")
        XCTAssertEqual(decoded.pixels, [0, 0, 0, 255, 255, 255])
    }

    func testPalettePNGWithAndWithoutTransparency() throws {
        let palette: [UInt8] = [255, 0, 0, 255, 0, 0, 255, 255, 0, 0, 0, 0]
        let indices: [UInt8] = [0, 1, 2, 1]
        let opaque = try ImageDecoder.decode(try PNGCodec.encode(indices: indices, width: 2, height: 2, paletteRGBA: palette, alpha: false), source: "p.png")
        XCTAssertEqual(opaque.pixels, [255, 0, 0, 0, 0, 255, 0, 0, 0, 0, 0, 255])
        let transparent = try ImageDecoder.decode(try PNGCodec.encode(indices: indices, width: 2, height: 2, paletteRGBA: palette, alpha: true), source: "pa.png")
        XCTAssertEqual(transparent.pixels, [255, 0, 0, 0, 0, 255, 255, 255, 255, 0, 0, 255])
    }

    func testSixteenBitPNG() throws {
        let samples: [UInt16] = [0, 0, 0, 65535, 65535, 65535, 65535, 0, 0, 0, 16384, 65535]
        let decoded = try ImageDecoder.decode(try PNGCodec.encode(samples16: samples, width: 4, height: 1, layout: .rgb), source: "16.png")
        XCTAssertEqual(Array(decoded.pixels[0..<9]), [0, 0, 0, 255, 255, 255, 255, 0, 0])
        // Linear 0.25 is about 137 in sRGB: the file's gamma is honoured.
        XCTAssertTrue((120...150).contains(Int(decoded.pixels[10])), "got \(decoded.pixels[10])")
    }

    func testBaselineAndProgressiveAndGreyJPEG() throws {
        var image = RGBImage(width: 16, height: 16, fill: (200, 60, 30))
        for i in 0..<(8 * 16) { image.pixels[3 * i] = 20; image.pixels[3 * i + 1] = 90; image.pixels[3 * i + 2] = 220 }
        for progressive in [false, true] {
            let data = try JPEGCodec.encode(image, quality: 95, progressive: progressive)
            // SOF2 (FFC2) marks a progressive file, SOF0 (FFC0) a baseline one.
            let marker: [UInt8] = progressive ? [0xFF, 0xC2] : [0xFF, 0xC0]
            XCTAssertNotNil(data.firstRange(of: Data(marker)), "expected \(progressive ? "progressive" : "baseline") JPEG")
            let decoded = try ImageDecoder.decode(data, source: "x.jpg")
            XCTAssertEqual(decoded.width, 16)
            let errors = zip(decoded.pixels, image.pixels).map { abs(Int($0) - Int($1)) }
            // Chroma subsampling blurs colour across the edge; away from it the colours survive.
            XCTAssertLessThan(Double(errors.reduce(0, +)) / Double(errors.count), 8)
            XCTAssertLessThan(abs(Int(decoded.pixels[0]) - 20), 10)
        }
        let grey = try ImageDecoder.decode(try JPEGCodec.encode(image, grey: true), source: "g.jpg")
        XCTAssertEqual(grey.pixels[0], grey.pixels[1])
        XCTAssertEqual(grey.pixels[1], grey.pixels[2])
    }

    func testBadFilesAreErrorsNotCrashes() throws {
        let png = try PNGCodec.encode(gradient())
        let jpeg = try JPEGCodec.encode(RGBImage(width: 32, height: 32, fill: (10, 200, 10)), progressive: true)
        var corruptPNG = png
        corruptPNG[png.count / 2] ^= 0xFF
        corruptPNG[png.count / 2 + 1] ^= 0xFF
        let cases: [(String, Data)] = [
            ("empty", Data()),
            ("text", Data("filepath\ttitle\n".utf8)),
            ("truncated png", png.prefix(png.count / 2)),
            ("png signature only", Data(PNGCodec.signature)),
            ("corrupt png", corruptPNG),
            ("truncated jpeg", jpeg.prefix(jpeg.count / 2)),
            ("jpeg header only", jpeg.prefix(4)),
        ]
        for (name, data) in cases {
            XCTAssertThrowsError(try ImageDecoder.decode(data, source: name), name) { error in
                XCTAssertTrue("\(error)".contains(name), "error should name the file: \(error)")
            }
        }
        let missing = URL(fileURLWithPath: "/nonexistent/gaplab/missing.png")
        XCTAssertThrowsError(try ImageDecoder.decodeFile(missing)) { error in
            XCTAssertEqual(error as? DataError, .missing(missing.path, "no such file"))
        }
        let directory = FileManager.default.temporaryDirectory
        XCTAssertThrowsError(try ImageDecoder.decodeFile(directory))
    }

    func testGzipRoundTripAndTruncation() throws {
        let text = Data((0..<5000).map { "line \($0)\n" }.joined().utf8)
        let packed = Gzip.compress(text)
        XCTAssertLessThan(packed.count, text.count)
        XCTAssertEqual(try Gzip.decompress(packed, source: "x.gz"), text)
        XCTAssertThrowsError(try Gzip.decompress(packed.prefix(packed.count / 2), source: "half.gz")) { error in
            XCTAssertTrue("\(error)".contains("half.gz"))
        }
        XCTAssertThrowsError(try Gzip.decompress(Data("plain text".utf8), source: "plain.gz"))
    }

    func testResizeAveragesWhenShrinking() {
        // A one-pixel checkerboard shrunk by 4 must become flat grey, not aliased stripes.
        var image = RGBImage(width: 16, height: 16)
        for y in 0..<16 { for x in 0..<16 where (x + y) % 2 == 0 { for c in 0..<3 { image.pixels[(y * 16 + x) * 3 + c] = 0 } } }
        let small = ImageFitting.fit(image, size: 4)
        for v in small.pixels { XCTAssertTrue((120...135).contains(Int(v)), "got \(v)") }
    }

    func testCentreCropAndLetterbox() {
        // Wide image: left third red, middle green, right third blue.
        var image = RGBImage(width: 30, height: 10)
        for y in 0..<10 { for x in 0..<30 {
            let c = x / 10
            image.pixels[(y * 30 + x) * 3 ..< (y * 30 + x) * 3 + 3] = ArraySlice(c == 0 ? [255, 0, 0] : c == 1 ? [0, 255, 0] : [0, 0, 255])
        } }
        let cropped = ImageFitting.fit(image, size: 5, mode: .centreCrop)
        XCTAssertEqual(Array(cropped.pixels[(2 * 5 + 2) * 3 ..< (2 * 5 + 2) * 3 + 3]), [0, 255, 0])
        XCTAssertEqual(cropped.pixels[0], 0, "the red third is cut away")
        let boxed = ImageFitting.fit(image, size: 9, mode: .letterbox)
        XCTAssertEqual(Array(boxed.pixels[0..<3]), [255, 255, 255], "padding is white")
        XCTAssertEqual(boxed.pixels[(4 * 9) * 3], 255, "left edge of the letterboxed band is red")
        XCTAssertEqual(boxed.pixels[(4 * 9) * 3 + 1], 0)
    }
}
