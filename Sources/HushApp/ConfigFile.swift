/// The config file: a small subset of TOML (`[section]`, `key = value` with strings, integers, booleans
/// and arrays of strings, `#` comments). Written by hand so that every error names the file, the line and
/// the key, which general TOML decoders do not do for values of the wrong kind.
public struct ConfigFile: Sendable {
    public enum Value: Sendable, Equatable {
        case string(String)
        case integer(Int)
        case boolean(Bool)
        case strings([String])
    }

    public struct Entry: Sendable {
        public var value: Value
        public var line: Int
    }

    public let path: String
    /// Keyed "section.key".
    public let entries: [String: Entry]

    public init(text: String, path: String) throws(ConfigError) {
        self.path = path
        var entries: [String: Entry] = [:]
        var section = ""
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var index = 0
        while index < lines.count {
            let lineNumber = index + 1
            var line = Self.stripComment(lines[index]).trimmed
            index += 1
            if line.isEmpty { continue }
            if line.hasPrefix("[") {
                guard line.hasSuffix("]"), line.count > 2 else {
                    throw ConfigError(path: path, line: lineNumber, key: nil, message: "a section header looks like [name]")
                }
                section = String(line.dropFirst().dropLast()).trimmed
                continue
            }
            guard let equals = line.firstIndex(of: "=") else {
                throw ConfigError(path: path, line: lineNumber, key: nil, message: "expected key = value")
            }
            var key = String(line[..<equals]).trimmed
            // A quoted key may hold any characters: "aa:bb:cc:dd:ee:ff" = "Living-room TV".
            let quotedKey = key.count >= 2 && key.hasPrefix("\"") && key.hasSuffix("\"")
            if quotedKey { key = String(key.dropFirst().dropLast()) }
            let fullKey = section.isEmpty ? key : "\(section).\(key)"
            var raw = String(line[line.index(after: equals)...]).trimmed
            // An array may continue over several lines until its closing bracket.
            if raw.hasPrefix("["), !Self.arrayIsClosed(raw) {
                while index < lines.count, !Self.arrayIsClosed(raw) {
                    raw += " " + Self.stripComment(lines[index]).trimmed
                    index += 1
                }
            }
            line = raw
            guard !key.isEmpty, quotedKey || key.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" }) else {
                throw ConfigError(path: path, line: lineNumber, key: fullKey, message: "a key is letters, digits, - and _, or \"quoted\"")
            }
            guard entries[fullKey] == nil else {
                throw ConfigError(path: path, line: lineNumber, key: fullKey, message: "set twice (first on line \(entries[fullKey]!.line))")
            }
            do {
                entries[fullKey] = Entry(value: try Self.parseValue(raw), line: lineNumber)
            } catch {
                throw ConfigError(path: path, line: lineNumber, key: fullKey, message: error.message)
            }
        }
        self.entries = entries
    }

    struct ValueError: Error { var message: String }

    static func parseValue(_ raw: String) throws(ValueError) -> Value {
        if raw == "true" { return .boolean(true) }
        if raw == "false" { return .boolean(false) }
        if let number = Int(raw.replacingOccurrences(of: "_", with: "")) { return .integer(number) }
        if raw.hasPrefix("\"") { return .string(try parseString(raw)) }
        if raw.hasPrefix("[") {
            guard raw.hasSuffix("]") else { throw ValueError(message: "array is not closed with ]") }
            var items: [String] = []
            var rest = Substring(raw.dropFirst().dropLast()).trimmed
            while !rest.isEmpty {
                guard rest.hasPrefix("\"") else { throw ValueError(message: "arrays hold quoted strings") }
                guard let close = rest.dropFirst().firstIndex(of: "\"") else { throw ValueError(message: "unterminated string") }
                items.append(String(rest[rest.index(after: rest.startIndex)..<close]))
                rest = String(rest[rest.index(after: close)...]).trimmed
                if rest.hasPrefix(",") { rest = String(rest.dropFirst()).trimmed }
                else if !rest.isEmpty { throw ValueError(message: "expected , between array items") }
            }
            return .strings(items)
        }
        throw ValueError(message: "a value is a \"string\", a number, true/false or [\"a\", \"b\"]")
    }

    static func parseString(_ raw: String) throws(ValueError) -> String {
        guard raw.count >= 2, raw.hasSuffix("\"") else { throw ValueError(message: "unterminated string") }
        let body = raw.dropFirst().dropLast()
        guard !body.contains("\"") else { throw ValueError(message: "unexpected \" inside a string") }
        return String(body)
    }

    static func stripComment(_ line: String) -> String {
        var inString = false
        for index in line.indices {
            let character = line[index]
            if character == "\"" { inString.toggle() }
            if character == "#", !inString { return String(line[..<index]) }
        }
        return line
    }

    static func arrayIsClosed(_ raw: String) -> Bool {
        var inString = false
        for character in raw {
            if character == "\"" { inString.toggle() }
            if character == "]", !inString { return true }
        }
        return false
    }
}

/// A config mistake, with where it is.
public struct ConfigError: Error, CustomStringConvertible, Sendable {
    public var path: String
    public var line: Int?
    public var key: String?
    public var message: String

    public init(path: String, line: Int?, key: String?, message: String) {
        self.path = path
        self.line = line
        self.key = key
        self.message = message
    }

    public var description: String {
        var location = path
        if let line { location += ":\(line)" }
        if let key { location += ": \(key)" }
        return "\(location): \(message)"
    }
}

extension StringProtocol {
    var trimmed: String {
        var slice = Substring(self)
        while let first = slice.first, first == " " || first == "\t" || first == "\r" { slice.removeFirst() }
        while let last = slice.last, last == " " || last == "\t" || last == "\r" { slice.removeLast() }
        return String(slice)
    }
}

#if canImport(Foundation)
import Foundation
#endif
