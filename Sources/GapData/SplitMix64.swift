import Foundation
import GapEngine

/// A small seeded generator (Steele, Lea & Flood's SplitMix64). GapData never uses the system generator, so
/// every generated image, split and augmentation is a pure function of its seed on every platform.
public struct SplitMix64: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64

    public init(seed: UInt64) { state = seed }

    public init(seed: Int) { state = UInt64(bitPattern: Int64(seed)) }

    /// A generator for item `index` of stream `stream` under `seed`: items can be produced in any order or in
    /// parallel and still come out identical.
    public init(seed: Int, stream: UInt64, index: Int) {
        var mixer = SplitMix64(seed: UInt64(bitPattern: Int64(seed)) &+ stream &* 0xD1B5_4A32_D192_ED03)
        let base = mixer.next()
        self.init(seed: base ^ (UInt64(bitPattern: Int64(index)) &* 0x9E37_79B9_7F4A_7C15))
        _ = next()
    }

    public mutating func next() -> UInt64 { splitMix64Next(&state) }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func nextDouble() -> Double {
        Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
    }

    /// Uniform in [low, high).
    public mutating func uniform(_ low: Double, _ high: Double) -> Double {
        low + (high - low) * nextDouble()
    }

    /// Uniform integer in 0..<bound (Lemire's multiply-shift with rejection, so no modulo bias).
    public mutating func nextInt(below bound: Int) -> Int {
        precondition(bound > 0, "bound must be positive")
        let b = UInt64(bound)
        var product = next().multipliedFullWidth(by: b)
        if product.low < b {
            let threshold = (0 &- b) % b
            while product.low < threshold { product = next().multipliedFullWidth(by: b) }
        }
        return Int(product.high)
    }

    public mutating func chance(_ probability: Double) -> Bool { nextDouble() < probability }

    /// Standard normal (Box–Muller; one value per call keeps the stream simple to reason about).
    public mutating func gaussian() -> Double {
        let u1 = max(nextDouble(), 1e-300)
        let u2 = nextDouble()
        return (-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2)
    }

    public mutating func pick<T>(_ items: [T]) -> T { items[nextInt(below: items.count)] }

    /// Fisher–Yates with this generator (the standard library's shuffle takes a generator too, but its
    /// algorithm is not promised to stay the same across releases).
    public mutating func shuffle<T>(_ items: inout [T]) {
        guard items.count > 1 else { return }
        for i in stride(from: items.count - 1, to: 0, by: -1) {
            let j = nextInt(below: i + 1)
            if i != j { items.swapAt(i, j) }
        }
    }

    public mutating func permutation(_ count: Int) -> [Int] {
        var items = Array(0..<count)
        shuffle(&items)
        return items
    }
}

