import Foundation
import Glibc

/// What a test needs of the machine, probed once, for `.enabled(if:)` traits: a test that cannot run here
/// is skipped with its reason, never passed silently. CI runs as root and has all of them.
public enum Prerequisites {
    public static let isRoot = getuid() == 0

    /// Root, and the kernel lets us mount a tmpfs (not in every container).
    public static let canMountTmpfs: Bool = {
        guard isRoot else { return false }
        let point = FileManager.default.temporaryDirectory.appendingPathComponent("hush-probe-\(getpid())").path
        try? FileManager.default.createDirectory(atPath: point, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: point) }
        guard (try? Command.run("/bin/mount", ["-t", "tmpfs", "-o", "size=64k", "tmpfs", point]).status) == 0 else { return false }
        _ = try? Command.run("/bin/umount", [point])
        return true
    }()

    /// The peers and clients of the encrypted-DNS tests: openssl for certificates, unbound serving DoT and
    /// DoH, and kdig as a device.
    public static let hasEncryptedPeers = ["/usr/bin/openssl", "/usr/sbin/unbound", "/usr/bin/kdig"].allSatisfy {
        FileManager.default.isExecutableFile(atPath: $0)
    }
}
