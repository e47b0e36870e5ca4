/// What can go wrong with the stats database, worded for the person at the terminal.
public enum StatsError: Error, CustomStringConvertible, Sendable {
    case noDatabase(String)
    case newerVersion(String)
    case unknownDevice(String)
    case storage(String)

    public var description: String {
        switch self {
        case .noDatabase(let path):
            "no stats database at \(path): start `hush serve` (stats are on by default) or give --stats-db"
        case .newerVersion(let path):
            "\(path) was written by a newer Hush; upgrade this hush to read it"
        case .unknownDevice(let selector):
            "no device matches \(selector): `hush stats devices` lists them"
        case .storage(let message):
            message
        }
    }
}
