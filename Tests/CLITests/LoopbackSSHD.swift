#if canImport(Glibc)
import Glibc
#endif
import Foundation
import TestSupport

/// Debian's OpenSSH server on 127.0.0.1 at a free port, with a host key and a user key made for
/// the test in its own folder, and an ssh client configuration that checks that host key
/// (known_hosts written from it; host-key checking stays on). Stopped by `stop()`.
final class LoopbackSSHD {
    static let program = "/usr/sbin/sshd"
    static var missingMessage: String {
        "\(program) is missing: install Debian's openssh-server (scripts/bootstrap.sh does)"
    }

    let dir: URL
    let port: Int
    /// The folder put first on the remote PATH (the built slmbench's folder).
    let remotePath: String
    private(set) var pid: pid_t?

    var sshConfig: String { dir.appendingPathComponent("ssh_config").path }
    var url: String { "ssh://127.0.0.1:\(port)" }

    init(remotePath: String) throws {
        dir = try TestPaths.temporaryDirectory("slmbench-sshd")
        port = try Self.freePort()
        self.remotePath = remotePath
        for key in ["host_key", "user_key"] {
            let made = try runCommand(URL(fileURLWithPath: "/usr/bin/ssh-keygen"),
                                      ["-q", "-t", "ed25519", "-N", "", "-C", "slmbench-test", "-f", dir.appendingPathComponent(key).path])
            guard made.status == 0 else { throw Failure("ssh-keygen: \(made.stderr)") }
        }
        let hostKey = try String(contentsOf: dir.appendingPathComponent("host_key.pub"), encoding: .utf8)
            .split(separator: " ").prefix(2).joined(separator: " ")
        try "[127.0.0.1]:\(port) \(hostKey)\n".write(to: dir.appendingPathComponent("known_hosts"), atomically: true, encoding: .utf8)
        try FileManager.default.copyItem(at: dir.appendingPathComponent("user_key.pub"), to: dir.appendingPathComponent("authorized_keys"))
        let user = ProcessInfo.processInfo.environment["USER"] ?? (getuid() == 0 ? "root" : NSUserName())
        try """
            ListenAddress 127.0.0.1:\(port)
            HostKey \(dir.path)/host_key
            AuthorizedKeysFile \(dir.path)/authorized_keys
            PidFile none
            UsePAM no
            StrictModes no
            PasswordAuthentication no
            KbdInteractiveAuthentication no
            PermitRootLogin prohibit-password
            Subsystem sftp /usr/lib/openssh/sftp-server
            SetEnv PATH=\(remotePath):/usr/local/bin:/usr/bin:/bin
            """.write(to: dir.appendingPathComponent("sshd_config"), atomically: true, encoding: .utf8)
        try """
            Host 127.0.0.1
              User \(user)
              IdentityFile \(dir.path)/user_key
              IdentitiesOnly yes
              UserKnownHostsFile \(dir.path)/known_hosts
              GlobalKnownHostsFile /dev/null
            """.write(to: dir.appendingPathComponent("ssh_config"), atomically: true, encoding: .utf8)
        // As root, sshd needs its privilege-separation folder (the package's service makes it).
        if getuid() == 0 { try FileManager.default.createDirectory(atPath: "/run/sshd", withIntermediateDirectories: true) }
    }

    struct Failure: Error, CustomStringConvertible { let description: String; init(_ d: String) { description = d } }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw Failure("no free loopback port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }

    /// Starts sshd in the foreground and waits until a login works.
    ///
    /// Spawned directly, not with Foundation's Process: Process learns of a child's exit when a
    /// socket the child inherits closes, and tests running beside this one spawn such children;
    /// a long-lived daemon inheriting those sockets would hide their exits. So bash closes every
    /// descriptor above stderr, then becomes sshd; this object reaps it.
    func start() throws {
        let logPath = dir.appendingPathComponent("sshd.log").path
        let script = "exec </dev/null >/dev/null 2>>\"$2\"; for fd in /proc/$$/fd/*; do n=${fd##*/}; [ \"$n\" -gt 2 ] && eval \"exec $n>&-\"; done 2>/dev/null; exec \"$0\" -D -e -f \"$1\""
        let config: String = dir.appendingPathComponent("sshd_config").path
        let words: [String] = ["/bin/bash", "-c", script, Self.program, config, logPath]
        let argv: [UnsafeMutablePointer<CChar>?] = words.map { strdup($0) } + [nil]
        defer { argv.forEach { free($0) } }
        var pid: pid_t = 0
        let spawned = posix_spawn(&pid, "/bin/bash", nil, nil, argv, environ)
        guard spawned == 0 else { throw Failure("cannot start sshd: \(String(cString: strerror(spawned)))") }
        self.pid = pid
        let deadline = Date().addingTimeInterval(10)
        while Date() < deadline {
            let probe = try runCommand(URL(fileURLWithPath: "/usr/bin/ssh"),
                                       ["-F", sshConfig, "-T", "-o", "BatchMode=yes", "-o", "ConnectTimeout=2", "-p", String(port), "127.0.0.1", "true"])
            if probe.status == 0 { return }
            usleep(100_000)
        }
        throw Failure("sshd did not accept a login within 10 s: \(self.log)")
    }

    var log: String { (try? String(contentsOf: dir.appendingPathComponent("sshd.log"), encoding: .utf8)) ?? "" }

    /// sshd's pid and every process below it (its sessions and what they run).
    func processTree() -> [pid_t] {
        guard let root = pid else { return [] }
        var parents: [pid_t: pid_t] = [:]
        for name in (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? [] {
            guard let pid = pid_t(name), let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
                  let close = stat.lastIndex(of: ")") else { continue }
            let fields = stat[stat.index(close, offsetBy: 2)...].split(separator: " ")
            if fields.count > 1, let ppid = pid_t(fields[1]) { parents[pid] = ppid }
        }
        var tree: [pid_t] = [root]
        var changed = true
        while changed {
            changed = false
            for (pid, ppid) in parents where tree.contains(ppid) && !tree.contains(pid) { tree.append(pid); changed = true }
        }
        return tree
    }

    /// Command lines of the processes below sshd.
    func sessionCommands() -> [String] {
        processTree().dropFirst().compactMap { pid in
            (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))).map {
                String(decoding: $0, as: UTF8.self).replacingOccurrences(of: "\0", with: " ")
            }
        }
    }

    /// Kills sshd and everything below it at once (a dropped connection, a device gone).
    func kill() {
        for pid in processTree() { Glibc.kill(pid, SIGKILL) }
        if let pid { var status: Int32 = 0; _ = waitpid(pid, &status, 0) }
        pid = nil
    }

    func stop() {
        kill()
        try? FileManager.default.removeItem(at: dir)
    }

    /// The environment a slmbench run reaching this server needs.
    func environment(devices: String? = nil) -> [String: String] {
        var env = ProcessInfo.processInfo.environment
        env["SLMBENCH_SSH_CONFIG"] = sshConfig
        if let devices { env["SLMBENCH_DEVICES"] = devices }
        return env
    }
}
