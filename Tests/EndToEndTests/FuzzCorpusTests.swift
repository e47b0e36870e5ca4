import Foundation
import FuzzTargets
import Testing
import TestSupport

/// Every seed and every crasher the fuzzers ever found, replayed through the same targets (fuzz/run).
@Suite struct FuzzCorpusTests {
    @Test(arguments: ["query", "list", "config"])
    func corpusReplaysCleanly(target: String) throws {
        let root = Repository.root.appendingPathComponent("Tests/FuzzCorpus")
        var replayed = 0
        for folder in [target, "crashers-\(target)"] {
            let directory = root.appendingPathComponent(folder)
            let files = (try? FileManager.default.contentsOfDirectory(atPath: directory.path)) ?? []
            for file in files.sorted() where !file.hasPrefix(".") {
                let data = try Data(contentsOf: directory.appendingPathComponent(file))
                data.withUnsafeBytes { FuzzTargets.run(target, $0) }
                replayed += 1
            }
        }
        #expect(replayed >= 2)
    }
}
