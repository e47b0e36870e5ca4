// libFuzzer entry point. Built by fuzz/run with -DHUSH_FUZZ and --sanitize=fuzzer,address; in an ordinary
// build it is a small tool that replays files through a target (HUSH_FUZZ_TARGET=query|list|config).
import Foundation
import FuzzTargets

let target = ProcessInfo.processInfo.environment["HUSH_FUZZ_TARGET"] ?? "query"

#if HUSH_FUZZ
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOne(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    FuzzTargets.run(target, UnsafeRawBufferPointer(start: data, count: size))
    return 0
}
#else
@main
struct Replay {
    static func main() {
        for path in CommandLine.arguments.dropFirst() {
            guard let data = FileManager.default.contents(atPath: path) else { continue }
            data.withUnsafeBytes { FuzzTargets.run(target, $0) }
        }
    }
}
#endif
