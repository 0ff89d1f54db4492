import DeviceProbe
import Foundation
import Testing

/// The energy collectors on fixture trees (Fixtures/trees/energy-*), the integration of their
/// samples, the heat reader and the throttle rule (issue 25).
@Suite("energy collectors, heat and the sampler", .serialized)
struct EnergyCollectorTests {
    /// A writable copy of a fixture tree in a folder every user can traverse (for the root-only
    /// test, which reads it as `nobody`).
    func copy(_ tree: String) throws -> (SystemFiles, URL) {
        let dir = URL(fileURLWithPath: "/tmp").appendingPathComponent("slmbench-energy-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: dir.path)
        let target = dir.appendingPathComponent(tree)
        try FileManager.default.copyItem(at: Fixture.folder.appendingPathComponent("trees/\(tree)"), to: target)
        return (SystemFiles(root: target.path), dir)
    }

    func write(_ files: SystemFiles, _ path: String, _ text: String) throws {
        try (text + "\n").write(toFile: files.resolve(path), atomically: false, encoding: .utf8)
    }

    func sources(_ files: SystemFiles, vcgencmd: String? = nil, meter: String? = nil) -> EnergyProbe.Sources {
        EnergyProbe.Sources(files: files, meterCommand: meter, vcgencmd: vcgencmd, settleSeconds: 0)
    }

    @Test func intelRAPLDomainsAndACounterWrap() throws {
        let (files, dir) = try copy("energy-intel-rapl")
        defer { try? FileManager.default.removeItem(at: dir) }
        let rapl = try #require(try RAPLCollector(files: files))
        #expect(rapl.domains.map(\.name) == ["package-0", "core", "uncore", "dram", "psys"])
        // Package and DRAM make the total; core and uncore are inside the package; psys would count it twice.
        #expect(rapl.domains.filter(\.inTotal).map(\.name) == ["package-0", "dram"])
        #expect(abs((rapl.domains[0].wrapJoules ?? 0) - 262_143.328850) < 1e-6)
        var acc = EnergyAccumulator(domains: rapl.domains)
        acc.add(time: 0, values: try rapl.read())
        // The package counter passes max_energy_range_uj and starts again from zero.
        let base = "/sys/class/powercap/intel-rapl:0"
        try write(files, "\(base)/energy_uj", "1000000")
        try write(files, "/sys/class/powercap/intel-rapl:0:2/energy_uj", "52500000")
        let total = acc.add(time: 1, values: try rapl.read())
        let expected = (262_143.328850 - 262_143.0) + 1.0 + 2.5
        #expect(abs(total - expected) < 1e-6, "\(total) J, expected \(expected) J")
    }

    @Test func amdHasNoDRAMDomain() throws {
        let rapl = try #require(try RAPLCollector(files: Fixture.tree("energy-amd-rapl")))
        #expect(rapl.domains.map(\.name) == ["package-0", "core"])
        #expect(rapl.domains.filter(\.inTotal).map(\.name) == ["package-0"])
        #expect(!rapl.domains.contains { $0.name == "dram" })
        let probe = EnergyProbe.probe(sources(Fixture.tree("energy-amd-rapl")))
        #expect(probe.collector?.name == "rapl")
        #expect(probe.line == "energy: rapl (package-0; also core; the CPU package, not the wall)", "\(probe.line)")
    }

    @Test func jetsonINA3221RailsAreVoltageTimesCurrent() throws {
        let hwmon = try #require(try HwmonCollector(files: Fixture.tree("energy-jetson-ina3221")))
        #expect(hwmon.domains.map(\.name) == ["VDD_IN", "VDD_CPU_GPU_CV", "VDD_SOC"])
        #expect(hwmon.domains.filter(\.inTotal).map(\.name) == ["VDD_IN"])
        let watts = try hwmon.read()
        #expect(abs(watts[0] - 5.080 * 1.240) < 1e-9 && abs(watts[1] - 5.080 * 0.480) < 1e-9)
        let heat = HeatReader(files: Fixture.tree("energy-jetson-ina3221")).read()
        #expect(heat.tempC == 48.5 && heat.mhz == 1510.4 && heat.throttleBits == nil)
    }

    @Test func raspberryPi5PMICThroughAStandInVcgencmd() throws {
        let tool = Fixture.folder.appendingPathComponent("trees/energy-rpi5/bin/vcgencmd").path
        let pmic = try PiPMICCollector(vcgencmd: tool)
        #expect(pmic.domains.count == 8 && pmic.domains.first?.name == "3V7_WL_SW" && pmic.domains.last?.name == "VDD_CORE")
        let total = try pmic.read().reduce(0, +)
        #expect(abs(total - 3.16801873699516) < 1e-9, "\(total) W")
        let files = Fixture.tree("energy-rpi5")
        let probe = EnergyProbe.probe(sources(files, vcgencmd: tool))
        #expect(probe.collector?.name == "pi5-pmic")
        let heat = HeatReader(files: files, vcgencmd: tool)
        #expect(heat.read().tempC == 62.75 && heat.read().throttleBits == 0)
        #expect(HeatReader.throttleBits("throttled=0x50005") == 0x50005)
    }

    @Test func androidBatteryOnlyWhileDischarging() throws {
        let (files, dir) = try copy("energy-android")
        defer { try? FileManager.default.removeItem(at: dir) }
        let battery = try #require(try BatteryCollector(files: files))
        #expect(abs(try battery.read()[0] - 0.512 * 3.89) < 1e-9)
        try write(files, "/sys/class/power_supply/battery/status", "Charging")
        #expect(throws: EnergyError.self) { try battery.read() }
        let probe = EnergyProbe.probe(sources(files))
        #expect(probe.collector == nil)
        let reason = try #require(probe.entries.first { $0.name == "battery" }?.unavailable)
        #expect(reason.contains("status is Charging") && reason.contains("power_supply/battery/status"), "\(reason)")
    }

    /// A non-root user cannot open the energy counters (mode 0000 here: as the files' owner, 0400
    /// would still be readable). As root every file is readable, and dropping the effective uid
    /// would drop it for every thread of this process, other suites' included; so as root
    /// CLITests runs the same probe as `nobody` through setpriv instead.
    @Test(.enabled(if: geteuid() != 0, "as root, CLITests.rootOnlyEnergyFilesAsNobody checks this as nobody through setpriv"))
    func rootOnlyEnergyFilesAsANonRootUser() throws {
        let (files, dir) = try copy("energy-intel-rapl")
        defer { try? FileManager.default.removeItem(at: dir) }
        for zone in ["intel-rapl:0", "intel-rapl:0:0", "intel-rapl:0:1", "intel-rapl:0:2", "intel-rapl:1"] {
            try FileManager.default.setAttributes([.posixPermissions: 0], ofItemAtPath: files.resolve("/sys/class/powercap/\(zone)/energy_uj"))
        }
        let probe = EnergyProbe.probe(sources(files))
        #expect((try? files.line("/sys/class/powercap/intel-rapl:0/name")) == "package-0")
        let reason = try #require(probe.entries.first { $0.name == "rapl" }?.unavailable)
        #expect(reason.contains("energy_uj is readable by root only"), "\(reason)")
        #expect(probe.collector == nil)
    }

    @Test func anExternalMeterInJoulesOrWattsAndItsBadOutput() throws {
        let joules = try MeterCollector(command: "echo 'meter v2'; echo '12.5 J'")
        #expect(try joules.domains[0].kind == .counter && joules.read() == [12.5])
        let watts = try MeterCollector(command: "echo 3.2 W")
        #expect(try watts.domains[0].kind == .power && watts.read() == [3.2])
        do {
            _ = try MeterCollector(command: "echo hello")
            Issue.record("a meter printing 'hello' was accepted")
        } catch {
            #expect(error.description == "--energy-cmd echo hello: output \"hello\" is not \"<number> J\" (cumulative joules) or \"<number> W\" (watts)")
        }
        do {
            _ = try MeterCollector(command: "exit 3")
            Issue.record("a failing meter was accepted")
        } catch {
            #expect(error.description.hasPrefix("--energy-cmd: /bin/sh exited with status 3"), "\(error)")
        }
        #expect(EnergyProbe.probe(sources(Fixture.tree("energy-none"), meter: "echo 3.2 W")).collector?.name == "meter")
    }

    @Test func aMachineWithoutCollectorsSaysSo() {
        let probe = EnergyProbe.probe(sources(Fixture.tree("energy-none")))
        #expect(probe.collector == nil)
        #expect(probe.line == "energy: not available (no powercap, no hwmon, no meter, no perf power PMU, no vcgencmd, no battery)", "\(probe.line)")
    }

    /// This VM: no powercap, no hwmon. Elsewhere the test has nothing to say.
    @Test(.enabled(if: !FileManager.default.fileExists(atPath: "/sys/class/powercap") && !FileManager.default.fileExists(atPath: "/sys/class/hwmon"),
                   "this machine has powercap or hwmon"))
    func thisVMHasNoEnergyCollector() {
        let probe = EnergyProbe.probe(EnergyProbe.Sources(vcgencmd: nil))
        #expect(probe.line.hasPrefix("energy: not available (no powercap, no hwmon, no meter"), "\(probe.line)")
    }

    @Test func perfEventsAreReadFromTheirSysfsFiles() throws {
        let (files, dir) = try copy("energy-none")
        defer { try? FileManager.default.removeItem(at: dir) }
        let base = "/sys/bus/event_source/devices/power"
        try FileManager.default.createDirectory(atPath: files.resolve("\(base)/events"), withIntermediateDirectories: true)
        try write(files, "\(base)/type", "9")
        try write(files, "\(base)/events/energy-pkg", "event=0x02")
        try write(files, "\(base)/events/energy-pkg.scale", "2.3283064365386962890625e-10")
        try write(files, "\(base)/events/energy-pkg.unit", "Joules")
        let found = try #require(try PerfEnergyCollector.events(files: files))
        #expect(found.type == 9)
        #expect(found.events.map(\.name) == ["pkg"] && found.events.map(\.config) == [2] && found.events.map(\.scale) == [2.3283064365386962890625e-10])
        try write(files, "\(base)/events/energy-pkg", "umask=0x1")
        #expect(throws: EnergyError.self) { try PerfEnergyCollector.events(files: files) }
    }

    @Test func aMalformedSysfsValueNamesItsFile() throws {
        let (files, dir) = try copy("energy-jetson-ina3221")
        defer { try? FileManager.default.removeItem(at: dir) }
        let hwmon = try #require(try HwmonCollector(files: files))
        try write(files, "/sys/class/hwmon/hwmon1/curr1_input", "lots")
        do {
            _ = try hwmon.read()
            Issue.record("a garbage current was read")
        } catch {
            #expect(error.description == "\(files.resolve("/sys/class/hwmon/hwmon1/curr1_input")): curr1_input is not a number (\"lots\")")
        }
    }

    /// P(t) = 5 + 2·sin t W sampled every 0.1 s for 10 s: the trapezoid sum, and a window of the
    /// trace read back by interpolation, are within 1% of the integral.
    @Test func integratingPowerSamplesGivesTheJoulesWithinOnePercent() {
        let domain = EnergyDomain(name: "rail", kind: .power)
        var acc = EnergyAccumulator(domains: [domain])
        var trace = SamplerTrace(collector: "test", scope: .board, domains: [domain], intervalSeconds: 0.1)
        for i in 0...100 {
            let t = Double(i) * 0.1
            trace.times.append(t)
            trace.joules.append(acc.add(time: t, values: [5 + 2 * sin(t)]))
            trace.tempC.append(nil); trace.mhz.append(nil); trace.throttleBits.append(nil)
        }
        func exact(_ a: Double, _ b: Double) -> Double { 5 * (b - a) + 2 * (cos(a) - cos(b)) }
        #expect(abs(acc.joules - exact(0, 10)) / exact(0, 10) < 0.01)
        let window = trace.joules(from: 2.05, to: 7.33)!
        #expect(abs(window - exact(2.05, 7.33)) / exact(2.05, 7.33) < 0.01, "\(window) J vs \(exact(2.05, 7.33)) J")
        // A counter domain read at the same instants gives the same joules exactly.
        var counter = EnergyAccumulator(domains: [EnergyDomain(name: "pkg", kind: .counter, wrapJoules: 20)])
        for i in 0...100 { counter.add(time: Double(i) * 0.1, values: [(exact(0, Double(i) * 0.1)).truncatingRemainder(dividingBy: 20)]) }
        #expect(abs(counter.joules - exact(0, 10)) < 1e-9)
    }

    @Test func aCounterThatDoesNotCountIsNoMeasurement() {
        var trace = SamplerTrace(collector: "perf", scope: .package, domains: [EnergyDomain(name: "psys", kind: .counter)], intervalSeconds: 0.1)
        trace.times = [0, 1, 2]; trace.joules = [0, 0, 0]; trace.tempC = [nil, nil, nil]; trace.mhz = [nil, nil, nil]; trace.throttleBits = [nil, nil, nil]
        #expect(trace.joules(from: 0, to: 2) == nil)
    }

    @Test func throttlingIsAClockDropOrARisenBit() {
        var trace = SamplerTrace(collector: nil, scope: nil, domains: [], intervalSeconds: 1)
        trace.times = (0..<12).map(Double.init)
        trace.joules = Array(repeating: nil, count: 12)
        trace.tempC = Array(repeating: 70, count: 12)
        trace.mhz = [2400, 2400, 2400, 2390, 2400, 2400, 2400, 2200, 2000, 2000, 1990, 2000]
        trace.throttleBits = Array(repeating: nil, count: 12)
        #expect(trace.throttled(from: 0, to: 11) == "clock fell from 2400 to 2000 MHz")
        #expect(trace.throttled(from: 0, to: 5) == nil)
        trace.mhz = Array(repeating: 2400, count: 12)
        trace.throttleBits = [0, 0, 0, 0, 0, 0, 0x4, 0x50004, 0x50004, 0x50000, 0x50000, 0x50000]
        #expect(trace.throttled(from: 0, to: 11) == "throttle bits 0x4 rose")
    }

    @Test func theSamplerThreadRecordsItsOwnCost() {
        let files = Fixture.tree("energy-jetson-ina3221")
        let hwmon = try? HwmonCollector(files: files)
        let sampler = EnergySampler(collector: hwmon ?? nil, heat: HeatReader(files: files), interval: 0.02)
        sampler.start()
        Thread.sleep(forTimeInterval: 0.3)
        let trace = sampler.stop()
        #expect(trace.times.count >= 3)
        #expect(trace.samplerCPUSeconds > 0 && trace.samplerCPUSeconds < trace.durationSeconds)
        // Constant 6.2992 W on VDD_IN over the trace.
        let j = trace.joules(from: trace.times.first!, to: trace.times.last!)!
        #expect(abs(j - 5.080 * 1.240 * trace.durationSeconds) < 1e-6)
        #expect(trace.tempC.allSatisfy { $0 == 48.5 })
    }
}
