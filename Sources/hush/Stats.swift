import ArgumentParser
import Foundation
import HushApp
import Stats

extension Hush {
    struct StatsCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "stats",
            abstract: "Which device tried which endpoint: read the stats while the server runs.",
            subcommands: [Summary.self, Devices.self, Device.self, Domain.self, Top.self, Vendors.self],
            defaultSubcommand: Summary.self)
    }
}

extension Hush.StatsCommand {
    struct Summary: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Queries, blocked share, devices and top vendors, with an hourly histogram.")
        @OptionGroup var options: ReportOptions

        func run() throws {
            let summary = try options.report().summary(try options.window())
            if options.json || options.csv {
                try options.print(summary, headers: ["vendor", "category", "attempts"],
                                  rows: summary.topVendors.map { [$0.vendor, $0.category ?? "", "\($0.attempts)"] })
                return
            }
            print("\(Output.time(summary.from)) – \(Output.time(summary.to))")
            print("queries \(summary.queries), blocked \(summary.blocked) (\(String(format: "%.1f", summary.blockedShare * 100))%), devices \(summary.devices)")
            if summary.dropped > 0 { print("records lost (queue full or disk failing): \(summary.dropped)") }
            if summary.writeFailures > 0 {
                print("storage faults: \(summary.writeFailures) failed commits; last: \(summary.lastWriteError ?? "?")")
            }
            print("")
            try options.print(summary, headers: ["vendor", "category", "attempts"],
                              rows: summary.topVendors.map { [$0.vendor, $0.category ?? "", "\($0.attempts)"] })
            print(Output.histogram(summary.hourly), terminator: "")
        }
    }

    struct Devices: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Each device: name, MAC, addresses, first and last seen, queries, blocked attempts, top vendors.")
        @OptionGroup var options: ReportOptions

        func run() throws {
            let devices = try options.report().devices(try options.window())
            try options.print(devices, headers: ["device", "mac", "addresses", "first seen", "last seen", "queries", "blocked", "top vendors"],
                              rows: devices.map {
                                  [$0.label, $0.mac ?? "", $0.addresses.joined(separator: " "), Output.time($0.firstSeen), Output.time($0.lastSeen),
                                   "\($0.queries)", "\($0.blocked)", $0.topVendors.joined(separator: ", ")]
                              })
        }
    }

    struct Device: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "What one device attempted: endpoint, vendor, category, count, first and last seen.")
        @OptionGroup var options: ReportOptions
        @Argument(help: "The device's name, MAC address or IP address.") var device: String
        @Option(name: .long, help: "At most this many endpoints.") var limit = 100

        func run() throws {
            let report = try options.report()
            let detail = try report.device(device, try options.window(), limit: limit)
            let suggested = (try? report.suggestedNames()) ?? []
            if !options.json && !options.csv {
                let d = detail.device
                print("\(d.label)  mac \(d.mac ?? "-")  addresses \(d.addresses.joined(separator: " "))  queries \(d.queries)  blocked \(d.blocked)")
            }
            try options.print(detail, headers: ["endpoint", "what", "vendor", "category", "count", "first seen", "last seen"],
                              rows: detail.endpoints.map {
                                  [$0.name + (suggested.contains($0.name) ? " (suggested)" : ""),
                                   $0.cname.map { "blocked-cname (\($0))" } ?? $0.disposition, $0.vendor ?? "", $0.category ?? "",
                                   "\($0.count)", Output.time($0.firstSeen), Output.time($0.lastSeen)]
                              })
            if !options.json && !options.csv { print(Output.histogram(detail.hourly), terminator: "") }
        }
    }

    struct Domain: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Which devices tried a name, or any name below it, how often and when.")
        @OptionGroup var options: ReportOptions
        @Argument(help: "A name such as miui.com.") var name: String

        func run() throws {
            let attempts = try options.report().domain(name, try options.window())
            try options.print(attempts, headers: ["device", "name", "what", "vendor", "count", "first seen", "last seen"],
                              rows: attempts.map {
                                  [$0.device, $0.name, $0.disposition, $0.vendor ?? "", "\($0.count)", Output.time($0.firstSeen), Output.time($0.lastSeen)]
                              })
        }
    }

    struct Top: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Top blocked names, top vendors, top devices.")
        @OptionGroup var options: ReportOptions
        @Option(name: .long, help: "How many of each.") var limit = 10

        func run() throws {
            let top = try options.report().top(try options.window(), limit: limit)
            if options.json { print(try Output.json(top)); return }
            let rows = top.names.map { ["name", $0.name, $0.vendor ?? "", "\($0.attempts)"] }
                + top.vendors.map { ["vendor", $0.vendor, $0.category ?? "", "\($0.attempts)"] }
                + top.devices.map { ["device", $0.device, "\($0.queries) queries", "\($0.blocked)"] }
            try options.print(top, headers: ["kind", "what", "detail", "blocked"], rows: rows)
        }
    }

    struct Vendors: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Blocked attempts per vendor and category, per device.")
        @OptionGroup var options: ReportOptions

        func run() throws {
            let rows = try options.report().vendors(try options.window())
            try options.print(rows, headers: ["vendor", "category", "device", "attempts"],
                              rows: rows.map { [$0.vendor, $0.category ?? "", $0.device, "\($0.attempts)"] })
        }
    }
}
