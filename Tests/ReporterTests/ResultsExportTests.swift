import Foundation
import Measures
import Reporter
import ResultStore
import TestSupport
import Testing

@Suite("results export")
struct ResultsExportTests {
    func run(_ key: String, seq: Int, model: String = "m", threads: Int = 1, avg: Double = 10) -> StoredRun {
        StoredRunFixtures.run(key, seq: seq, model: model, threads: threads, avg: avg)
    }

    @Test func csvAndJSONUseLlamaBenchNames() throws {
        let csv = ResultsExport.csv([run("a", seq: 0)])
        let header = csv.split(separator: "\n")[0].split(separator: ",").map(String.init)
        for name in ["model_type", "model_size", "model_n_params", "n_threads", "n_prompt", "n_gen", "avg_ts", "stddev_ts", "samples_ts"] {
            #expect(header.contains(name), "\(name) missing from \(header)")
        }
        let json = try #require(try JSONSerialization.jsonObject(with: ResultsExport.json([run("a", seq: 0)], full: false)) as? [[String: Any]])
        #expect(json.first?["samples_ts"] as? [Double] == [9, 10, 11])
        #expect(json.first?["n_threads"] as? Int == 1)
    }
}
