/// Reads what the process may use: cgroup v1/v2 CPU quota and memory limit, `/proc/meminfo`,
/// and the affinity list in `/proc/self/status`.
public struct ResourceLimitsReader: Sendable {
    public let files: SystemFiles

    public init(files: SystemFiles) { self.files = files }

    /// cgroup limits that apply to this process: the tightest along its cgroup's ancestry.
    public struct CgroupLimits: Sendable, Equatable {
        public var version: Int
        /// CPUs' worth of quota (quota ÷ period), nil when unlimited.
        public var cpuQuota: Double?
        public var memoryLimitBytes: Int?
        /// Memory the cgroup already uses (for usable-memory arithmetic).
        public var memoryUsageBytes: Int?
    }

    /// v1 treats any limit at or above this as "no limit" (the kernel reports PAGE_COUNTER_MAX pages).
    static let v1Unlimited = 1 << 62

    /// The cgroup limits, or why none could be read. A cgroup with no limits is a success with nils.
    public func cgroupLimits() throws(ProbeError) -> CgroupLimits {
        let membership = try files.read("/proc/self/cgroup")
        var v2Path: String?
        var v1Paths: [String: String] = [:]
        for line in membership.split(separator: "\n") {
            // hierarchy-id:controller-list:path
            let parts = line.split(separator: ":", maxSplits: 2, omittingEmptySubsequences: false)
            guard parts.count == 3 else {
                throw .malformed(path: files.resolve("/proc/self/cgroup"), field: "line", content: String(line))
            }
            if parts[0] == "0" && parts[1].isEmpty {
                v2Path = String(parts[2])
            } else {
                for controller in parts[1].split(separator: ",") {
                    v1Paths[String(controller)] = String(parts[2])
                }
                v1Paths["[" + parts[1] + "]"] = String(parts[2])
            }
        }
        if files.exists("/sys/fs/cgroup/cgroup.controllers"), let path = v2Path {
            return try v2Limits(mount: "/sys/fs/cgroup", path: path)
        }
        if !v1Paths.isEmpty {
            return try v1Limits(paths: v1Paths)
        }
        if let path = v2Path, files.exists("/sys/fs/cgroup/unified/cgroup.controllers") {
            return try v2Limits(mount: "/sys/fs/cgroup/unified", path: path)
        }
        throw .unsupported("no cgroup v1 controllers or v2 hierarchy found under \(files.resolve("/sys/fs/cgroup"))")
    }

    /// Directories from the process's cgroup up to the mount root. Inside a container without
    /// a cgroup namespace the recorded path does not exist in the mount; the mount root then
    /// stands for the container's own cgroup.
    private func ancestry(mount: String, path: String) -> [String] {
        var dirs: [String] = []
        var components = path.split(separator: "/").map(String.init)
        while true {
            let dir = components.isEmpty ? mount : mount + "/" + components.joined(separator: "/")
            if files.exists(dir) { dirs.append(dir) }
            if components.isEmpty { break }
            components.removeLast()
        }
        return dirs
    }

    private func v2Limits(mount: String, path: String) throws(ProbeError) -> CgroupLimits {
        var limits = CgroupLimits(version: 2)
        for dir in ancestry(mount: mount, path: path) {
            if let text = try? files.line(dir + "/cpu.max") {
                let fields = text.split(separator: " ")
                guard fields.count == 2, let period = Double(fields[1]), period > 0 else {
                    throw .malformed(path: files.resolve(dir + "/cpu.max"), field: "cpu.max", content: text)
                }
                if fields[0] != "max" {
                    guard let quota = Double(fields[0]) else {
                        throw .malformed(path: files.resolve(dir + "/cpu.max"), field: "quota", content: text)
                    }
                    limits.cpuQuota = min(limits.cpuQuota ?? .infinity, quota / period)
                }
            }
            if let text = try? files.line(dir + "/memory.max"), text != "max" {
                guard let bytes = Int(text) else {
                    throw .malformed(path: files.resolve(dir + "/memory.max"), field: "memory.max", content: text)
                }
                limits.memoryLimitBytes = min(limits.memoryLimitBytes ?? .max, bytes)
            }
            if limits.memoryUsageBytes == nil, let usage = try? files.integer(dir + "/memory.current", field: "memory.current") {
                limits.memoryUsageBytes = usage
            }
        }
        return limits
    }

    private func v1Mount(for controller: String, paths: [String: String]) -> (mount: String, path: String)? {
        guard let path = paths[controller] else { return nil }
        // Controllers are often co-mounted ("cpu,cpuacct"); try the combined name first.
        let combined = paths.keys.filter { $0.hasPrefix("[") && $0.contains(controller) }
            .map { String($0.dropFirst().dropLast()) }
        for name in combined + [controller] where files.exists("/sys/fs/cgroup/" + name) {
            return ("/sys/fs/cgroup/" + name, path)
        }
        return nil
    }

    private func v1Limits(paths: [String: String]) throws(ProbeError) -> CgroupLimits {
        var limits = CgroupLimits(version: 1)
        if let (mount, path) = v1Mount(for: "cpu", paths: paths) {
            for dir in ancestry(mount: mount, path: path) {
                guard let quota = try? files.integer(dir + "/cpu.cfs_quota_us", field: "cpu.cfs_quota_us"),
                      quota > 0 else { continue }
                let period = try files.integer(dir + "/cpu.cfs_period_us", field: "cpu.cfs_period_us")
                guard period > 0 else {
                    throw .malformed(path: files.resolve(dir + "/cpu.cfs_period_us"), field: "period", content: "\(period)")
                }
                limits.cpuQuota = min(limits.cpuQuota ?? .infinity, Double(quota) / Double(period))
            }
        }
        if let (mount, path) = v1Mount(for: "memory", paths: paths) {
            for dir in ancestry(mount: mount, path: path) {
                if let bytes = try? files.integer(dir + "/memory.limit_in_bytes", field: "memory.limit_in_bytes"),
                   bytes > 0, bytes < Self.v1Unlimited {
                    limits.memoryLimitBytes = min(limits.memoryLimitBytes ?? .max, bytes)
                }
                if limits.memoryUsageBytes == nil,
                   let usage = try? files.integer(dir + "/memory.usage_in_bytes", field: "memory.usage_in_bytes") {
                    limits.memoryUsageBytes = usage
                }
            }
        }
        return limits
    }

    /// MemTotal and MemAvailable from `/proc/meminfo`, in bytes.
    public func meminfo() throws(ProbeError) -> (total: Int, available: Int?) {
        let path = "/proc/meminfo"
        let text = try files.read(path)
        var values: [String: Int] = [:]
        for line in text.split(separator: "\n") {
            let parts = line.split(separator: " ", omittingEmptySubsequences: true)
            guard parts.count >= 2, parts[0].hasSuffix(":"), let value = Int(parts[1]) else { continue }
            let unit = parts.count > 2 && parts[2] == "kB" ? 1024 : 1
            values[String(parts[0].dropLast())] = value * unit
        }
        guard let total = values["MemTotal"], total > 0 else {
            throw .malformed(path: files.resolve(path), field: "MemTotal", content: String(text.prefix(80)))
        }
        return (total, values["MemAvailable"])
    }

    /// `Cpus_allowed_list` of `/proc/self/status`.
    public func statusAffinity() throws(ProbeError) -> [Int] {
        let path = "/proc/self/status"
        let text = try files.read(path)
        for line in text.split(separator: "\n") where line.hasPrefix("Cpus_allowed_list:") {
            let value = line.dropFirst("Cpus_allowed_list:".count).trimmingWhitespace()
            guard let cpus = parseCPUList(value), !cpus.isEmpty else {
                throw .malformed(path: files.resolve(path), field: "Cpus_allowed_list", content: value)
            }
            return cpus
        }
        throw .malformed(path: files.resolve(path), field: "Cpus_allowed_list", content: "(missing)")
    }

    /// CPUs a run can keep busy: affinity, lowered by the quota (whole CPUs, at least one).
    public static func usableCPUs(affinity: Int, quota: Double?) -> Int {
        guard let quota else { return max(1, affinity) }
        // A tiny tolerance so a 2.0 quota read as 1.9999… still counts 2.
        return max(1, min(affinity, Int((quota + 1e-6).rounded(.down))))
    }

    /// Memory a run may allocate: available memory, lowered by the cgroup's remaining headroom.
    public static func usableMemory(available: Int?, limit: Int?, usage: Int?) -> Int? {
        guard let limit else { return available }
        let headroom = max(0, limit - (usage ?? 0))
        return available.map { min($0, headroom) } ?? headroom
    }
}

/// Reads cpufreq state for CPU 0.
public struct FrequencyReader: Sendable {
    public let files: SystemFiles
    public init(files: SystemFiles) { self.files = files }

    public func read() throws(ProbeError) -> HardwareProfile.Frequency {
        let dir = "/sys/devices/system/cpu/cpu0/cpufreq"
        guard files.exists(dir) else {
            throw .unsupported("\(files.resolve(dir)) does not exist (no cpufreq driver; common in virtual machines)")
        }
        func mhz(_ name: String) -> Int? {
            (try? files.integer(dir + "/" + name, field: name)).map { $0 / 1000 }
        }
        return .init(
            governor: try? files.line(dir + "/scaling_governor"),
            driver: try? files.line(dir + "/scaling_driver"),
            minMHz: mhz("scaling_min_freq") ?? mhz("cpuinfo_min_freq"),
            maxMHz: mhz("scaling_max_freq") ?? mhz("cpuinfo_max_freq"),
            currentMHz: mhz("scaling_cur_freq"))
    }
}

/// Reads OS name, kernel release, host name and virtualisation hints.
public struct SystemInfoReader: Sendable {
    public let files: SystemFiles
    public init(files: SystemFiles) { self.files = files }

    /// `cpuidVendor` is the live CPU's hypervisor signature (nil when reading a captured tree).
    public func read(cpuFlags: Set<String>, cpuidVendor: String? = nil) -> HardwareProfile.System {
        var os: String?
        if let text = try? files.read("/etc/os-release") {
            for line in text.split(separator: "\n") where line.hasPrefix("PRETTY_NAME=") {
                os = String(line.dropFirst("PRETTY_NAME=".count)).trimmingCharacters(in: "\"")
            }
        }
        var virtualization: String?
        if cpuFlags.contains("hypervisor") {
            let product = (try? files.line("/sys/class/dmi/id/product_name")) ?? ""
            let vendor = (try? files.line("/sys/class/dmi/id/sys_vendor")) ?? ""
            let named = [vendor, product].filter { !$0.isEmpty }.joined(separator: " ")
            virtualization = !named.isEmpty ? named
                : cpuidVendor.map(Self.hypervisorName) ?? "hypervisor (vendor unknown)"
        }
        return .init(
            os: os,
            kernel: try? files.line("/proc/sys/kernel/osrelease"),
            hostname: try? files.line("/proc/sys/kernel/hostname"),
            virtualization: virtualization,
            hwlocVersion: HwlocTopology.runtimeVersion)
    }

    /// Readable names for CPUID hypervisor signatures.
    static func hypervisorName(_ signature: String) -> String {
        switch signature {
        case "KVMKVMKVM": return "KVM"
        case "Microsoft Hv": return "Hyper-V"
        case "VMwareVMware": return "VMware"
        case "XenVMMXenVMM": return "Xen"
        case "TCGTCGTCGTCG": return "QEMU (TCG)"
        case "VBoxVBoxVBox": return "VirtualBox"
        case "ACRNACRNACRN": return "ACRN"
        default: return signature
        }
    }
}

extension String {
    func trimmingCharacters(in set: String) -> String {
        var s = Substring(self)
        while let first = s.first, set.contains(first) { s = s.dropFirst() }
        while let last = s.last, set.contains(last) { s = s.dropLast() }
        return String(s)
    }
}
