import DNSWire
import Foundation
import GRDB
import Resolver
import Sockets
@testable import Stats
import Testing

/// A device first recorded by its address, before the kernel knew its MAC, becomes one with the MAC's
/// device once the MAC is known: totals, addresses and the raw log all name one device.
@Suite struct DeviceMergeTests {
    @Test func anAddressSeenBeforeItsMACJoinsTheMACsDevice() throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("hush-merge-\(UUID().uuidString)/stats.db").path
        let store = try StatsStore.openForWriting(path: path)
        let ipv4 = IPAddress("192.168.1.20")!
        let temporary = IPAddress("fd77::99")!
        let mac = "02:77:00:00:00:01"
        var macKnown = false
        func identity(_ address: IPAddress) -> DeviceDirectory.Identity {
            address == ipv4 || macKnown
                ? DeviceDirectory.Identity(key: "mac:\(mac)", mac: mac, name: "phone")
                : DeviceDirectory.Identity(key: DeviceDirectory.Identity.addressKey(address), mac: nil, name: nil)
        }
        var table = NameHourTable()
        var raw = PackedBatch()
        var ids = KnownIDs()
        let now = Date().timeIntervalSince1970
        func write(_ queries: [(IPAddress, String)], at time: Double, aggregate: Bool) throws {
            var batch = RecordBatch()
            for (client, name) in queries {
                batch.append(time: time, client: client, name: DomainName(name), type: 1, disposition: .cached)
            }
            if try store.write(batch, identity: identity, dropped: 0, privacy: .all, table: &table, raw: &raw,
                               rawPerNameHour: 100, ids: &ids, aggregate: { _ in aggregate }) {
                table.written()
            }
        }
        try write([(ipv4, "a.test"), (temporary, "b.test"), (temporary, "a.test")], at: now, aggregate: false)
        let before = try StatsReport(store: store).devices(.since("1h")!)
        #expect(before.count == 2, "the address alone is a device while its MAC is unknown")

        macKnown = true
                // The per-name totals gathered under the address's device are written after the merge: they must
        // land on the phone too.
        try write([(temporary, "c.test")], at: now + 1, aggregate: true)
        let report = StatsReport(store: store)
        let devices = try report.devices(.since("1h")!)
        #expect(devices.count == 1)
        let phone = try #require(devices.first)
        #expect(phone.mac == mac && phone.name == "phone")
        #expect(phone.queries == 4)
        #expect(Set(phone.addresses) == ["192.168.1.20", "fd77::99"])
        let detail = try report.device("fd77::99", .since("1h")!)
        #expect(detail.device.id == phone.id)
        #expect(Set(detail.endpoints.map(\.name)) == ["a.test", "b.test", "c.test"])
        #expect(detail.endpoints.first { $0.name == "a.test" }?.count == 2)
        #expect(Set(try report.log(after: 0).map(\.device)) == ["phone"], "raw entries of the merged device show the phone")
    }
}
