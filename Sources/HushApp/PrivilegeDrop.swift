import Foundation
import Glibc

/// Started as root (to bind port 53), Hush gives the state directory to an unprivileged user and becomes
/// that user before answering anything. Under systemd it already starts unprivileged and this does nothing.
public enum PrivilegeDrop {
    /// `files` are handed over as they are; `folders` with everything in them (only Hush's own folders:
    /// never a directory a user could point at `/`).
    public static func drop(to user: String, handingOver files: [String], folders: [String]) throws {
        guard getuid() == 0 || geteuid() == 0 else { return }
        guard let entry = getpwnam(user) else { throw StartupError(message: "server.user: no user named \(user)") }
        let uid = entry.pointee.pw_uid
        let gid = entry.pointee.pw_gid
        for path in files where FileManager.default.fileExists(atPath: path) { _ = chown(path, uid, gid) }
        for path in folders where FileManager.default.fileExists(atPath: path) { chownTree(path, uid, gid) }
        guard setgroups(0, nil) == 0, setgid(gid) == 0, setuid(uid) == 0 else {
            throw StartupError(message: "cannot become \(user): \(String(cString: strerror(errno)))")
        }
        guard setuid(0) != 0 else { throw StartupError(message: "dropped to \(user) but could regain root; refusing to run") }
    }

    private static func chownTree(_ path: String, _ uid: uid_t, _ gid: gid_t) {
        _ = chown(path, uid, gid)
        guard let children = try? FileManager.default.contentsOfDirectory(atPath: path) else { return }
        for child in children { chownTree(path + "/" + child, uid, gid) }
    }
}
