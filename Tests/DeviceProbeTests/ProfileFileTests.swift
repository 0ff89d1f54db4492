import DeviceProbe
import Foundation
import TestSupport
import Testing

@Suite("profile files: library, schema, errors")
struct ProfileFileTests {
    static let hardware = TestPaths.packageRoot.appendingPathComponent("profiles/hardware")
    static var libraryFiles: [URL] {
        ((try? FileManager.default.contentsOfDirectory(at: hardware, includingPropertiesForKeys: nil)) ?? [])
            .filter { $0.pathExtension == "json" }.sorted { $0.path < $1.path }
    }

    @Test func libraryHasTheTargetDevices() {
        let names = Set(Self.libraryFiles.map { $0.deletingPathExtension().lastPathComponent })
        for required in ["raspberry-pi-4", "raspberry-pi-5", "jetson-orin-nano", "snapdragon-8-gen-3-phone", "apple-m2",
                         "apple-m4", "intel-lunar-lake-laptop", "amd-strix-point-laptop", "cloud-x86-vm"] {
            #expect(names.contains(required), "profiles/hardware/\(required).json is missing")
        }
    }

    @Test func everyProfileLoadsAndValidates() throws {
        try #require(!Self.libraryFiles.isEmpty)
        for file in Self.libraryFiles {
            let profile = try HardwareProfile.load(path: file.path)
            if !profile.measured {
                #expect(profile.sources["cpu"] != nil && profile.sources["memory"] != nil, "\(file.lastPathComponent)")
                #expect(profile.probedAt == nil)
            }
        }
    }

    /// The JSON Schema in docs/ is checked by Python's jsonschema, for the library and for a
    /// profile just probed here (so the schema and the encoder cannot drift apart).
    @Test func everyProfileMatchesTheJSONSchema() throws {
        let temp = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: temp) }
        let live = temp.appendingPathComponent("live.json")
        try DeviceProbe.probe().save(to: live.path)
        let script = TestPaths.packageRoot.appendingPathComponent("scripts/check/check-profile-schema.py")
        let result = try runCommand(URL(fileURLWithPath: "/usr/bin/env"), ["python3", script.path] + Self.libraryFiles.map(\.path) + [live.path])
        #expect(result.status == 0, "schema check failed (run scripts/bootstrap.sh if jsonschema is missing):\n\(result.stdout)\(result.stderr)")
        #expect(result.stdout.split(separator: "\n").count == Self.libraryFiles.count + 1)
    }

    @Test func roundTripKeepsEveryField() throws {
        let profile = try DeviceProbe.probe()
        let decoded = try HardwareProfile.decode(try profile.jsonData(), path: "memory")
        #expect(decoded == profile)
    }

    func loadError(_ edit: (inout [String: Any]) -> Void) throws -> HardwareProfile.LoadError? {
        let source = Self.hardware.appendingPathComponent("raspberry-pi-5.json")
        var json = try #require(try JSONSerialization.jsonObject(with: Data(contentsOf: source)) as? [String: Any])
        edit(&json)
        let data = try JSONSerialization.data(withJSONObject: json)
        do { _ = try HardwareProfile.decode(data, path: "edited.json"); return nil } catch { return error }
    }

    @Test func wrongTypeNamesTheField() throws {
        let error = try #require(try loadError { json in
            var cpu = json["cpu"] as! [String: Any]
            cpu["physicalCores"] = "four"
            json["cpu"] = cpu
        })
        #expect(error.path == "edited.json")
        #expect(error.field == "cpu.physicalCores")
    }

    @Test func missingFieldNamesIt() throws {
        let error = try #require(try loadError { $0["memory"] = nil })
        #expect(error.field == "memory")
        #expect(error.description.contains("is missing"))
    }

    @Test func specProfileWithoutSourcesIsRefused() throws {
        let error = try #require(try loadError { json in
            var sources = json["sources"] as! [String: Any]
            sources["economics"] = nil
            json["sources"] = sources
        })
        #expect(error.field == "sources.economics")
    }

    @Test func editedProfileWithStaleFingerprintIsRefused() throws {
        let error = try #require(try loadError { json in
            var memory = json["memory"] as! [String: Any]
            memory["totalBytes"] = 4 << 30
            json["memory"] = memory
        })
        #expect(error.field == "fingerprint")
        #expect(error.description.contains("--update-fingerprint"))
    }

    @Test func unknownFeatureAndFutureVersionAreRefused() throws {
        let feature = try #require(try loadError { json in
            var isa = json["isa"] as! [String: Any]
            isa["features"] = ["neon", "warp-drive"]
            json["isa"] = isa
        })
        #expect(feature.field == "isa.features" && feature.description.contains("warp-drive"))
        let version = try #require(try loadError { $0["schemaVersion"] = 99 })
        #expect(version.field == "schemaVersion")
    }

    @Test func fingerprintIgnoresRunToRunNoise() throws {
        var a = try DeviceProbe.probe()
        var b = a
        b.name = "other-name"
        b.memory.availableBytes = 1
        b.probedAt = "2020-01-01T00:00:00Z"
        #expect(Fingerprint.of(a) == Fingerprint.of(b))
        a.isa.features.append("avx512f")
        #expect(Fingerprint.of(a) != Fingerprint.of(b))
    }
}
