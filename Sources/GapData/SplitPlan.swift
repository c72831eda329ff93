import GapRandom

/// Seeded train/val/test partition of n items: a permutation by `seed`, test first, then val, then train.
/// When the requested sizes exceed what exists, test and val are capped (at a fifth and a tenth) so training keeps
/// most of the data, and the caps are reported.
public struct SplitPlan: Equatable, Sendable {
    public var train: [Int]
    public var val: [Int]
    public var test: [Int]
    public var notes: [String]

    public static func make(count n: Int, trainSize: Int, valSize: Int, testSize: Int, seed: Int, stream: UInt64 = 7) -> SplitPlan {
        var rng = SeededRandom(seed: seed, stream: stream, index: n)
        let order = rng.permutation(n)
        var notes: [String] = []
        var testCount = max(0, testSize), valCount = max(0, valSize)
        if testCount + valCount > n / 2 {
            let cappedTest = min(testCount, n / 5), cappedVal = min(valCount, n / 10)
            if cappedTest != testCount || cappedVal != valCount {
                notes.append("source has \(n) items: test \(testCount)→\(cappedTest), val \(valCount)→\(cappedVal)")
            }
            testCount = cappedTest
            valCount = cappedVal
        }
        let rest = n - testCount - valCount
        let trainCount = trainSize <= 0 ? rest : min(trainSize, rest)
        if trainSize > rest { notes.append("source has \(rest) items left for training, fewer than train_size \(trainSize)") }
        return SplitPlan(train: Array(order[(testCount + valCount)..<(testCount + valCount + trainCount)]),
                         val: Array(order[testCount..<(testCount + valCount)]),
                         test: Array(order[0..<testCount]), notes: notes)
    }
}
