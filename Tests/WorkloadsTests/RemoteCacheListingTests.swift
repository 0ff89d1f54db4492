import Foundation
import Measures
import Testing
@testable import Workloads

/// What a device prints when its model cache is listed is untrusted input: each line must be
/// `<bytes> <mtime> <cache>/<file>`, and anything else is a one-line error naming the device.
@Suite("remote model cache listing")
struct RemoteCacheListingTests {
    let sha = String(repeating: "0f", count: 32)

    @Test func aListingGivesEntriesAndTheirSHA256() throws {
        let text = "2048 1764806400 /c/\(sha).gguf\n5 1764806500 /c/\(sha).gguf.partial-1a2b3c4d\n7 1764806600 /c/notes with spaces.txt\n"
        let entries = try RemoteSession.parseCacheListing(text, cache: "/c", device: "pi5")
        #expect(entries.map(\.bytes) == [2048, 5, 7])
        #expect(entries[0].sha256 == sha && entries[0].modified == 1_764_806_400)
        #expect(entries[1].sha256 == nil && entries[2].sha256 == nil)
        #expect(entries[2].path == "/c/notes with spaces.txt")
        #expect(try RemoteSession.parseCacheListing("", cache: "/c", device: "pi5").isEmpty)
    }

    @Test(arguments: ["lots 1 /c/x.gguf", "-1 1 /c/x.gguf", "12 1 /etc/passwd", "12 1 /c/../x", "12 1 /c/sub/x.gguf", "12\n", "garbage"])
    func aHostileLineIsRefusedWithTheDevicesName(_ line: String) {
        #expect(throws: InputError.self) { try RemoteSession.parseCacheListing(line, cache: "/c", device: "pi5") }
        do { _ = try RemoteSession.parseCacheListing(line, cache: "/c", device: "pi5") } catch {
            #expect(error.description.hasPrefix("pi5: listing /c printed "), "\(error)")
        }
    }
}
