import Foundation

/// Reads `handle` to its end and hands each line to `body` without its newline; the last piece, when the stream
/// does not end with a newline, comes with `ended` false.
public func readLines(from handle: FileHandle, _ body: (_ line: String, _ ended: Bool) -> Void) {
    var pending = Data()
    while true {
        let chunk = handle.availableData
        if chunk.isEmpty { break }
        pending.append(chunk)
        while let newline = pending.firstIndex(of: 0x0A) {
            body(String(decoding: pending[pending.startIndex..<newline], as: UTF8.self), true)
            pending.removeSubrange(pending.startIndex...newline)
        }
    }
    if !pending.isEmpty { body(String(decoding: pending, as: UTF8.self), false) }
}
