import ArgumentParser
import Blocklist
import Foundation
import HushApp

extension Hush {
    struct Check: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Say whether names are blocked, by which list and rule, or allowed and why.")

        @OptionGroup var options: ConfigOptions

        @Option(name: .long, help: "Read names from this file, one per line; - for standard input.")
        var file: String?

        @Flag(name: .long, help: "Print one JSON object per name.")
        var json = false

        @Argument(help: "Names to check.")
        var names: [String] = []

        func run() throws {
            let config = try options.load()
            var names = names
            if let file {
                let text = file == "-" ? (readLines()) : try String(contentsOfFile: file, encoding: .utf8)
                names += text.split(whereSeparator: \.isNewline).map { $0.trimmingCharacters(in: .whitespaces) }
                    .filter { !$0.isEmpty && !$0.hasPrefix("#") }
            }
            guard !names.isEmpty else { throw ValidationError("give names to check, or --file") }
            if let problem = BundledLists.problem(for: config) { FileHandle.standardError.write(Data("hush: \(problem)\n".utf8)) }
            let (lists, report) = ListLoader.load(BundledLists.sources(for: config))
            for path in report.unreadable {
                FileHandle.standardError.write(Data("hush: cannot read \(path)\n".utf8))
            }
            for name in names {
                let normalised = name.lowercased().hasSuffix(".") ? String(name.lowercased().dropLast()) : name.lowercased()
                print(Self.describe(normalised, lists.explain(normalised), json: json))
            }
        }

        private func readLines() -> String {
            var lines: [String] = []
            while let line = readLine() { lines.append(line) }
            return lines.joined(separator: "\n")
        }

        static func describe(_ name: String, _ verdict: Verdict, json: Bool) -> String {
            let blocked: Bool
            let match: ListMatch?
            let note: String
            switch verdict {
            case .blocked(let hit):
                (blocked, match) = (true, hit)
                note = "blocked by \(hit.summary)"
            case .allowed(let allow, let overriding):
                (blocked, match) = (false, allow)
                note = "allowed by \(allow.summary)" + (overriding.map { ", over \($0.summary)" } ?? "")
            case .unlisted:
                (blocked, match) = (false, nil)
                note = "not listed: forwarded"
            }
            guard json else {
                let vendor = match.flatMap { $0.list.vendor.isEmpty ? nil : "\($0.list.vendor), \($0.list.category)" }
                return "\(name): \(note)" + (vendor.map { " [\($0)]" } ?? "")
            }
            var object: [String: Any] = ["name": name, "blocked": blocked, "verdict": blocked ? "blocked" : (match == nil ? "unlisted" : "allowed")]
            object["list"] = match?.list.label ?? NSNull()
            object["rule"] = match?.rule ?? NSNull()
            object["vendor"] = match.map { $0.list.vendor } ?? NSNull()
            object["category"] = match.map { $0.list.category } ?? NSNull()
            object["source"] = match?.list.source ?? NSNull()
            let data = try! JSONSerialization.data(withJSONObject: object, options: [.sortedKeys])
            return String(decoding: data, as: UTF8.self)
        }
    }
}
