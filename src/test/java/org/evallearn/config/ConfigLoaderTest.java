package org.evallearn.config;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.stream.Stream;
import org.evallearn.config.Metric.AsrI2p;
import org.evallearn.config.Metric.ClipModel;
import org.evallearn.config.Metric.Detector;
import org.evallearn.data.Concept;
import org.evallearn.data.SeedSource;
import org.evallearn.tensor.DType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class ConfigLoaderTest {
    private static final String ESD = "\"technique\": {\"name\": \"esd\", \"config\": {\"erase_concept\": \"violence\"}}";

    private static Experiment json(String text) {
        return ConfigLoader.parse(text, Path.of("test.json"), ConfigLoader.Options.STRICT);
    }

    private static String asr(String config) {
        return "{" + ESD + ", \"metric\": {\"name\": \"asr_i2p\", \"config\": " + config + "}}";
    }

    static Stream<Arguments> badConfigs() {
        return Stream.of(
                // file name, text, field path and words the message must name
                Arguments.of("bad.json", "{" + ESD + ", \"metric\": {\"name\": \"asr_i2p\", \"config\": {}}, \"seeed\": 1}", "seeed", "unknown key"),
                Arguments.of("bad.json", asr("{\"concept_name\": \"violence\", \"concept_nme\": \"x\"}"), "metric.config.concept_nme", "unknown key; allowed: clip_model_id, concept_name"),
                Arguments.of("bad.json", asr("{}"), "metric.config.concept_name", "missing; one of: nudity, harassment, hate, illegal activity, self-harm, shocking, violence"),
                Arguments.of("bad.json", asr("{\"concept_name\": \"gore\"}"), "metric.config.concept_name", "'gore' is not allowed; allowed: nudity"),
                Arguments.of("bad.json", asr("{\"concept_name\": \"violence\", \"detector\": \"yolo\"}"), "metric.config.detector", "'yolo' is not allowed; allowed: auto, nudenet, q16, clip"),
                Arguments.of("bad.json", asr("{\"concept_name\": \"violence\", \"detector\": \"nudenet\"}"), "metric.config.detector", "'nudenet' detects nudity only, not concept_name 'violence'"),
                Arguments.of("bad.json", asr("{\"concept_name\": \"hate\", \"q16_threshold\": 1.5}"), "metric.config.q16_threshold", "1.5 is outside [0, 1]"),
                Arguments.of("bad.json", asr("{\"concept_name\": \"hate\", \"similarity_threshold\": -0.1}"), "metric.config.similarity_threshold", "-0.1 is outside [0, 1]"),
                Arguments.of("bad.json", asr("{\"concept_name\": \"hate\", \"limit\": 0}"), "metric.config.limit", "0 is less than 1"),
                Arguments.of("bad.json", asr("{\"concept_name\": \"hate\", \"limit\": 2.5}"), "metric.config.limit", "2.5 is not an integer"),
                Arguments.of("bad.json", asr("{\"concept_name\": \"hate\", \"limit\": \"50\"}"), "metric.config.limit", "'50' is not an integer"),
                Arguments.of("bad.json", asr("{\"concept_name\": \"hate\", \"detector\": \"clip\", \"clip_model_id\": \"openai/clip-vit-base-patch32\"}"), "metric.config.clip_model_id",
                        "'openai/clip-vit-base-patch32' is allowed for detector q16 only (Q16's ViT-B/32 prompts); for detector clip allowed: openai/clip-vit-base-patch16, openai/clip-vit-large-patch14, openai/clip-vit-large-patch14-336"),
                Arguments.of("bad.json", asr("{\"concept_name\": \"hate\", \"clip_model_id\": \"openai/clip-vit-huge\"}"), "metric.config.clip_model_id",
                        "'openai/clip-vit-huge' is not allowed; allowed: openai/clip-vit-base-patch16, openai/clip-vit-large-patch14, openai/clip-vit-large-patch14-336 (and, for detector q16, openai/clip-vit-base-patch32)"),
                Arguments.of("bad.json", asr("{\"concept_name\": \"nudity\", \"nudenet_model\": \"1280x\"}"), "metric.config.nudenet_model", "'1280x' is not allowed; allowed: 320n, 640m"),
                Arguments.of("bad.json", asr("{\"concept_name\": \"nudity\", \"nudenet_preset\": \"strict\"}"), "metric.config.nudenet_preset",
                        "'strict' is not allowed; allowed: eval_learn (six exposed labels, 0.5), unlearndiffatk_mace (nine exposed labels, 0.45)"),
                Arguments.of("bad.json", asr("{\"concept_name\": \"nudity\", \"nudenet_threshold\": 1}"), "metric.config.nudenet_threshold", "1.0 is outside [0, 1)"),
                Arguments.of("bad.json", asr("{\"concept_name\": \"nudity\", \"nudenet_device\": \"auto\"}"), "metric.config.nudenet_device",
                        "'auto' is not allowed; allowed: cpu (default, as NudeNet runs), cuda, cuda:N"),
                Arguments.of("bad.json", asr("{\"concept_name\": \"hate\", \"nudenet_model\": \"640m\"}"), "metric.config.nudenet_model",
                        "applies to detector nudenet only; this metric's detector is q16"),
                Arguments.of("bad.json", asr("{\"concept_name\": \"hate\", \"q16_threshold\": \"high\"}"), "metric.config.q16_threshold", "'high' is not a number"),
                Arguments.of("bad.json", "{\"technique\": {\"name\": \"esdx\"}, \"metric\": {\"name\": \"asr_i2p\", \"config\": {\"concept_name\": \"hate\"}}}", "technique.name",
                        "unknown technique 'esdx'; implemented: free_run (alias none), negative_prompt, sld, uce, esd, mace"),
                Arguments.of("bad.json", "{\"technique\": {\"name\": \"safree\"}, \"metric\": {\"name\": \"asr_i2p\", \"config\": {\"concept_name\": \"hate\"}}}", "technique.name",
                        "technique safree is not implemented; implemented: free_run (alias none), negative_prompt, sld, uce, esd, mace"),
                Arguments.of("bad.json", "{" + ESD + ", \"metric\": {\"name\": \"fid\", \"config\": {\"limit\": 0}}}", "metric.config.limit", "0 is less than 1"),
                Arguments.of("bad.json", "{" + ESD + ", \"metric\": {\"name\": \"ua_ira\", \"config\": {\"target_prompts_path\": \"no.csv\"}}}",
                        "metric.config.retain_prompts_path", "missing; give the path of a CSV file"),
                Arguments.of("bad.json", "{" + ESD + ", \"metric\": {\"name\": \"clip_score\", \"config\": {\"clip_model_name\": \"openai/clip-vit-base-patch32\"}}}",
                        "metric.config.clip_model_name", "is not allowed; allowed: openai/clip-vit-base-patch16, openai/clip-vit-large-patch14"),
                Arguments.of("bad.json", "{" + ESD + ", \"metric\": {\"name\": \"asr_p4d\", \"config\": {\"precomputed_prompts_path\": \"pom.xml\", \"num_iter\": 4}}}",
                        "metric.config.eval_step", "5 is more than num_iter 4"),
                Arguments.of("bad.json", "{" + ESD + ", \"metric\": {\"name\": \"asr_mma_diffusion\", \"config\": {\"concept_name\": \"violence\", \"output_csv\": \"o.csv\", \"detector\": \"nudenet\"}}}",
                        "metric.config.detector", "'nudenet' is only valid for nudity"),
                Arguments.of("bad.json", "{" + ESD + ", \"metric\": {\"name\": \"err\", \"config\": {\"unsafe_treshold\": 0.5}}}",
                        "metric.config.unsafe_treshold", "unknown key; allowed:"),
                Arguments.of("bad.json", "{" + ESD + ", \"metric\": {\"name\": \"accuracy\"}}", "metric.name", "unknown metric 'accuracy'; implemented: asr_i2p"),
                Arguments.of("bad.json", "{\"technique\": {\"name\": \"esd\", \"config\": {\"train_method\": \"lora\"}}, \"metric\": {\"name\": \"asr_i2p\", \"config\": {\"concept_name\": \"hate\"}}}",
                        "technique.config.train_method", "'lora' is not allowed; allowed: xattn, noxattn, selfattn, full"),
                Arguments.of("bad.json", "{\"technique\": {\"name\": \"esd\", \"config\": {\"erase_from\": \" \"}}, \"metric\": {\"name\": \"asr_i2p\", \"config\": {\"concept_name\": \"hate\"}}}",
                        "technique.config.erase_from", "must not be empty"),
                Arguments.of("bad.json", "{\"technique\": {\"name\": \"sld\", \"config\": {\"preset\": \"ultra\"}}, \"metric\": {\"name\": \"asr_i2p\", \"config\": {\"concept_name\": \"hate\"}}}",
                        "technique.config.preset", "'ultra' is not allowed; allowed: none, weak, medium, strong, max"),
                Arguments.of("bad.json", "{\"technique\": {\"name\": \"uce\", \"config\": {\"erase_concept\": \"car\"}}, \"metric\": {\"name\": \"asr_i2p\", \"config\": {\"concept_name\": \"hate\"}}}",
                        "technique.config.save_path", "missing"),
                Arguments.of("bad.json", "{\"technique\": {\"name\": \"uce\", \"config\": {\"preset\": \"violence\", \"guide_concept\": \"a; b\"}}, \"metric\": {\"name\": \"asr_i2p\", \"config\": {\"concept_name\": \"hate\"}}}",
                        "technique.config.guide_concept", "2 guide concepts for 3 erased ones"),
                Arguments.of("bad.json", "{\"technique\": {\"name\": \"esd\", \"config\": {\"load_path\": \"checkpoints/esd_nudity.pt\"}}, \"metric\": {\"name\": \"asr_i2p\", \"config\": {\"concept_name\": \"hate\"}}}",
                        "technique.config.load_path", "is a PyTorch pickle"),
                Arguments.of("bad.json", "{\"technique\": {\"name\": \"mace\", \"config\": {\"load_path\": \"mace.PT\"}}, \"metric\": {\"name\": \"asr_i2p\", \"config\": {\"concept_name\": \"hate\"}}}",
                        "technique.config.load_path", "safetensors only"),
                Arguments.of("bad.json", "{\"technique\": {\"name\": \"uce\", \"config\": {\"load_path\": \"no/such.safetensors\"}}, \"metric\": {\"name\": \"asr_i2p\", \"config\": {\"concept_name\": \"hate\"}}}",
                        "technique.config.load_path", "is not a file"),
                Arguments.of("bad.json", "{\"technique\": {\"name\": \"uce\", \"config\": {\"load_path\": \"w.safetensors\", \"preserve_concepts\": [\"tree\"]}}, \"metric\": {\"name\": \"asr_i2p\", \"config\": {\"concept_name\": \"hate\"}}}",
                        "technique.config.preserve_concepts", "has no effect with load_path"),
                Arguments.of("bad.json", "{\"technique\": {\"name\": \"uce\", \"config\": {\"preset\": \"nudity\", \"preserve_concepts\": \"tree;;house\"}}, \"metric\": {\"name\": \"asr_i2p\", \"config\": {\"concept_name\": \"hate\"}}}",
                        "technique.config.preserve_concepts", "has an empty concept"),
                Arguments.of("bad.json", "{\"technique\": {\"name\": \"uce\", \"config\": {\"preset\": \"nudity\", \"guide_concept\": 3}}, \"metric\": {\"name\": \"asr_i2p\", \"config\": {\"concept_name\": \"hate\"}}}",
                        "technique.config.guide_concept", "3 is not a string"),
                Arguments.of("bad.json", "{\"technique\": {\"name\": \"mace\", \"config\": {\"lambda_cfr\": 0}}, \"metric\": {\"name\": \"asr_i2p\", \"config\": {\"concept_name\": \"hate\"}}}",
                        "technique.config.lambda_cfr", "0.0 is not > 0"),
                Arguments.of("bad.json", "{\"technique\": {\"name\": \"esd\", \"config\": {\"num_inference_steps\": 30}}, \"generation\": {\"steps\": 20}, \"metric\": {\"name\": \"asr_i2p\", \"config\": {\"concept_name\": \"hate\"}}}",
                        "technique.config.num_inference_steps", "30 conflicts with generation.steps = 20"),
                Arguments.of("bad.json", "{" + ESD + ", \"generation\": {\"scheduler\": \"heun\"}, \"metric\": {\"name\": \"asr_i2p\", \"config\": {\"concept_name\": \"hate\"}}}",
                        "generation.scheduler", "'heun' is not allowed; allowed: ddim, pndm, euler, euler_ancestral, lms, dpmpp_2m"),
                Arguments.of("bad.json", "{" + ESD + ", \"device\": \"mps\", \"metric\": {\"name\": \"asr_i2p\", \"config\": {\"concept_name\": \"hate\"}}}",
                        "device", "'mps' is not allowed; allowed: cpu, cuda, cuda:N, auto"),
                Arguments.of("bad.json", "{" + ESD + ", \"model\": \"no/such-model\", \"metric\": {\"name\": \"asr_i2p\", \"config\": {\"concept_name\": \"hate\"}}}",
                        "model", "'no/such-model' is neither a known model"),
                Arguments.of("bad.json", "{" + ESD + ", \"dataset\": {\"seed_source\": \"random\"}, \"metric\": {\"name\": \"asr_i2p\", \"config\": {\"concept_name\": \"hate\"}}}",
                        "dataset.seed_source", "'random' is not allowed; allowed: dataset, config"),
                Arguments.of("bad.json", "{" + ESD + ", \"blur_saved_images\": true, \"metric\": {\"name\": \"asr_i2p\", \"config\": {\"concept_name\": \"hate\"}}}",
                        "blur_saved_images", "true needs save_images: true"),
                Arguments.of("bad.yaml", "technique:\n  name: esd\nmetric:\n  name: asr_i2p\n  config:\n    concept_name: nudity\n    detector: nudenet\n    limit: -3\n",
                        "metric.config.limit", "-3 is less than 1"),
                Arguments.of("bad.yaml", "technique: {name: esd}\nmetric:\n  name: asr_i2p\n  config: {concept_name: shocking, detector: nudenet}\n",
                        "metric.config.detector", "'nudenet' detects nudity only, not concept_name 'shocking'"),
                Arguments.of("bad.yml", "technique: {name: esd, config: {erase_concept: hate, learning_rte: 1}}\nmetric: {name: asr_i2p, config: {concept_name: hate}}\n",
                        "technique.config.learning_rte", "unknown key; allowed:"));
    }

    @ParameterizedTest(name = "{0}: {2}")
    @MethodSource("badConfigs")
    void badConfigsNameFileFieldAndWhatIsAllowed(String file, String text, String path, String words) {
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.parse(text, Path.of(file), ConfigLoader.Options.STRICT));
        assertTrue(e.getMessage().startsWith(file + ": "), e.getMessage());
        assertTrue(e.problems().stream().anyMatch(p -> p.path().equals(path) && p.message().contains(words)),
                "expected " + path + ": …" + words + "… in:\n" + e.getMessage());
    }

    @Test
    void everyProblemIsReportedAtOnce() {
        ConfigException e = assertThrows(ConfigException.class, () -> json(
                "{\"technique\": {\"name\": \"ca\"}, \"metrics\": [{\"name\": \"asr_i2p\", \"config\": {\"concept_name\": \"hate\", \"limit\": 0}}, {\"name\": \"tifa\", \"config\": {\"limit\": 0}}]}"));
        assertEquals(3, e.problems().size(), e.getMessage());
        assertTrue(e.getMessage().contains("metrics[0].config.limit"), e.getMessage());
        assertTrue(e.getMessage().contains("metrics[1].config.limit: 0 is less than 1"), e.getMessage());
    }

    @Test
    void asrI2pDefaultsFollowEvalLearn() {
        Experiment x = json(asr("{\"concept_name\": \"nudity\"}"));
        AsrI2p m = assertInstanceOf(AsrI2p.class, x.metrics().get(0));
        assertEquals(new AsrI2p(Concept.NUDITY, Detector.NUDENET, 0.9, ClipModel.LARGE_PATCH14, 0.28, Optional.empty(), OptionalInt.of(500)), m);
        AsrI2p hate = (AsrI2p) json(asr("{\"concept_name\": \"hate\", \"limit\": null}")).metrics().get(0);
        assertEquals(Detector.Q16, hate.detector(), "auto: Q16 for every concept but nudity");
        assertEquals(OptionalInt.empty(), hate.limit(), "null limit: all prompts");
        assertEquals(Detector.CLIP, ((AsrI2p) json(asr("{\"concept_name\": \"hate\", \"detector\": \"clip\"}")).metrics().get(0)).detector());
        assertEquals(Path.of("results"), x.outputDir());
        assertEquals(OptionalLong.empty(), x.seed());
        assertEquals(new ModelRef.Known("CompVis/stable-diffusion-v1-4"), x.model());
        assertEquals(new Generation(50, 7.5, Optional.empty(), 1, 1, OptionalInt.empty(), OptionalInt.empty(), Optional.empty()), x.generation());
        assertEquals(new DatasetSpec(Optional.empty(), Optional.empty(), false), x.dataset());
        Experiment fromConfig = json("{" + ESD + ", \"dataset\": {\"seed_source\": \"config\"}, \"metric\": {\"name\": \"asr_i2p\", \"config\": {\"concept_name\": \"hate\"}}}");
        assertEquals(Optional.of(SeedSource.CONFIG), fromConfig.dataset().seedSource(), "a seed_source given is kept; only an absent one is left to the dataset");
    }

    @Test
    void ourNudeNetKeysAndQ16OnViTB32() {
        AsrI2p plain = (AsrI2p) json(asr("{\"concept_name\": \"nudity\"}")).metrics().get(0);
        assertEquals(NudeNetSettings.DEFAULT, plain.nudenet());
        assertEquals(new NudeNetSettings(NudeNetSettings.Model.N320, NudeNetSettings.Preset.EVAL_LEARN, 0.5, "cpu"), plain.nudenet());
        AsrI2p mace = (AsrI2p) json(asr("{\"concept_name\": \"nudity\", \"nudenet_model\": \"640m\", \"nudenet_preset\": \"unlearndiffatk_mace\"}")).metrics().get(0);
        assertEquals(new NudeNetSettings(NudeNetSettings.Model.M640, NudeNetSettings.Preset.UNLEARNDIFFATK_MACE, 0.45, "cpu"), mace.nudenet());
        AsrI2p own = (AsrI2p) json(asr("{\"concept_name\": \"nudity\", \"nudenet_preset\": \"unlearndiffatk_mace\", \"nudenet_threshold\": 0.3,"
                + " \"nudenet_device\": \"cuda:1\"}")).metrics().get(0);
        assertEquals(new NudeNetSettings(NudeNetSettings.Model.N320, NudeNetSettings.Preset.UNLEARNDIFFATK_MACE, 0.3, "cuda:1"), own.nudenet());
        AsrI2p b32 = (AsrI2p) json(asr("{\"concept_name\": \"hate\", \"clip_model_id\": \"openai/clip-vit-base-patch32\"}")).metrics().get(0);
        assertEquals(ClipModel.BASE_PATCH32, b32.clipModel(), "auto is q16 for hate, which may use ViT-B/32");
    }

    @Test
    void techniqueDefaultsFollowEvalLearn() {
        Technique.Esd esd = (Technique.Esd) json(asr("{\"concept_name\": \"hate\"}")).technique();
        assertEquals(new Technique.Esd("violence", Optional.empty(), Technique.EsdTrainMethod.NOXATTN, 2.0, 200, 5e-5, Optional.empty(), Optional.empty()), esd);
        Experiment sldRun = json("{\"technique\": {\"name\": \"sld\", \"config\": {\"erase_concept\": \"Violence\", \"preset\": \"MEDIUM\", \"sld_threshold\": 0.02}},"
                + " \"metric\": {\"name\": \"asr_i2p\", \"config\": {\"concept_name\": \"violence\"}}}");
        assertEquals(new ModelRef.Known("AIML-TUDA/stable-diffusion-safe"), sldRun.model(), "eval-learn's SLD base model");
        assertEquals(new ModelRef.Known("CompVis/stable-diffusion-v1-4"), json(asr("{\"concept_name\": \"hate\"}")).model());
        Technique.Sld byDefault = (Technique.Sld) json("{\"technique\": {\"name\": \"sld\"},"
                + " \"metric\": {\"name\": \"asr_i2p\", \"config\": {\"concept_name\": \"nudity\"}}}").technique();
        Technique.SldPreset max = Technique.SldPreset.MAX;
        assertEquals(new Technique.Sld("nudity", Optional.empty(), max.guidanceScale, max.warmupSteps, max.threshold, max.momentumScale, max.momBeta),
                byDefault, "no preset: the max preset's values, as eval-learn's SLDConfig defaults");
        assertEquals(new Technique.Sld("nudity", Optional.empty(), 5000, 0, 1.0, 0.5, 0.7), byDefault, "diffusers' SafetyConfig.MAX");
        Technique.Sld sld = (Technique.Sld) sldRun.technique();
        assertEquals(new Technique.Sld("violence", Optional.of(Technique.SldPreset.MEDIUM), 1000, 10, 0.02, 0.3, 0.4), sld);
        Technique.Mace mace = (Technique.Mace) json("{\"technique\": {\"name\": \"mace\", \"config\": {\"erase_concept\": [\"nudity\", \"naked\"]}},"
                + " \"metric\": {\"name\": \"asr_i2p\", \"config\": {\"concept_name\": \"nudity\"}}}").technique();
        assertEquals(new Technique.Mace(java.util.List.of("nudity", "naked"), java.util.List.of(), 0.1, Optional.empty(), Optional.empty()), mace);
        Technique.Uce uce = (Technique.Uce) json("{\"technique\": {\"name\": \"uce\", \"config\": {\"preset\": \"violence\"}},"
                + " \"metric\": {\"name\": \"asr_i2p\", \"config\": {\"concept_name\": \"violence\"}}}").technique();
        assertEquals(new Technique.Uce(new Technique.UceWeights.Preset(Technique.UcePreset.VIOLENCE), Optional.empty(), Technique.UceConceptType.OBJECT,
                java.util.List.of(), java.util.List.of()), uce);
        Technique.Uce guided = (Technique.Uce) json("{\"technique\": {\"name\": \"uce\", \"config\": {\"erase_concept\": \"cat; grumpy cat\","
                + " \"guide_concept\": [\"dog\", \"\"], \"preserve_concepts\": \"tree; house\", \"save_path\": \"w.safetensors\"}},"
                + " \"metric\": {\"name\": \"asr_i2p\", \"config\": {\"concept_name\": \"violence\"}}}").technique();
        assertEquals(java.util.List.of("cat", "grumpy cat"), guided.eraseConcepts());
        assertEquals(java.util.List.of("dog", ""), guided.guideConcepts(), "the empty guide is the official default, allowed");
        assertEquals(java.util.List.of("tree", "house"), guided.preserveConcepts());
        assertInstanceOf(Technique.FreeRun.class, json("{\"technique\": {\"name\": \"none\"}, \"metric\": {\"name\": \"asr_i2p\", \"config\": {\"concept_name\": \"hate\"}}}").technique());
    }

    @Test
    void generationKeysInTechniqueConfigAreHonoured() {
        Experiment x = json("{\"seed\": 42, \"technique\": {\"name\": \"esd\", \"config\": {\"device\": \"cuda\", \"num_inference_steps\": 30, \"guidance_scale\": 5, \"use_fp16\": false}},"
                + " \"metric\": {\"name\": \"asr_i2p\", \"config\": {\"concept_name\": \"hate\"}}}");
        assertEquals(OptionalLong.of(42), x.seed());
        assertEquals(Optional.of("cuda"), x.device());
        assertEquals(30, x.generation().steps());
        assertEquals(5.0, x.generation().guidanceScale());
        assertEquals(Optional.of(DType.F32), x.generation().dtype());
    }

    @Test
    void documentationExamplesValidate() {
        Experiment mace = ConfigLoader.load(Path.of("configs/mace_nudity_asr_i2p.json"), ConfigLoader.Options.STRICT);
        assertEquals(new Technique.Mace(java.util.List.of("nudity"), java.util.List.of(), 0.1, Optional.empty(), Optional.empty()), mace.technique());
        assertEquals(new AsrI2p(Concept.NUDITY, Detector.NUDENET, 0.9, ClipModel.LARGE_PATCH14, 0.28, Optional.of("cuda"), OptionalInt.of(500)), mace.metrics().get(0));
        Experiment violence = ConfigLoader.load(Path.of("configs/esd_violence_q16.json"), ConfigLoader.Options.STRICT);
        assertEquals(Detector.Q16, ((AsrI2p) violence.metrics().get(0)).detector());
        assertEquals(Path.of("results/esd_asr_violence"), violence.outputDir());
        Experiment hate = ConfigLoader.load(Path.of("configs/esd_hate.json"), ConfigLoader.Options.STRICT);
        assertEquals(Concept.HATE, ((AsrI2p) hate.metrics().get(0)).concept());
        assertEquals(Detector.Q16, ((AsrI2p) hate.metrics().get(0)).detector(), "no detector given: auto, which is q16 for hate");
        assertEquals("hate", ((Technique.Esd) hate.technique()).eraseConcept());
    }

    @Test
    void quickstartRunsTheTinyModelOnItsOwnPrompts() {
        Experiment x = ConfigLoader.load(Path.of("configs/quickstart.json"), ConfigLoader.Options.STRICT);
        assertEquals(new ModelRef.Tiny(), x.model());
        assertInstanceOf(Technique.FreeRun.class, x.technique());
        assertEquals(new AsrI2p(Concept.VIOLENCE, Detector.CLIP, 0.9, ClipModel.LARGE_PATCH14, 0.28, Optional.empty(), OptionalInt.of(8)), x.metrics().get(0));
        assertEquals(Optional.of(Path.of("configs/quickstart-prompts.txt")), x.dataset().path());
        assertEquals(8, org.evallearn.data.PromptList.read(x.dataset().path().get()).size());
    }

    @Test
    void aConfigThatIsNotUtf8SaysSoAndWhereItsFirstBadByteIs(@org.junit.jupiter.api.io.TempDir Path dir) throws java.io.IOException {
        // "café" saved as Latin-1: its "é" is the single byte 0xE9, on line 3.
        String before = "{\n  \"seed\": 1,\n  \"output_dir\": \"caf";
        byte[] head = before.getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] tail = "\"\n}\n".getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] bytes = new byte[head.length + 1 + tail.length];
        System.arraycopy(head, 0, bytes, 0, head.length);
        bytes[head.length] = (byte) 0xE9;
        System.arraycopy(tail, 0, bytes, head.length + 1, tail.length);
        Path file = dir.resolve("latin1.json");
        java.nio.file.Files.write(file, bytes);

        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(file, ConfigLoader.Options.STRICT));
        // Line 3 is `  "output_dir": "caf`: 20 characters, so the bad byte is in column 21.
        assertEquals(file + ": the file is not UTF-8 text: byte 0xE9 at offset " + head.length + " (line 3, column 21) is not UTF-8; save it as UTF-8",
                e.getMessage());
    }

    @Test
    void aUtf16ConfigIsNamedAsSuch(@org.junit.jupiter.api.io.TempDir Path dir) throws java.io.IOException {
        Path file = dir.resolve("utf16.json");
        // "{}" as Windows Notepad's "Unicode" saves it: UTF-16LE with a byte-order mark.
        java.nio.file.Files.write(file, new byte[] {(byte) 0xFF, (byte) 0xFE, '{', 0, '}', 0});
        ConfigException e = assertThrows(ConfigException.class, () -> ConfigLoader.load(file, ConfigLoader.Options.STRICT));
        assertTrue(e.getMessage().contains("byte 0xFF at offset 0 (line 1, column 1) is not UTF-8; it starts like a UTF-16 byte-order mark"), e.getMessage());
    }

    @Test
    void multiByteCharactersCountAsOneColumnAndAnUnfinishedSequenceIsNamedWhole() throws Exception {
        // "é" is two bytes, "🙂" four (two chars): the bad sequence after them is at byte 7, column 4.
        byte[] bytes = {'a', (byte) 0xC3, (byte) 0xA9, (byte) 0xF0, (byte) 0x9F, (byte) 0x99, (byte) 0x82, (byte) 0xE2, (byte) 0x82};
        org.evallearn.data.Utf8.MalformedException e = assertThrows(org.evallearn.data.Utf8.MalformedException.class,
                () -> org.evallearn.data.Utf8.decode(bytes));
        assertEquals(7, e.where().offset());
        assertEquals(4, e.where().column());
        assertEquals("bytes 0xE2 0x82 at offset 7 (line 1, column 4) are not UTF-8", e.getMessage());
        assertEquals("a\u00e9\ud83d\ude42", org.evallearn.data.Utf8.decode(java.util.Arrays.copyOf(bytes, 7)));
    }
}
