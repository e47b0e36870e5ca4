/// Reads one list's text: hosts lines, one domain per line, adblock `||x^` and `@@||x^`, `*.x`, wildcards
/// (`||log*-normal-*.tiktokv.com^`) and regular expressions (`/^rtlog\d+-.*\.tiktokv\.com$/`).
/// Works on bytes, because a million-line list must load in about a second. A line it cannot use becomes
/// a `ListProblem` with its line number; it never stops the load.
public struct ListParser {
    public struct Outcome: Sendable {
        /// `# Key: value` lines from the top of the file, keys lower-cased.
        public var header: [String: String] = [:]
        public var blockRules = 0
        public var allowRules = 0
        /// Of the rules above, how many are wildcards or regular expressions.
        public var patterns = 0
        public var problems: [ListProblem] = []
        /// Problems past the ones kept.
        public var moreProblems = 0
    }

    public static let keptProblems = 50

    /// Adds the rules of `text` to `rules`. In an allowlist (`purpose == .allow`) every rule allows.
    public static func parse(
        _ text: [UInt8], source: String, listIndex: Int, purpose: ListInfo.Purpose, into rules: inout RuleSets
    ) -> Outcome {
        var outcome = Outcome()
        var inHeader = true
        var domain: [UInt8] = []
        domain.reserveCapacity(256)
        text.withUnsafeBufferPointer { bytes in
            var lineStart = 0
            var lineNumber = 0
            while lineStart < bytes.count {
                var lineEnd = lineStart
                while lineEnd < bytes.count, bytes[lineEnd] != 10 { lineEnd += 1 }
                lineNumber += 1
                let line = UnsafeBufferPointer(rebasing: bytes[lineStart..<lineEnd])
                lineStart = lineEnd + 1

                var start = 0
                var end = line.count
                while start < end, isSpace(line[start]) { start += 1 }
                while end > start, isSpace(line[end - 1]) { end -= 1 }
                if start == end { continue }
                let first = line[start]
                if first == UInt8(ascii: "#") || first == UInt8(ascii: "!") || first == UInt8(ascii: "[") {
                    if inHeader, first == UInt8(ascii: "#") || first == UInt8(ascii: "!") {
                        readHeaderLine(line, start + 1, end, into: &outcome.header)
                    }
                    continue
                }
                inHeader = false
                // Inline comment: a '#' after white space ends the rule.
                var cut = start
                while cut < end, !(line[cut] == UInt8(ascii: "#") && cut > start && isSpace(line[cut - 1])) { cut += 1 }
                end = cut
                while end > start, isSpace(line[end - 1]) { end -= 1 }

                let result = parseRule(line, start, end, domain: &domain)
                switch result {
                case .rule(let allows, let syntax):
                    if allows || purpose == .allow {
                        rules.allow.insert(domain, listIndex: listIndex, syntax: syntax)
                        outcome.allowRules += 1
                    } else {
                        rules.block.insert(domain, listIndex: listIndex, syntax: syntax)
                        outcome.blockRules += 1
                    }
                case .pattern(let allows, let pattern):
                    if allows || purpose == .allow {
                        rules.allowPatterns.insert(pattern, listIndex: listIndex)
                        outcome.allowRules += 1
                    } else {
                        rules.blockPatterns.insert(pattern, listIndex: listIndex)
                        outcome.blockRules += 1
                    }
                    outcome.patterns += 1
                case .hosts(let names):
                    forEachHostName(line, names, domain: &domain) { name in
                        if purpose == .allow {
                            rules.allow.insert(name, listIndex: listIndex, syntax: .plain)
                            outcome.allowRules += 1
                        } else {
                            rules.block.insert(name, listIndex: listIndex, syntax: .plain)
                            outcome.blockRules += 1
                        }
                    }
                case .skip:
                    break
                case .problem(let message):
                    if outcome.problems.count < keptProblems {
                        let shown = String(decoding: line[start..<min(end, start + 80)], as: UTF8.self)
                        outcome.problems.append(ListProblem(source: source, line: lineNumber, message: "\(message): \(shown)"))
                    } else {
                        outcome.moreProblems += 1
                    }
                }
            }
        }
        return outcome
    }

    enum LineResult {
        case rule(allows: Bool, syntax: RuleSyntax)   // the name is in `domain`
        case pattern(allows: Bool, NamePattern)
        case hosts(Range<Int>)                         // the names after the address, checked
        case skip
        case problem(String)
    }

    static func parseRule(_ line: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, domain: inout [UInt8]) -> LineResult {
        let length = end - start
        func hasPrefix(_ prefix: StaticString) -> Bool {
            let count = prefix.utf8CodeUnitCount
            guard length >= count else { return false }
            let p = prefix.utf8Start
            for i in 0..<count where line[start + i] != p[i] { return false }
            return true
        }
        func pattern(_ from: Int, _ to: Int, allows: Bool) -> LineResult {
            do {
                return .pattern(allows: allows, try NamePattern(rule: String(decoding: line[from..<to], as: UTF8.self)))
            } catch {
                return .problem(error.message)
            }
        }
        func hasStar(_ from: Int, _ to: Int) -> Bool { (from..<to).contains { line[$0] == UInt8(ascii: "*") } }
        if hasPrefix("@@/") || hasPrefix("/") {
            let allows = line[start] == UInt8(ascii: "@")
            guard length > (allows ? 4 : 2), line[end - 1] == UInt8(ascii: "/") else { return .problem("a regular expression is /…/") }
            return pattern(start + (allows ? 2 : 0), end, allows: allows)
        }
        if hasPrefix("@@||") || hasPrefix("||") {
            let allows = line[start] == UInt8(ascii: "@")
            var bodyEnd = end
            // Accept `$important`, the one modifier that means nothing more for DNS.
            if let dollar = (start..<end).first(where: { line[$0] == UInt8(ascii: "$") }) {
                let modifier = String(decoding: line[(dollar + 1)..<end], as: UTF8.self)
                guard modifier == "important" else { return .problem("unsupported modifier $\(modifier)") }
                bodyEnd = dollar
            }
            if bodyEnd > start, line[bodyEnd - 1] == UInt8(ascii: "|") { bodyEnd -= 1 }
            guard bodyEnd > start, line[bodyEnd - 1] == UInt8(ascii: "^") else {
                return .problem("adblock rule must end in ^")
            }
            let bodyStart = start + (allows ? 4 : 2)
            if hasStar(bodyStart, bodyEnd - 1) {
                // `||*.x^` is a names-below rule; any other star makes a wildcard.
                if bodyEnd - 1 - bodyStart > 2, line[bodyStart] == UInt8(ascii: "*"), line[bodyStart + 1] == UInt8(ascii: "."),
                   !hasStar(bodyStart + 1, bodyEnd - 1) {
                    if let error = normalise(line, bodyStart + 2, bodyEnd - 1, into: &domain) { return .problem(error) }
                    return .rule(allows: allows, syntax: .namesBelow)
                }
                return pattern(start + (allows ? 2 : 0), bodyEnd, allows: allows)
            }
            if let error = normalise(line, bodyStart, bodyEnd - 1, into: &domain) { return .problem(error) }
            return .rule(allows: allows, syntax: .adblock)
        }
        if hasStar(start, end), !(hasPrefix("*.") && !hasStar(start + 1, end)) {
            guard !(start..<end).contains(where: { isSpace(line[$0]) }) else { return .problem("a wildcard rule is one word") }
            return pattern(start, end, allows: false)
        }
        if hasPrefix("*.") {
            if let error = normalise(line, start + 2, end, into: &domain) { return .problem(error) }
            return .rule(allows: false, syntax: .namesBelow)
        }
        // Split on white space: one token is a domain; an address first makes it a hosts line.
        var firstEnd = start
        while firstEnd < end, !isSpace(line[firstEnd]) { firstEnd += 1 }
        if firstEnd == end {
            if let error = normalise(line, start, end, into: &domain) { return .problem(error) }
            return .rule(allows: false, syntax: .plain)
        }
        guard looksLikeAddress(line, start..<firstEnd) else { return .problem("neither a hosts line nor a single domain") }
        // Every name is checked before any is used, so a bad one makes the whole line a problem.
        var names = 0
        var i = firstEnd
        while i < end {
            while i < end, isSpace(line[i]) { i += 1 }
            let tokenStart = i
            while i < end, !isSpace(line[i]) { i += 1 }
            guard tokenStart < i, !looksLikeAddress(line, tokenStart..<i) else { continue }   // "0.0.0.0 0.0.0.0"
            if let error = normalise(line, tokenStart, i, into: &domain) { return .problem(error) }
            if !hostsFileBoilerplate.contains(domain) { names += 1 }
        }
        return names == 0 ? .skip : .hosts(firstEnd..<end)
    }

    /// The names of a hosts line `parseRule` has checked, one at a time in `domain`.
    static func forEachHostName(
        _ line: UnsafeBufferPointer<UInt8>, _ range: Range<Int>, domain: inout [UInt8], _ body: ([UInt8]) -> Void
    ) {
        var i = range.lowerBound
        while i < range.upperBound {
            while i < range.upperBound, isSpace(line[i]) { i += 1 }
            let tokenStart = i
            while i < range.upperBound, !isSpace(line[i]) { i += 1 }
            guard tokenStart < i, !looksLikeAddress(line, tokenStart..<i) else { continue }
            _ = normalise(line, tokenStart, i, into: &domain)
            if !hostsFileBoilerplate.contains(domain) { body(domain) }
        }
    }

    /// Lower-cases, drops a trailing dot, encodes Unicode labels as punycode, and checks the result is a
    /// host name. Returns an error message, or nil with the name in `out`.
    static func normalise(_ line: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, into out: inout [UInt8]) -> String? {
        out.removeAll(keepingCapacity: true)
        var end = end
        if end > start, line[end - 1] == UInt8(ascii: ".") { end -= 1 }
        guard end > start else { return "empty name" }
        var ascii = true
        for i in start..<end {
            let byte = line[i]
            if byte >= 0x80 { ascii = false; break }
            out.append(byte >= 65 && byte <= 90 ? byte | 0x20 : byte)
        }
        if !ascii {
            let text = String(decoding: line[start..<end], as: UTF8.self)
            var encoded: [String] = []
            for label in text.split(separator: ".", omittingEmptySubsequences: false) {
                guard let label = Punycode.encodeLabel(String(label)) else { return "cannot encode \(text)" }
                encoded.append(label)
            }
            out = Array(encoded.joined(separator: ".").utf8)
        }
        return validateHostName(out)
    }

    static func validateHostName(_ name: [UInt8]) -> String? {
        guard name.count <= 253 else { return "name longer than 253 bytes" }
        var labelLength = 0
        var allDigitsOrDots = true
        for byte in name {
            if byte == UInt8(ascii: ".") {
                guard labelLength > 0 else { return "empty label" }
                labelLength = 0
                continue
            }
            labelLength += 1
            guard labelLength <= 63 else { return "label longer than 63 bytes" }
            let valid = (byte >= 97 && byte <= 122) || (byte >= 48 && byte <= 57) || byte == 45 || byte == 95
            guard valid else { return "character '\(String(decoding: [byte], as: UTF8.self))' is not allowed in a name" }
            if !(byte >= 48 && byte <= 57) { allDigitsOrDots = false }
        }
        guard labelLength > 0 else { return "empty label" }
        if allDigitsOrDots { return "an address, not a name" }
        return nil
    }

    static func looksLikeAddress(_ line: UnsafeBufferPointer<UInt8>, _ token: Range<Int>) -> Bool {
        var sawColon = false
        var sawDot = false
        for i in token {
            let byte = line[i]
            if byte == UInt8(ascii: ":") { sawColon = true; continue }
            if byte == UInt8(ascii: ".") { sawDot = true; continue }
            let hex = (byte >= 48 && byte <= 57) || (byte >= 97 && byte <= 102) || (byte >= 65 && byte <= 70)
            if !hex { return false }
            if !(byte >= 48 && byte <= 57), !sawColon { return false }
        }
        return sawColon || sawDot
    }

    static func readHeaderLine(_ line: UnsafeBufferPointer<UInt8>, _ start: Int, _ end: Int, into header: inout [String: String]) {
        let text = String(decoding: line[start..<end], as: UTF8.self)
        guard let colon = text.firstIndex(of: ":") else { return }
        let key = text[..<colon].trimmingCharacters(in: " \t").lowercased()
        let value = text[text.index(after: colon)...].trimmingCharacters(in: " \t")
        guard !key.isEmpty, key.count <= 20, !key.contains(" ") || key == "last modified", !value.isEmpty else { return }
        if header[key] == nil { header[key] = value }
    }

    /// Names every hosts file carries for the machine itself.
    static let hostsFileBoilerplate: Set<[UInt8]> = Set([
        "localhost", "localhost.localdomain", "local", "broadcasthost", "ip6-localhost", "ip6-loopback",
        "ip6-localnet", "ip6-mcastprefix", "ip6-allnodes", "ip6-allrouters", "ip6-allhosts",
    ].map { Array($0.utf8) })
}

@inline(__always)
func isSpace(_ byte: UInt8) -> Bool { byte == 32 || byte == 9 || byte == 13 }

extension StringProtocol {
    func trimmingCharacters(in set: String) -> String {
        let characters = Set(set)
        var slice = Substring(self)
        while let first = slice.first, characters.contains(first) { slice.removeFirst() }
        while let last = slice.last, characters.contains(last) { slice.removeLast() }
        return String(slice)
    }
}
