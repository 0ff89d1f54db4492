import Foundation
import ModelFormat
import Testing

/// Names, `--tensor-type` rules, mix files and the recipes' structure. Whether the recipes pick
/// llama-quantize's types, tensor by tensor, is checked against llama-quantize itself by
/// scripts/check/check-recipes-vs-llamacpp.sh (run by scripts/test.sh).
@Suite("tensor type mixes and recipes")
struct QuantMixTests {
    @Test func namesResolveToTypesOrRecipes() throws {
        #expect(QuantMix(name: "q4_k_m")?.base == .recipe(.q4_K_M))
        #expect(QuantMix(name: "Q5_K_M")?.base == .recipe(.q5_K_M))
        // A name that is also a type's means the type; the recipe takes `recipe:`.
        #expect(QuantMix(name: "q2_k")?.base == .type(.q2_K))
        #expect(QuantMix(name: "recipe:q2_k")?.base == .recipe(.q2_K))
        #expect(QuantMix(name: "iq4_nl")?.base == .type(.iq4_NL))
        #expect(QuantMix(name: "recipe:q4_k_m")?.base == .recipe(.q4_K_M))
        #expect(QuantMix(name: "q4_k_s") == nil)
        for recipe in QuantRecipe.allCases {
            #expect(QuantMix(name: recipe.name)?.base == .recipe(recipe), "\(recipe.name) does not name its recipe")
        }
        #expect(throws: MixError.self) { try QuantMix.named("q9_9") }
        #expect(throws: MixError.self) { try QuantMix.named("mix:") }
    }

    @Test func rulesParseAsLlamaQuantizeDoes() throws {
        let rule = try TensorTypeRule(parsing: "ATTN_V=Q8_0")
        #expect(rule.pattern == "attn_v" && rule.type == .q8_0)
        #expect(rule.matches("blk.7.attn_v.weight"))
        #expect(!rule.matches("blk.7.attn_k.weight"))
        // A regular expression searched anywhere in the name.
        let layer1 = try TensorTypeRule(parsing: #"blk\.1\.ffn=q6_k"#)
        #expect(layer1.matches("blk.1.ffn_down.weight") && !layer1.matches("blk.11.ffn_down.weight"))
        for (bad, mentions) in [("attn_v", "PATTERN=TYPE"), ("=q8_0", "pattern"), ("attn_v=", "missing type"),
                                ("attn_v=q9_9", "q9_9"), ("(=q8_0", "regular expression"), ("attn_v=q8_1", "Q8_1")] {
            #expect { try TensorTypeRule(parsing: bad) } throws: { ($0 as? MixError)?.description.contains(mentions) == true }
        }
    }

    @Test func firstMatchingRuleWins() throws {
        let mix = QuantMix(base: .type(.q4_0), rules: [try TensorTypeRule(parsing: "blk.0.attn_v=q8_0"),
                                                        try TensorTypeRule(parsing: "attn_v=q5_0")])
        let types = mix.assign(MixModel(preset: try #require(ArchitecturePreset.named("tiny")))).types
        #expect(types["blk.0.attn_v.weight"] == .q8_0)
        #expect(types["blk.1.attn_v.weight"] == .q5_0)
        #expect(types["blk.1.attn_k.weight"] == .q4_0)
        #expect(types["blk.1.attn_norm.weight"] == .f32)
    }

    @Test func mixFilesNameTheirBaseAndRules() throws {
        let mix = try QuantMix.parse("# a mix\nbase: q4_k_m\nattn_v=q8_0  ffn_down=q6_k # comment\n\n", file: "m.txt")
        #expect(mix.base == .recipe(.q4_K_M))
        #expect(mix.rules.map(\.description) == ["attn_v=q8_0", "ffn_down=q6_k"])
        #expect(mix.description == "q4_k_m+attn_v=q8_0+ffn_down=q6_k")
        #expect(mix.cacheName.hasPrefix("q4_k_m-mix") && mix.cacheName != QuantMix(base: mix.base).cacheName)
        for (text, mentions) in [("attn_v=q8_0\n", "no `base:"), ("base: q4_0\nbase: q8_0\n", "m.txt:2"),
                                 ("base: q7\n", "m.txt:1"), ("base: q4_0\nattn_v\n", "m.txt:2")] {
            #expect { try QuantMix.parse(text, file: "m.txt") } throws: { ($0 as? MixError)?.description.contains(mentions) == true }
        }
    }

    /// Whatever the recipe, every matrix ends in a type whose blocks fit its rows and 1-D
    /// tensors stay F32; the output head follows llama.cpp's rule (Q8_0 when its rows are not
    /// whole blocks of the default type, Q6_K otherwise, with Q6_K's own fallback).
    @Test(arguments: QuantRecipe.allCases)
    func recipesGiveEveryMatrixAFittingType(recipe: QuantRecipe) throws {
        for presetName in ["smollm2-135m", "mini-smollm3", "tiny-qwen2"] {
            let preset = try #require(ArchitecturePreset.named(presetName))
            let assignment = QuantMix(base: .recipe(recipe)).assign(MixModel(preset: preset))
            for (name, shape) in preset.tensorShapes {
                let type = try #require(assignment.types[name])
                if shape.count == 1 { #expect(type == .f32) } else { #expect(type.rowBytes(shape[0]) != nil, "\(presetName) \(name): \(type)") }
            }
            let head = preset.tiedEmbeddings ? "token_embd.weight" : "output.weight"
            let fits = preset.embedding % (recipe.defaultType.layout?.blockElements ?? 1) == 0
            // (Q6_K itself falls back to Q8_0 on rows that are not whole 256-blocks, as in IQ4_NL at width 576.)
            let expected = fits ? ModelQuantizer.effectiveType(.q6_K, rowLength: preset.embedding) : TensorType.q8_0
            #expect(assignment.types[head] == expected, "\(presetName) \(recipe.name) head: \(String(describing: assignment.types[head]))")
        }
    }

    /// llama.cpp counts attn_v tensors only when its recipe decides them: a rule that sets layer
    /// 0's leaves the "first two" of Q3_K_M to layers 1 and 2.
    @Test func rulesSkipTheRecipesCounters() throws {
        let preset = try #require(ArchitecturePreset.named("mini-smollm3"))
        let plain = QuantMix(base: .recipe(.q3_K_M)).assign(MixModel(preset: preset)).types
        #expect((0..<4).map { plain["blk.\($0).attn_v.weight"] } == [.q5_K, .q5_K, .q4_K, .q4_K])
        let ruled = QuantMix(base: .recipe(.q3_K_M), rules: [try TensorTypeRule(parsing: #"blk\.0\.attn_v=q8_0"#)])
            .assign(MixModel(preset: preset)).types
        #expect((0..<4).map { ruled["blk.\($0).attn_v.weight"] } == [.q8_0, .q5_K, .q5_K, .q4_K])
    }

    @Test func rowsThatAreNotWholeBlocksFallBack() throws {
        let preset = try #require(ArchitecturePreset.named("smollm2-135m")) // 576-wide rows, 1536-wide ffn_down rows
        let assignment = QuantMix(base: .type(.q4_K)).assign(MixModel(preset: preset))
        #expect(assignment.types["blk.0.attn_q.weight"] == .q5_0)
        #expect(assignment.types["blk.0.ffn_down.weight"] == .q4_K)
        #expect(assignment.fallbacks["blk.0.attn_q.weight"]?.chosen == .q4_K)
        #expect(assignment.fallbacks["blk.0.ffn_down.weight"] == nil)
    }
}
