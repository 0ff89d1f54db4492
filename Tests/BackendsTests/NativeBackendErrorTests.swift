import Backends
import Foundation
import ModelFormat
import TestSupport
import Testing

/// What the native backend says about a model it cannot load: the file, once, then the reason.
@Suite("native backend load errors")
struct NativeBackendErrorTests {
    func loadError(_ path: String) -> BackendError? {
        do {
            try NativeBackend().load(modelPath: path, options: LoadOptions(threads: 1, context: 16))
            return nil
        } catch { return error }
    }

    @Test func aModelWithInconsistentHyperparametersIsNamedOnce() throws {
        let dir = try TestPaths.temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: dir) }
        let path = dir.appendingPathComponent("heads-zero.gguf").path
        try Data(GGUFFixtures.model(metadata: [("llama.attention.head_count", .uint32(0))])).write(to: URL(fileURLWithPath: path))
        let error = try #require(loadError(path))
        #expect(error.code == "bad-model")
        #expect(error.message.hasPrefix("\(path): inconsistent hyperparameters"), "\(error.message)")
        #expect(error.message.components(separatedBy: path).count == 2, "the path once: \(error.message)")
    }

    @Test func aMissingFileIsNamedOnce() throws {
        let path = "/nonexistent/missing-model.gguf"
        let error = try #require(loadError(path))
        #expect(error.message.components(separatedBy: path).count == 2, "the path once: \(error.message)")
    }
}
