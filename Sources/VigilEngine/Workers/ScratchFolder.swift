import Foundation
import Logging
#if canImport(Glibc)
import Glibc
#endif

/// A private folder a Vigil process keeps scratch files in while it works (a step's output),
/// removed when the work ends.
///
/// A process killed outright (SIGKILL, the OOM killer, a lost machine) cannot remove its
/// folders, so each is named with the process's host and id, `vigil-step-HOST-PID-UUID`: the next
/// worker or server to start on the same host removes the folders of processes that are gone.
/// Another host's folders (a container sharing the directory) are never touched, since its
/// process ids mean nothing here.
public enum ScratchFolder {
    /// What a folder is for, the second part of its name.
    public enum Purpose: String, CaseIterable, Sendable {
        case step
    }

    /// A new folder for `purpose`, readable by this user only.
    public static func make(_ purpose: Purpose, in directory: URL = FileManager.default.temporaryDirectory) throws -> URL {
        let folder = directory.appendingPathComponent("vigil-\(purpose.rawValue)-\(HostName.current)-\(getpid())-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        return folder
    }

    /// Removes the folders in `directory` that processes of this host made and left when they
    /// ended, saying so in the log; returns their names.
    @discardableResult
    public static func sweep(in directory: URL = FileManager.default.temporaryDirectory, logger: Logger) -> [String] {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return [] }
        var removed: [String] = []
        for name in names {
            guard let pid = owner(of: name), !isRunning(pid) else { continue }
            if (try? FileManager.default.removeItem(at: directory.appendingPathComponent(name))) != nil { removed.append(name) }
        }
        if !removed.isEmpty {
            logger.info("removed scratch folders left by processes that ended without removing them", metadata: [
                "count": "\(removed.count)", "directory": "\(directory.path)",
            ])
        }
        return removed
    }

    /// The id of the process of this host that made the folder `name`, if a scratch folder made it.
    static func owner(of name: String) -> pid_t? {
        for purpose in Purpose.allCases {
            let prefix = "vigil-\(purpose.rawValue)-\(HostName.current)-"
            // PID-UUID after the prefix; a UUID is 36 characters.
            guard name.hasPrefix(prefix), name.count > prefix.count + 37 else { continue }
            let rest = name.dropFirst(prefix.count)
            let uuid = rest.suffix(36), pid = rest.dropLast(37)
            guard rest.dropLast(36).last == "-", UUID(uuidString: String(uuid)) != nil, let id = pid_t(pid), id > 0 else { continue }
            return id
        }
        return nil
    }

    /// Whether a process with this id exists (one we may not signal exists too).
    private static func isRunning(_ pid: pid_t) -> Bool {
        kill(pid, 0) == 0 || errno == EPERM
    }
}
