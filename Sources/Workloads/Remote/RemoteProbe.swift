import DeviceProbe
import Foundation
import Measures

/// The hardware profile of a device: its own `slmbench probe --json` when slmbench is there,
/// else a read-only shell probe whose output is replayed through the local probe's readers.
public enum RemoteProbe {
    /// Files the shell probe reads (all read-only; missing ones are skipped on the device).
    static let files = [
        "/proc/cpuinfo", "/proc/meminfo", "/proc/self/status", "/proc/self/cgroup", "/proc/sys/kernel/osrelease",
        "/proc/sys/kernel/hostname", "/proc/sys/abi/sve_default_vector_length", "/etc/os-release",
        "/sys/firmware/devicetree/base/model", "/sys/class/dmi/id/product_name", "/sys/class/dmi/id/sys_vendor",
        "/sys/devices/system/cpu/online", "/sys/devices/system/cpu/cpu0/topology/thread_siblings_list",
        "/sys/fs/cgroup/cgroup.controllers", "/sys/fs/cgroup/unified/cgroup.controllers",
    ] + ["scaling_governor", "scaling_driver", "scaling_min_freq", "scaling_max_freq", "scaling_cur_freq",
         "cpuinfo_min_freq", "cpuinfo_max_freq"].map { "/sys/devices/system/cpu/cpu0/cpufreq/" + $0 }

    /// Commands the shell probe runs, by the name its output is filed under.
    static let commands: [(String, String)] = [
        ("uname-m", "uname -m"), ("nprocessors", "getconf _NPROCESSORS_ONLN"),
        ("android-model", "getprop ro.product.model"), ("android-release", "getprop ro.build.version.release"),
        ("android-soc", "getprop ro.board.platform"),
    ]

    static let marker = "@@slmbench-"

    /// The shell probe: a fixed script (no user input in it), every section preceded by a marker line.
    static var script: String {
        var s = "for f in \(files.joined(separator: " ")); do if [ -r \"$f\" ]; then printf '\\n\(marker)file %s\\n' \"$f\"; head -c 1048576 \"$f\" 2>/dev/null; fi; done; "
        s += "cg=$(sed -n 's/^0:://p' /proc/self/cgroup 2>/dev/null); "
        s += "for n in cpu.max memory.max memory.current; do f=\"/sys/fs/cgroup$cg/$n\"; if [ -r \"$f\" ]; then printf '\\n\(marker)file %s\\n' \"$f\"; head -c 4096 \"$f\"; fi; done; "
        for (name, command) in commands {
            let program = command.split(separator: " ")[0]
            s += "if command -v \(program) >/dev/null 2>&1; then printf '\\n\(marker)cmd \(name)\\n'; \(command) 2>/dev/null; fi; "
        }
        return s + "printf '\\n\(marker)end\\n'"
    }

    /// Probes the device. `bandwidth` asks the remote slmbench to measure (the shell probe cannot).
    public static func probe(_ device: Device, bandwidth: Bool = false, progress: (String) -> Void = { _ in }) throws(InputError) -> HardwareProfile {
        let transport = Transport(device)
        if case let .failure(error) = transport.reachable() { throw error }
        progress("probing \(device.name) with \(device.slmbench) probe --json…")
        let own = transport.run([device.slmbench, "probe", "--json", "--name", device.name] + (bandwidth ? ["--bandwidth"] : []),
                                timeout: bandwidth ? 1800 : 120)
        if own.status == 0 {
            do { return try HardwareProfile.decode(own.stdout, path: "\(device.name): slmbench probe --json") } catch {
                throw InputError("\(device.name): the remote slmbench's profile is not usable: \(error)")
            }
        }
        // 127: the shell found no such program; anything else is a real failure of a present slmbench.
        guard own.status == 127 || own.status == 126 else { throw transport.failure(own, doing: "\(device.slmbench) probe --json") }
        progress("\(device.slmbench) is not on \(device.name); reading /proc and /sys there (read-only shell probe)…")
        let shell = transport.run(["sh", "-c", script], timeout: 60)
        guard shell.status == 0 else { throw transport.failure(shell, doing: "the shell probe") }
        return try profile(fromShellOutput: shell.text, device: device)
    }

    /// The profile a shell probe's output gives; unreadable parts are listed as unavailable.
    /// The output is untrusted: only the expected files are written (below a private folder),
    /// each capped, and everything else is parsed by the same readers as a local probe's files.
    public static func profile(fromShellOutput output: String, device: Device) throws(InputError) -> HardwareProfile {
        var fileContents: [String: String] = [:], outputs: [String: String] = [:]
        for section in output.components(separatedBy: "\n" + marker).dropFirst() {
            guard let newline = section.firstIndex(of: "\n") else { continue }
            let head = section[..<newline], body = String(section[section.index(after: newline)...].prefix(1 << 20))
            if head.hasPrefix("file ") {
                let path = String(head.dropFirst(5))
                let cgroup = path.hasPrefix("/sys/fs/cgroup/") && !path.split(separator: "/").contains("..") && !path.contains("\0")
                    && path.count < 1024
                if files.contains(path) || cgroup { fileContents[path] = body }
            } else if head.hasPrefix("cmd ") {
                let name = String(head.dropFirst(4))
                if commands.contains(where: { $0.0 == name }) {
                    outputs[name] = String(body.prefix(256)).trimmingCharacters(in: .whitespacesAndNewlines)
                }
            }
        }
        guard fileContents["/proc/cpuinfo"] != nil || outputs["uname-m"] != nil else {
            throw InputError("\(device.name): the shell probe read nothing (no /proc/cpuinfo, no uname): is this a Linux or Android shell?")
        }
        let root: URL
        do {
            root = FileManager.default.temporaryDirectory.appendingPathComponent("slmbench-remote-probe-\(UUID().uuidString)")
            for (path, text) in fileContents {
                let url = root.appendingPathComponent(String(path.dropFirst()))
                try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
                try Data(text.utf8).write(to: url)
            }
        } catch { throw InputError("cannot write the shell probe's files to a temporary folder: \(error.localizedDescription)") }
        defer { try? FileManager.default.removeItem(at: root) }

        // No hwloc on the device: the topology is synthesised from the CPU counts it reported.
        let online = fileContents["/sys/devices/system/cpu/online"].flatMap { parseCPUList($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
        let processors = fileContents["/proc/cpuinfo"].map { $0.split(separator: "\n").filter { $0.hasPrefix("processor") }.count } ?? 0
        let logical = max(1, min(4096, online?.count ?? (processors > 0 ? processors : Int(outputs["nprocessors"] ?? "") ?? 1)))
        let siblings = fileContents["/sys/devices/system/cpu/cpu0/topology/thread_siblings_list"]
            .flatMap { parseCPUList($0.trimmingCharacters(in: .whitespacesAndNewlines)) }?.count ?? 1
        let perCore = (1...8).contains(siblings) && logical % siblings == 0 ? siblings : 1
        var profile: HardwareProfile
        do {
            profile = try DeviceProbe.probe(ProbeOptions(files: SystemFiles(root: root.path),
                                                         topology: .synthetic("pack:1 core:\(logical / perCore) pu:\(perCore)"),
                                                         name: device.name, producer: "slmbench shell probe"))
        } catch { throw InputError("\(device.name): the shell probe's files could not be read: \(error)") }
        if let arch = outputs["uname-m"], !arch.isEmpty {
            profile.cpu.architecture = arch == "arm64" ? "aarch64" : String(arch.prefix(32))
        }
        profile.system?.hwlocVersion = nil
        if let model = outputs["android-model"], !model.isEmpty {
            profile.system?.os = "Android " + (outputs["android-release"] ?? "")
            if profile.cpu.model == "unknown", let soc = outputs["android-soc"], !soc.isEmpty { profile.cpu.model = "\(model) (\(soc))" }
        }
        let why = "shell probe: slmbench is not on the device"
        profile.unavailable["topology"] = "\(why), and hwloc with it; core and thread counts come from /sys and /proc/cpuinfo"
        if profile.caches.isEmpty { profile.unavailable["caches"] = "\(why); cache sizes need hwloc" }
        profile.unavailable["cpu.kinds"] = "\(why); core kinds need hwloc"
        profile.unavailable["bandwidth"] = "\(why); measured bandwidth and compute need `slmbench probe --bandwidth` on the device"
        profile.notes.append("probed on \(device.address) by the read-only shell probe")
        return profile.refingerprinted()
    }
}
