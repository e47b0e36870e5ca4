import Foundation

/// A list fetched by URL, written in the config as `"URL"` or `"URL vendor=Xiaomi category=vendor-telemetry"`.
public struct Subscription: Sendable, Equatable {
    public var url: URL
    public var vendor: String?
    public var category: String?
    public var name: String?

    public init(url: URL, vendor: String? = nil, category: String? = nil, name: String? = nil) {
        self.url = url
        self.vendor = vendor
        self.category = category
        self.name = name
    }

    /// Returns nil with no message when the text is not a subscription; throws a message for a bad one.
    public init(spec: String) throws(ListProblemMessage) {
        let parts = spec.split(separator: " ", omittingEmptySubsequences: true).map(String.init)
        guard let first = parts.first, let url = URL(string: first), let scheme = url.scheme?.lowercased(),
              scheme == "http" || scheme == "https", url.host != nil else {
            throw ListProblemMessage("\"\(spec)\" does not start with an http:// or https:// URL")
        }
        self.url = url
        for option in parts.dropFirst() {
            let pair = option.split(separator: "=", maxSplits: 1).map(String.init)
            guard pair.count == 2 else { throw ListProblemMessage("\"\(option)\" is not key=value") }
            switch pair[0] {
            case "vendor": vendor = pair[1].replacingOccurrences(of: "_", with: " ")
            case "category": category = pair[1]
            case "name": name = pair[1].replacingOccurrences(of: "_", with: " ")
            default: throw ListProblemMessage("unknown subscription option \(pair[0]) (vendor, category, name)")
            }
        }
    }

    /// The cached copy's file name: the URL's last path part and a short hash of the whole URL.
    public var fileName: String {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        for byte in url.absoluteString.utf8 { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
        let base = url.lastPathComponent.filter { $0.isLetter || $0.isNumber || "-_.".contains($0) }
        return "\(base.isEmpty ? "list" : base)-\(String(hash & 0xFFFF_FFFF, radix: 16)).txt"
    }

    public func source(in directory: String) -> ListSource {
        ListSource(path: "\(directory)/\(fileName)", purpose: .block, name: name, category: category ?? "subscription",
                   vendor: vendor, origin: url.absoluteString)
    }
}

public struct ListProblemMessage: Error, CustomStringConvertible, Sendable {
    public var description: String
    public init(_ description: String) { self.description = description }
}
