import Dispatch
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Catches termination signals (SIGINT, SIGTERM) for the lifetime of a sweep and reports them on a queue
/// instead of letting them end the process; `cancel()` restores the default behaviour.
final class SignalTrap {
    private var sources: [DispatchSourceSignal] = []
    private let signals: [Int32]

    init(signals: [Int32] = [SIGINT, SIGTERM], handler: @escaping (Int32) -> Void) {
        self.signals = signals
        let queue = DispatchQueue(label: "gaplab-signals")
        for signalNumber in signals {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: queue)
            source.setEventHandler { handler(signalNumber) }
            source.resume()
            sources.append(source)
        }
    }

    func cancel() {
        for source in sources { source.cancel() }
        sources.removeAll()
        for signalNumber in signals { signal(signalNumber, SIG_DFL) }
    }
}
