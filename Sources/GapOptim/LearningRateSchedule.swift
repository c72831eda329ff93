import Foundation
import GapSpec

/// open_clip's learning-rate schedules, indexed by the optimiser step about to run (0-based, as open_clip's
/// `step = num_batches_per_epoch * epoch + i`).
public struct LearningRateSchedule: Equatable, Sendable {
    public var kind: LRScheduler
    public var baseLR: Double
    public var warmup: Int
    public var totalSteps: Int

    public init(kind: LRScheduler, baseLR: Double, warmup: Int, totalSteps: Int) throws {
        guard warmup >= 0 else { throw ScheduleError(description: "warmup: \(warmup), expected ≥ 0") }
        self.kind = kind
        self.baseLR = baseLR
        self.warmup = warmup
        self.totalSteps = totalSteps
    }

    public func lr(at step: Int) -> Double {
        if step < warmup {
            return baseLR * Double(step + 1) / Double(warmup)
        }
        switch kind {
        case .const:
            return baseLR
        case .cosine:
            let elapsed = Double(step - warmup)
            let span = Double(totalSteps - warmup)
            // open_clip divides by zero here when warm-up fills the run; no step reaches it inside the run,
            // and past the end the rate is taken as spent.
            guard span > 0 else { return 0 }
            return 0.5 * (1 + cos(Double.pi * elapsed / span)) * baseLR
        }
    }
}

public struct ScheduleError: Error, CustomStringConvertible, Equatable {
    public var description: String
}
