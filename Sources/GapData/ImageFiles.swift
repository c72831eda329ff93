import Foundation

/// Decodes image files in parallel into one stored-resolution pixel buffer. A file that is missing, unreadable,
/// truncated or not an image is reported by index; it never stops the batch (strictness is the caller's call).
enum ImageFiles {
    struct Result {
        /// Pixels of the decoded files only, in input order.
        var pixels: [UInt8]
        /// Input indices that decoded.
        var decoded: [Int]
        /// (input index, reason) of the others.
        var failures: [(Int, String)]
    }

    static func load(_ urls: [URL], size: Int, fit: FitMode) -> Result {
        let bytes = size * size * 3
        var buffer = [UInt8](repeating: 0, count: urls.count * bytes)
        var errors = [String?](repeating: nil, count: urls.count)
        let chunk = 32
        let chunks = (urls.count + chunk - 1) / chunk
        buffer.withUnsafeMutableBufferPointer { out in
            errors.withUnsafeMutableBufferPointer { errorOut in
                DispatchQueue.concurrentPerform(iterations: chunks) { c in
                    for i in (c * chunk)..<min(urls.count, (c + 1) * chunk) {
                        do {
                            let image = ImageFitting.fit(try ImageDecoder.decodeFile(urls[i]), size: size, mode: fit)
                            image.pixels.withUnsafeBufferPointer { src in
                                (out.baseAddress! + i * bytes).update(from: src.baseAddress!, count: bytes)
                            }
                        } catch let error as DataError {
                            errorOut[i] = error.description
                        } catch {
                            errorOut[i] = "\(urls[i].path): \(error)"
                        }
                    }
                }
            }
        }
        var pixels: [UInt8] = []
        pixels.reserveCapacity(buffer.count)
        var decoded: [Int] = [], failures: [(Int, String)] = []
        for i in urls.indices {
            if let e = errors[i] { failures.append((i, e)) } else {
                decoded.append(i)
                pixels.append(contentsOf: buffer[(i * bytes)..<((i + 1) * bytes)])
            }
        }
        return Result(pixels: pixels, decoded: decoded, failures: failures)
    }
}
