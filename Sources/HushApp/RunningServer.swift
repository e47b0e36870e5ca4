import Foundation

/// The running server, found through the PID file it writes in the state directory, so a command that
/// changed the lists can have it reload them.
public enum RunningServer {
    public static func pidFile(stateDirectory: String) -> String { stateDirectory + "/hush.pid" }

    public static func record(stateDirectory: String) {
        try? FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        try? "\(getpid())\n".write(toFile: pidFile(stateDirectory: stateDirectory), atomically: true, encoding: .utf8)
    }

    public static func forget(stateDirectory: String) {
        let path = pidFile(stateDirectory: stateDirectory)
        if (try? String(contentsOfFile: path, encoding: .utf8))?.trimmingCharacters(in: .whitespacesAndNewlines) == "\(getpid())" {
            try? FileManager.default.removeItem(atPath: path)
        }
    }

    /// Sends SIGHUP to the Hush serving from `stateDirectory`; says what happened.
    public static func reload(stateDirectory: String) -> String {
        guard let text = try? String(contentsOfFile: pidFile(stateDirectory: stateDirectory), encoding: .utf8),
              let pid = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), pid > 0,
              let command = try? String(contentsOfFile: "/proc/\(pid)/comm", encoding: .utf8),
              command.trimmingCharacters(in: .whitespacesAndNewlines).hasPrefix("hush") else {
            return "no running Hush found for \(stateDirectory): the lists load when it starts (or run systemctl reload hush)"
        }
        return kill(pid, SIGHUP) == 0 ? "reloaded the running Hush (pid \(pid))" : "could not signal Hush (pid \(pid)): \(String(cString: strerror(errno)))"
    }
}
