import CPNG
import XCTest
@testable import GapEval

/// Reads our PNGs back with libpng, an independent decoder, so a mistake shared by our writer and reader
/// (filters, chunk layout, CRCs) cannot go unnoticed.
final class LibpngCrossCheckTests: XCTestCase {
    func testLibpngDecodesWhatWeWrite() throws {
        var scene = Scene(width: 64, height: 48, title: "libpng")
        scene.add(.rectangle(origin: ScenePoint(0, 0), width: 64, height: 48, fill: RGBColor(10, 200, 30), stroke: nil, strokeWidth: 0), role: .background)
        scene.add(.line(from: ScenePoint(2, 2), to: ScenePoint(60, 40), color: RGBColor(200, 0, 120), width: 3, opacity: 0.5), role: .data)
        scene.add(.circle(center: ScenePoint(40, 12), radius: 6, fill: RGBColor(0, 0, 255), opacity: 0.8), role: .data)
        scene.add(.text("Gap 0.5", at: ScenePoint(4, 44), scale: 1, color: .black, anchor: .start, rotated: false), role: .title)
        let image = scene.rasterise()
        let png = [UInt8](try PNGCodec.encode(image))

        var control = png_image()
        control.version = UInt32(PNG_IMAGE_VERSION)
        let began = png.withUnsafeBytes { png_image_begin_read_from_memory(&control, $0.baseAddress, $0.count) }
        XCTAssertNotEqual(began, 0, "libpng rejected the header")
        XCTAssertEqual(Int(control.width), 64)
        XCTAssertEqual(Int(control.height), 48)
        control.format = UInt32(PNG_FORMAT_RGB)
        var decoded = [UInt8](repeating: 0, count: 64 * 48 * 3)
        let finished = decoded.withUnsafeMutableBytes { png_image_finish_read(&control, nil, $0.baseAddress, 0, nil) }
        XCTAssertNotEqual(finished, 0, "libpng could not decode the image data")
        XCTAssertEqual(decoded, image.pixels)
    }
}
