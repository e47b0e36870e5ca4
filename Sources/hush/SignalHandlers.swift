import Foundation
import HushApp
import Logging

/// SIGTERM and SIGINT stop cleanly; SIGHUP reloads the lists.
/// The handler only writes the signal's number to a pipe (async-signal-safe); one thread reads the pipe and
/// acts. This works whichever thread the kernel picks and whatever masks Dispatch's threads carry.
enum SignalHandlers {
    nonisolated(unsafe) static var pipeWrite: Int32 = -1

    static func install(service: HushService, stateDirectory: String, logger: Logger) {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else {
            logger.error("cannot create the signal pipe: signals will stop Hush without flushing")
            return
        }
        pipeWrite = fds[1]
        let pipeRead = fds[0]
        for signalNumber in [SIGTERM, SIGINT, SIGHUP] {
            signal(signalNumber) { received in
                var byte = UInt8(truncatingIfNeeded: received)
                _ = write(SignalHandlers.pipeWrite, &byte, 1)
            }
        }
        Thread.detachNewThread {
            while true {
                var byte: UInt8 = 0
                let n = read(pipeRead, &byte, 1)
                if n < 0, errno == EINTR { continue }
                guard n == 1 else { return }
                if Int32(byte) == SIGHUP {
                    logger.info("SIGHUP: reloading lists, device names and the config's list settings")
                    service.reload()
                } else {
                    logger.info("stopping on signal \(byte)")
                    service.stop()
                    RunningServer.forget(stateDirectory: stateDirectory)
                    exit(0)
                }
            }
        }
    }
}
