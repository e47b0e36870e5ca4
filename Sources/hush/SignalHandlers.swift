import Dispatch
import Foundation
import HushApp
import Logging

/// SIGTERM and SIGINT stop cleanly; SIGHUP reloads the lists.
enum SignalHandlers {
    nonisolated(unsafe) static var sources: [DispatchSourceSignal] = []

    static func install(service: HushService, logger: Logger) {
        for signalNumber in [SIGTERM, SIGINT, SIGHUP] {
            signal(signalNumber, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: signalNumber, queue: .main)
            source.setEventHandler { @Sendable in
                if signalNumber == SIGHUP {
                    logger.info("SIGHUP: reloading lists")
                    DispatchQueue.global().async { service.loadLists() }
                } else {
                    logger.info("stopping")
                    service.stop()
                    exit(0)
                }
            }
            source.resume()
            sources.append(source)
        }
    }
}
