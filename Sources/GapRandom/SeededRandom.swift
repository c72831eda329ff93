import Foundation

/// GapLab's one seeded generator: SeededRandom (Steele, Lea & Flood), with its own bounded integers, Fisher–Yates
/// shuffle and normal draws. The system generator and the standard library's shuffles are never used for results:
/// their algorithms are not promised to stay the same across releases, and a run's numbers must not change with
/// the compiler.
public struct SeededRandom: RandomNumberGenerator, Sendable {
    public private(set) var state: UInt64

    /// Starts from `seed` as the raw state.
    public init(seed: UInt64) { state = seed }

    public init(seed: Int) { state = UInt64(bitPattern: Int64(seed)) }

    /// A generator for a named sub-stream, so that adding draws in one place does not shift another
    /// (the stream's name is hashed with FNV-1a).
    public init(seed: UInt64, stream: String) {
        var h: UInt64 = 0xCBF2_9CE4_8422_2325
        for byte in stream.utf8 { h = (h ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        state = (seed ^ h) &+ SeededRandom.increment
    }

    /// A generator for item `index` of stream `stream` under `seed`: items can be produced in any order or in
    /// parallel and still come out identical.
    public init(seed: Int, stream: UInt64, index: Int) {
        var mixer = SeededRandom(seed: UInt64(bitPattern: Int64(seed)) &+ stream &* 0xD1B5_4A32_D192_ED03)
        let base = mixer.next()
        self.init(seed: base ^ (UInt64(bitPattern: Int64(index)) &* 0x9E37_79B9_7F4A_7C15))
        _ = next()
    }

    static let increment: UInt64 = 0x9E37_79B9_7F4A_7C15

    public mutating func next() -> UInt64 {
        state &+= SeededRandom.increment
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// Uniform in [0, 1) with 53 random bits.
    public mutating func nextDouble() -> Double {
        Double(next() >> 11) * 0x1.0p-53
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

    /// Standard normal by Box–Muller (one value per call keeps the stream position simple to reason about).
    public mutating func gaussian() -> Double {
        var u1 = nextDouble()
        while u1 <= 0 { u1 = nextDouble() }
        let u2 = nextDouble()
        return (-2 * Foundation.log(u1)).squareRoot() * Foundation.cos(2 * Double.pi * u2)
    }

    public mutating func pick<T>(_ items: [T]) -> T { items[nextInt(below: items.count)] }

    /// Fisher–Yates from the last element down, each swap partner drawn by `nextInt(below:)`.
    public mutating func shuffle<T>(_ items: inout [T]) {
        guard items.count > 1 else { return }
        for i in stride(from: items.count - 1, to: 0, by: -1) {
            let j = nextInt(below: i + 1)
            if i != j { items.swapAt(i, j) }
        }
    }

    /// A Fisher–Yates permutation of 0..<count.
    public mutating func permutation(_ count: Int) -> [Int] {
        var items = Array(0..<count)
        shuffle(&items)
        return items
    }
}
