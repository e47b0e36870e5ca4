import Foundation
import GRDB

/// What the reports return: plain values, encoded as the CLI's JSON.
extension StatsReport {
    public struct VendorCount: Codable, Sendable, Equatable {
        public var vendor: String
        public var category: String?
        public var attempts: Int
    }

    public struct HourCount: Codable, Sendable, Equatable {
        public var hour: Date
        public var queries: Int
        public var blocked: Int
    }

    public struct Summary: Codable, Sendable {
        public var from: Date
        public var to: Date
        public var queries: Int
        public var blocked: Int
        public var blockedShare: Double
        public var devices: Int
        public var topVendors: [VendorCount]
        public var hourly: [HourCount]
        /// Records lost because the queue was full or the disk failed, ever.
        public var dropped: Int
        /// Commits that failed (disk full, read-only, file gone), and the last reason.
        public var writeFailures: Int
        public var lastWriteError: String?
    }

    public struct Device: Codable, Sendable, Equatable {
        public var id: Int64
        public var name: String?
        public var mac: String?
        public var key: String
        public var addresses: [String]
        public var firstSeen: Date
        public var lastSeen: Date
        public var queries: Int
        public var blocked: Int
        public var topVendors: [String]

        /// Name, else MAC, else address.
        public var label: String { name ?? mac ?? addresses.first ?? key }
    }

    public struct Endpoint: Codable, Sendable, Equatable {
        public var name: String
        public var disposition: String
        public var vendor: String?
        public var category: String?
        public var list: String?
        public var rule: String?
        public var cname: String?
        public var count: Int
        public var firstSeen: Date
        public var lastSeen: Date
    }

    public struct DeviceDetail: Codable, Sendable {
        public var device: Device
        public var endpoints: [Endpoint]
        public var hourly: [HourCount]
    }

    public struct DomainAttempt: Codable, Sendable, Equatable {
        public var device: String
        public var deviceId: Int64
        public var name: String
        public var disposition: String
        public var vendor: String?
        public var count: Int
        public var firstSeen: Date
        public var lastSeen: Date
    }

    public struct NameCount: Codable, Sendable, Equatable {
        public var name: String
        public var vendor: String?
        public var category: String?
        public var attempts: Int
    }

    public struct DeviceCount: Codable, Sendable, Equatable {
        public var device: String
        public var deviceId: Int64
        public var blocked: Int
        public var queries: Int
    }

    public struct Top: Codable, Sendable {
        public var names: [NameCount]
        public var vendors: [VendorCount]
        public var devices: [DeviceCount]
    }

    public struct VendorDevice: Codable, Sendable, Equatable {
        public var vendor: String
        public var category: String?
        public var device: String
        public var deviceId: Int64
        public var attempts: Int
    }

    public struct LogEntry: Codable, Sendable, Equatable {
        public var id: Int64
        public var time: Date
        public var device: String
        public var client: String
        public var name: String
        public var type: Int
        public var disposition: String
        public var list: String?
        public var rule: String?
        public var vendor: String?
        public var cname: String?
    }
}
