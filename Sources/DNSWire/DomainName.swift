#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A domain name in lower-case presentation form without the trailing dot ("" is the root).
/// Bytes that would make two different wire names look alike ('.', '\\', non-printables inside a label)
/// are escaped as in zone files, so equal text always means the same name.
public struct DomainName: Hashable, Sendable, CustomStringConvertible {
    public let bytes: [UInt8]

    public init(bytes: [UInt8]) { self.bytes = bytes }

    public init(_ text: String) {
        var lowered = Array(text.utf8).map(asciiLowercased)
        if lowered.last == UInt8(ascii: ".") { lowered.removeLast() }
        self.bytes = lowered
    }

    public var description: String { String(decoding: bytes, as: UTF8.self) }

    // Whole-buffer hashing and comparison: the derived ones feed the hasher and compare byte by byte, and
    // every cache lookup does both.
    public func hash(into hasher: inout Hasher) {
        bytes.withUnsafeBytes { hasher.combine(bytes: $0) }
    }

    public static func == (lhs: DomainName, rhs: DomainName) -> Bool {
        lhs.bytes.count == rhs.bytes.count && lhs.bytes.withUnsafeBytes { left in
            rhs.bytes.withUnsafeBytes { right in left.count == 0 || memcmp(left.baseAddress!, right.baseAddress!, left.count) == 0 }
        }
    }

    /// The name in uncompressed wire form, for names made of plain labels.
    public var wire: [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(wireCount)
        appendWire(to: &out)
        return out
    }

    /// The wire form's length, for names made of plain labels.
    var wireCount: Int { bytes.isEmpty ? 1 : bytes.count + 2 }

    /// Appends the uncompressed wire form, for names made of plain labels.
    func appendWire(to out: inout [UInt8]) {
        let start = out.count
        out.append(contentsOf: repeatElement(0, count: wireCount))
        out.withUnsafeMutableBufferPointer { writeWire(to: $0.baseAddress! + start) }
    }

    /// Writes the wire form's `wireCount` bytes at `target`: each dot becomes the length of the label
    /// after it, and a zero ends it.
    func writeWire(to target: UnsafeMutablePointer<UInt8>) {
        bytes.withUnsafeBufferPointer { bytes in
            var at = 0
            var labelStart = 0
            for i in 0...bytes.count where i == bytes.count || bytes[i] == UInt8(ascii: ".") {
                if i > labelStart {
                    target[at] = UInt8(truncatingIfNeeded: i - labelStart)
                    (target + at + 1).update(from: bytes.baseAddress! + labelStart, count: i - labelStart)
                    at += 1 + i - labelStart
                }
                labelStart = i + 1
            }
            target[at] = 0
        }
    }
}

@inline(__always)
func asciiLowercased(_ byte: UInt8) -> UInt8 {
    (byte >= 65 && byte <= 90) ? byte | 0x20 : byte
}

/// Appends one wire label to a presentation name, lower-cased and escaped where needed.
@inline(__always)
func appendPresentationLabel(_ message: UnsafeBufferPointer<UInt8>, _ start: Int, _ length: Int, to out: inout [UInt8]) {
    if !out.isEmpty { out.append(UInt8(ascii: ".")) }
    for i in start..<(start + length) {
        let byte = asciiLowercased(message[i])
        if byte == UInt8(ascii: ".") || byte == UInt8(ascii: "\\") {
            out.append(UInt8(ascii: "\\"))
            out.append(byte)
        } else if byte <= 0x20 || byte >= 0x7F {
            // \DDD, three decimal digits
            out.append(UInt8(ascii: "\\"))
            out.append(UInt8(ascii: "0") + byte / 100)
            out.append(UInt8(ascii: "0") + (byte / 10) % 10)
            out.append(UInt8(ascii: "0") + byte % 10)
        } else {
            out.append(byte)
        }
    }
}
