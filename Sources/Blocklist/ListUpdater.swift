import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// Fetches subscriptions into the state directory. A download that fails, is empty, is not a list, or
/// shrinks a list by more than half is refused and the previous copy kept. Files are replaced by rename,
/// so a reader sees the old file or the new one, and a restart works offline.
public struct ListUpdater: Sendable {
    public enum Outcome: Sendable, Equatable, CustomStringConvertible {
        case updated(rules: Int, previous: Int?)
        case notModified
        case refused(String)
        case failed(String)

        public var description: String {
            switch self {
            case .updated(let rules, let previous): "updated: \(rules) rules" + (previous.map { " (was \($0))" } ?? "")
            case .notModified: "not modified"
            case .refused(let why): "refused: \(why)"
            case .failed(let why): "failed: \(why)"
            }
        }
    }

    /// What we know of the copy on disk: the validators to send next time and its size in rules.
    struct Metadata: Codable {
        var url: String
        var etag: String?
        var lastModified: String?
        var fetched: Date
        var rules: Int
    }

    public var directory: String
    public var timeoutSeconds: Double = 30
    public var maxBytes: Int = 64 << 20

    public init(directory: String, timeoutSeconds: Double = 30, maxBytes: Int = 64 << 20) {
        self.directory = directory
        self.timeoutSeconds = timeoutSeconds
        self.maxBytes = maxBytes
    }

    /// When the copy of `url` on disk was fetched, if there is one.
    public func lastFetched(url: String) -> Date? {
        guard let subscription = try? Subscription(spec: url),
              let data = FileManager.default.contents(atPath: "\(directory)/\(subscription.fileName).meta"),
              let metadata = try? JSONDecoder().decode(Metadata.self, from: data) else { return nil }
        return metadata.fetched
    }

    public func update(_ subscription: Subscription) -> Outcome {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            return .failed("cannot create \(directory): \(error.localizedDescription)")
        }
        let path = "\(directory)/\(subscription.fileName)"
        let metadataPath = path + ".meta"
        let previous = FileManager.default.contents(atPath: metadataPath).flatMap { try? JSONDecoder().decode(Metadata.self, from: $0) }
        let hasCopy = FileManager.default.fileExists(atPath: path)

        var request = URLRequest(url: subscription.url, timeoutInterval: timeoutSeconds)
        request.setValue("Hush list updater", forHTTPHeaderField: "User-Agent")
        if hasCopy, let previous, previous.url == subscription.url.absoluteString {
            if let etag = previous.etag { request.setValue(etag, forHTTPHeaderField: "If-None-Match") }
            if let modified = previous.lastModified { request.setValue(modified, forHTTPHeaderField: "If-Modified-Since") }
        }
        let (data, response, error) = Self.fetch(request)
        if let error { return .failed("download failed: \(error.localizedDescription)") }
        guard let http = response as? HTTPURLResponse else { return .failed("no HTTP response") }
        if http.statusCode == 304 { return hasCopy ? .notModified : .failed("304 Not Modified but no copy on disk") }
        guard http.statusCode == 200 else { return .failed("HTTP \(http.statusCode)") }
        guard let data, !data.isEmpty else { return .refused("the download is empty") }
        guard data.count <= maxBytes else { return .refused("the download is \(data.count) bytes, over the \(maxBytes)-byte cap") }

        var parsed = RuleSets()
        let outcome = ListParser.parse([UInt8](data), source: subscription.url.absoluteString, listIndex: 0,
                                       purpose: .block, into: &parsed)
        let rules = outcome.blockRules + outcome.allowRules
        guard rules > 0 else {
            return .refused("no rules in the download (\(outcome.problems.count + outcome.moreProblems) unusable lines): is it a list?")
        }
        if let before = previous?.rules, hasCopy, rules * 2 < before {
            return .refused("the list would shrink from \(before) to \(rules) rules, more than half")
        }
        let metadata = Metadata(
            url: subscription.url.absoluteString, etag: http.value(forHTTPHeaderField: "ETag"),
            lastModified: http.value(forHTTPHeaderField: "Last-Modified"), fetched: Date(), rules: rules)
        do {
            try Self.replace(path, with: data)
            try Self.replace(metadataPath, with: try JSONEncoder().encode(metadata))
        } catch {
            return .failed("cannot write \(path): \(error.localizedDescription)")
        }
        return .updated(rules: rules, previous: hasCopy ? previous?.rules : nil)
    }

    /// Writes beside the target, then renames over it.
    static func replace(_ path: String, with data: Data) throws {
        let temporary = "\(path).tmp-\(getpid())"
        guard FileManager.default.createFile(atPath: temporary, contents: data) else {
            throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: temporary])
        }
        guard rename(temporary, path) == 0 else {
            let code = errno
            unlink(temporary)
            throw POSIXError(POSIXErrorCode(rawValue: code) ?? .EIO)
        }
    }

    static func fetch(_ request: URLRequest) -> (Data?, URLResponse?, Error?) {
        final class Box: @unchecked Sendable { var result: (Data?, URLResponse?, Error?) = (nil, nil, nil) }
        let box = Box()
        let done = DispatchSemaphore(value: 0)
        let configuration = URLSessionConfiguration.ephemeral
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        let session = URLSession(configuration: configuration)
        session.dataTask(with: request) { data, response, error in
            box.result = (data, response, error)
            done.signal()
        }.resume()
        done.wait()
        session.finishTasksAndInvalidate()
        return box.result
    }
}
