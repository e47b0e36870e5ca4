import Glibc

/// A rule for a family of names that cannot be listed one by one: a wildcard (`log*-normal-*.tiktokv.com`,
/// `||*.mistat.*.xiaomi.com^`) or a regular expression (`/^rtlog[0-9]+-.*\.tiktokv\.com$/`). A wildcard's
/// `*` matches any run of characters, dots included, and like a plain rule it covers a name that fits and
/// every name below one that does. A regular expression (POSIX extended, plus `\d` and `\w`, as Pi-hole and
/// AdGuard Home users write them) is matched against the whole name. Each pattern knows the literal
/// domains a matching name must end in (its anchors), so a name pays for it only under those domains.
public struct NamePattern: Sendable {
    public enum Kind: Sendable {
        case wildcard([UInt8])
        case regex(CompiledRegex)
    }

    public let kind: Kind
    /// As written in the list, for `hush check`, stats and Extended DNS Errors.
    public let text: String
    /// Label-aligned domains a matching name ends in; empty when the pattern has none (it is then tried
    /// for every name).
    public let anchors: [[UInt8]]

    /// Reads a pattern: `/regex/`, or a wildcard body (the part between `||` and `^`, or a whole line).
    /// Throws a message for the list's problem report.
    public init(rule text: String) throws(PatternError) {
        if text.count > 2, text.hasPrefix("/"), text.hasSuffix("/") {
            let source = String(text.dropFirst().dropLast())
            kind = .regex(try CompiledRegex(source))
            anchors = Self.regexAnchors(source)
        } else {
            let body = text.hasPrefix("||") && text.hasSuffix("^") ? String(text.dropFirst(2).dropLast()) : text
            let bytes = Array(body.lowercased().utf8)
            guard bytes.contains(UInt8(ascii: "*")) else { throw PatternError("a wildcard rule needs a *") }
            for byte in bytes where !Self.wildcardCharacter(byte) {
                throw PatternError("character '\(String(decoding: [byte], as: UTF8.self))' is not allowed in a wildcard")
            }
            guard bytes.contains(where: { $0 != UInt8(ascii: "*") && $0 != UInt8(ascii: ".") }) else {
                throw PatternError("a wildcard must name something besides * and dots")
            }
            kind = .wildcard(bytes)
            anchors = Self.wildcardAnchor(bytes).map { [$0] } ?? []
        }
        self.text = text
    }

    /// Whether `name` (lower-case presentation bytes) is covered. `anchorStart` is where the anchor that
    /// selected this pattern begins in `name` (0 when the pattern has none): a wildcard is tried on `name`
    /// and on each parent that still ends in the anchor.
    public func matches(_ name: UnsafeBufferPointer<UInt8>, anchorStart: Int) -> Bool {
        switch kind {
        case .regex(let regex):
            return regex.matches(name)
        case .wildcard(let pattern):
            var start = 0
            while start <= anchorStart {
                if Self.glob(pattern, UnsafeBufferPointer(rebasing: name[start...])) { return true }
                // The next label.
                while start < name.count, name[start] != UInt8(ascii: ".") { start += 1 }
                start += 1
            }
            return false
        }
    }

    static func wildcardCharacter(_ byte: UInt8) -> Bool {
        (byte >= 97 && byte <= 122) || (byte >= 48 && byte <= 57) || byte == 45 || byte == 95 || byte == 46 || byte == 42
    }

    /// The whole labels after the last `*`: `log*-normal-*.tiktokv.com` → `tiktokv.com`.
    static func wildcardAnchor(_ pattern: [UInt8]) -> [UInt8]? {
        guard let star = pattern.lastIndex(of: UInt8(ascii: "*")) else { return pattern }
        let tail = pattern[(star + 1)...]
        guard let dot = tail.firstIndex(of: UInt8(ascii: ".")) else { return nil }
        let anchor = Array(pattern[(dot + 1)...])
        return anchor.isEmpty ? nil : anchor
    }

    /// `*` matches any run of bytes; everything else matches itself. Iterative, with one backtrack point:
    /// linear for the patterns lists hold.
    static func glob(_ pattern: [UInt8], _ name: UnsafeBufferPointer<UInt8>) -> Bool {
        var p = 0
        var n = 0
        var star = -1
        var resume = 0
        while n < name.count {
            if p < pattern.count, pattern[p] == UInt8(ascii: "*") {
                star = p
                resume = n
                p += 1
            } else if p < pattern.count, pattern[p] == name[n] {
                p += 1
                n += 1
            } else if star >= 0 {
                p = star + 1
                resume += 1
                n = resume
            } else {
                return false
            }
        }
        while p < pattern.count, pattern[p] == UInt8(ascii: "*") { p += 1 }
        return p == pattern.count
    }

    /// The literal domains a regular expression's matches end in, read back from its end: escaped dots and
    /// name characters, and one group of literal alternatives (`\.tiktokv\.(com|us)$`). Only for an
    /// expression anchored with `$`; cut to whole labels.
    static func regexAnchors(_ source: String) -> [[UInt8]] {
        var bytes = Array(source.utf8)
        guard bytes.last == UInt8(ascii: "$") else { return [] }
        bytes.removeLast()
        var suffixes: [[UInt8]] = [[]]
        var index = bytes.count - 1
        var reachedStart = false
        func literal(_ byte: UInt8) -> Bool {
            (byte >= 97 && byte <= 122) || (byte >= 65 && byte <= 90) || (byte >= 48 && byte <= 57) || byte == 45 || byte == 95
        }
        scan: while index >= 0 {
            let byte = bytes[index]
            if index >= 1, bytes[index - 1] == UInt8(ascii: "\\"), byte == UInt8(ascii: ".") || byte == UInt8(ascii: "-") {
                suffixes = suffixes.map { [byte] + $0 }
                index -= 2
            } else if literal(byte), !(index >= 1 && bytes[index - 1] == UInt8(ascii: "\\")) {
                suffixes = suffixes.map { [byte | (byte >= 65 && byte <= 90 ? 0x20 : 0)] + $0 }
                index -= 1
            } else if byte == UInt8(ascii: ")"), let open = bytes[..<index].lastIndex(of: UInt8(ascii: "(")) {
                var inner = Array(bytes[(open + 1)..<index])
                if inner.starts(with: Array("?:".utf8)) { inner.removeFirst(2) }
                let alternatives = inner.split(separator: UInt8(ascii: "|"), omittingEmptySubsequences: false)
                    .map { Array($0).replacing(Array("\\.".utf8), with: Array(".".utf8)) }
                guard suffixes.count * alternatives.count <= 16,
                      alternatives.allSatisfy({ !$0.isEmpty && $0.allSatisfy { literal($0) || $0 == UInt8(ascii: ".") } }) else { break scan }
                suffixes = alternatives.flatMap { alternative in suffixes.map { alternative + $0 } }
                index = open - 1
            } else {
                reachedStart = byte == UInt8(ascii: "^") && index == 0
                break scan
            }
        }
        if index < 0 { reachedStart = false }
        return suffixes.compactMap { suffix -> [UInt8]? in
            var suffix = suffix.map { $0 >= 65 && $0 <= 90 ? $0 | 0x20 : $0 }
            if !reachedStart {
                // Only whole labels: drop a partial first label.
                guard let dot = suffix.firstIndex(of: UInt8(ascii: ".")) else { return nil }
                suffix = Array(suffix[(dot + 1)...])
            }
            return suffix.isEmpty || suffix.first == UInt8(ascii: ".") ? nil : suffix
        }
    }
}

public struct PatternError: Error, Sendable, CustomStringConvertible {
    public var message: String
    init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// A POSIX extended regular expression, compiled once. The shorthand classes lists use (`\d`, `\w`) and
/// non-capturing groups are rewritten to POSIX; lookarounds and back-references are refused.
/// Compiled once and only read afterwards (glibc's regexec may run on several threads at once), behind a
/// pointer so that no Swift access to it is ever exclusive.
public final class CompiledRegex: @unchecked Sendable {
    private let regex: UnsafeMutablePointer<regex_t>

    /// Bounds on what a list may ask glibc to compile: nested or stacked repetition and large counts make
    /// its compiler take seconds and gigabytes (found by fuzzing), and a list is untrusted input.
    static let maximumLength = 256
    static let maximumCount = 32

    init(_ source: String) throws(PatternError) {
        guard !source.isEmpty else { throw PatternError("empty regular expression") }
        guard source.utf8.count <= Self.maximumLength else {
            throw PatternError("a regular expression longer than \(Self.maximumLength) characters")
        }
        try Self.checkRepetition(Array(source.utf8))
        for refused in ["(?=", "(?!", "(?<"] where source.contains(refused) {
            throw PatternError("lookarounds such as \(refused) are not supported")
        }
        var posix = ""
        var escaped = false
        for character in source.replacingOccurrences(of: "(?:", with: "(") {
            if escaped {
                switch character {
                case "d": posix += "[0-9]"
                case "D": posix += "[^0-9]"
                case "w": posix += "[a-z0-9_]"
                case "1"..."9": throw PatternError("back-references are not supported")
                default: posix += "\\\(character)"
                }
                escaped = false
            } else if character == "\\" {
                escaped = true
            } else {
                posix.append(character)
            }
        }
        if escaped { throw PatternError("a regular expression cannot end in \\") }
        let regex = UnsafeMutablePointer<regex_t>.allocate(capacity: 1)
        let status = regcomp(regex, posix, REG_EXTENDED | REG_NOSUB | REG_ICASE)
        guard status == 0 else {
            var message = [UInt8](repeating: 0, count: 256)
            message.withUnsafeMutableBufferPointer { buffer in
                buffer.withMemoryRebound(to: CChar.self) { _ = regerror(status, regex, $0.baseAddress, $0.count) }
            }
            regex.deallocate()
            throw PatternError("bad regular expression: \(String(decoding: message.prefix { $0 != 0 }, as: UTF8.self))")
        }
        self.regex = regex
    }

    /// Refuses a quantifier after a quantifier (`a++`), repetition of a group that repeats inside (`(a+)+`;
    /// making it optional is fine), and counts above `maximumCount` (`a{1000}`).
    static func checkRepetition(_ bytes: [UInt8]) throws(PatternError) {
        var groups: [Bool] = [false]   // per open group: whether something inside it repeats
        var previous: UInt8 = 0        // what the next quantifier applies to: q quantifier, ) group, other
        var closedGroupRepeats = false
        var index = 0
        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case UInt8(ascii: "\\"):
                index += 1
                previous = 0
            case UInt8(ascii: "["):
                // A bracket expression is one atom; `]` first in it is literal.
                index += 1
                if index < bytes.count, bytes[index] == UInt8(ascii: "^") { index += 1 }
                if index < bytes.count, bytes[index] == UInt8(ascii: "]") { index += 1 }
                while index < bytes.count, bytes[index] != UInt8(ascii: "]") { index += 1 }
                previous = 0
            case UInt8(ascii: "("):
                groups.append(false)
                previous = 0
            case UInt8(ascii: ")"):
                closedGroupRepeats = groups.count > 1 ? groups.removeLast() : false
                previous = UInt8(ascii: ")")
            case UInt8(ascii: "*"), UInt8(ascii: "+"), UInt8(ascii: "?"), UInt8(ascii: "{"):
                if previous == UInt8(ascii: "q") { throw PatternError("a repetition cannot follow a repetition") }
                // `(x{2})?` only makes a group optional; `(a+)+` repeats a repetition.
                if previous == UInt8(ascii: ")"), closedGroupRepeats, byte != UInt8(ascii: "?") {
                    throw PatternError("a group that repeats inside cannot repeat")
                }
                if byte == UInt8(ascii: "{") {
                    var number = 0
                    index += 1
                    while index < bytes.count, bytes[index] != UInt8(ascii: "}") {
                        if let digit = Int(String(UnicodeScalar(bytes[index]))) {
                            number = number * 10 + digit
                            if number > maximumCount { throw PatternError("a repetition count above \(maximumCount)") }
                        } else {
                            number = 0
                        }
                        index += 1
                    }
                }
                groups[groups.count - 1] = true
                previous = UInt8(ascii: "q")
            default:
                previous = 0
            }
            index += 1
        }
    }

    deinit {
        regfree(regex)
        regex.deallocate()
    }

    func matches(_ name: UnsafeBufferPointer<UInt8>) -> Bool {
        withUnsafeTemporaryAllocation(of: CChar.self, capacity: name.count + 1) { text in
            for index in name.indices { text[index] = CChar(bitPattern: name[index]) }
            text[name.count] = 0
            return regexec(regex, text.baseAddress!, 0, nil, 0) == 0
        }
    }
}
