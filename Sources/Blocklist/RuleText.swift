/// A matched rule's text. A match from a loaded list points into the list's arena and builds the string
/// only when someone reads it: every blocked answer carries its rule to stats, and most rules are longer
/// than the 15 bytes a String holds inline, so building it there would be an allocation per answer. A match
/// keeps its list's arena alive, so whatever outlives a reload (nothing on the answering path does) should
/// keep the text instead.
public struct RuleText: Sendable, Equatable, CustomStringConvertible {
    private enum Storage: Sendable {
        case string(String)
        /// The domain's bytes in a sealed arena, and the syntax that decorates them.
        case arena([UInt8], start: Int32, length: Int32, syntax: RuleSyntax)
    }

    private let storage: Storage

    public init(_ text: String) {
        storage = .string(text)
    }

    /// A domain as a rule of `syntax` writes it.
    public init(domain: String, syntax: RuleSyntax) {
        let bytes = Array(domain.utf8)
        self.init(arena: bytes, start: 0, length: bytes.count, syntax: syntax)
    }

    init(arena: [UInt8], start: Int, length: Int, syntax: RuleSyntax) {
        storage = .arena(arena, start: Int32(truncatingIfNeeded: start), length: Int32(truncatingIfNeeded: length), syntax: syntax)
    }

    public var description: String {
        var bytes: [UInt8] = []
        append(to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Appends the text's UTF-8 bytes, as the rule was written (`||x^`, `*.x`, or the plain name).
    public func append(to out: inout [UInt8]) {
        switch storage {
        case .string(let text):
            out.append(contentsOf: text.utf8)
        case .arena(let arena, let start, let length, let syntax):
            switch syntax {
            case .plain: break
            case .adblock: out.append(UInt8(ascii: "|")); out.append(UInt8(ascii: "|"))
            case .namesBelow: out.append(UInt8(ascii: "*")); out.append(UInt8(ascii: "."))
            }
            arena.withUnsafeBufferPointer { arena in
                out.append(contentsOf: UnsafeBufferPointer(rebasing: arena[Int(start)..<Int(start + length)]))
            }
            if syntax == .adblock { out.append(UInt8(ascii: "^")) }
        }
    }

    public static func == (a: RuleText, b: RuleText) -> Bool {
        a.description == b.description
    }
}
