/// An 8-bit RGB image, rows top to bottom, pixels interleaved (HWC), the layout every decoder here produces.
public struct RGBImage: Equatable, Sendable {
    public var width: Int
    public var height: Int
    public var pixels: [UInt8]

    public init(width: Int, height: Int, pixels: [UInt8]) {
        precondition(pixels.count == width * height * 3, "RGB image needs width*height*3 bytes")
        self.width = width
        self.height = height
        self.pixels = pixels
    }

    public init(width: Int, height: Int, fill: (UInt8, UInt8, UInt8) = (255, 255, 255)) {
        self.width = width
        self.height = height
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<(width * height) {
            pixels[3 * i] = fill.0
            pixels[3 * i + 1] = fill.1
            pixels[3 * i + 2] = fill.2
        }
        self.pixels = pixels
    }

    /// Grey bytes expanded to RGB.
    public init(width: Int, height: Int, grey: [UInt8]) {
        precondition(grey.count == width * height, "grey image needs width*height bytes")
        var pixels = [UInt8](repeating: 0, count: width * height * 3)
        for i in 0..<grey.count {
            pixels[3 * i] = grey[i]
            pixels[3 * i + 1] = grey[i]
            pixels[3 * i + 2] = grey[i]
        }
        self.init(width: width, height: height, pixels: pixels)
    }
}
