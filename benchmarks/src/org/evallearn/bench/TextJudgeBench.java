package org.evallearn.bench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.evallearn.redteam.SafeLabelRule;
import org.evallearn.redteam.TextClassifierJudge;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.RandomBinder;
import org.evallearn.textcls.ProblemType;
import org.evallearn.textcls.RobertaConfig;
import org.evallearn.textcls.RobertaForSequenceClassification;
import org.evallearn.textcls.TextClassifier;
import org.evallearn.textcls.TextTokenizer;
import org.evallearn.textcls.TokenizerJson;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OperationsPerInvocation;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * Text-judge throughput (prompts/s) as the red-teaming loop scores prompts: tokenise a batch of
 * 16 prompts, pad, run a RoBERTa sequence classifier at real size with random weights (roberta-base:
 * 50265 × 768, 12 heads, FFN 3072; {@code layers} 12 for TD's RoBERTa, 6 for NSFW-P's
 * DistilRoBERTa), softmax. The prompts are ART's seed prompt and 15 typical I2P-style prompts
 * (the setup prints their token counts). The tokenizer is a byte-level BPE whose merges spell
 * every word of these prompts whole, so each word is one token, as roberta-base's 50k vocabulary
 * makes of common English words (its real vocabulary cannot be downloaded here).
 *
 * <p>{@code mvn -Pbench test-compile exec:exec -Djmh.include=TextJudgeBench}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 1, time = 5)
@Measurement(iterations = 3, time = 5)
@Fork(value = 1, jvmArgs = "-Xmx4g")
public class TextJudgeBench {
    static final int BATCH = 16;

    @Param({"12", "6"})
    public int layers;

    private TextClassifier judge;
    private TextClassifierJudge verdicts; // the same classifier behind ART's safe-label rule, as the red-teaming loop calls it
    private List<String> prompts;
    private Path tokenizerDir;

    @Setup
    public void setUp() throws Exception {
        Placement placement = Placement.exactly(System.getProperty("jmh.device", "cpu"), null);
        RobertaConfig config = new RobertaConfig(50265, 768, layers, 12, 3072, "gelu", 514, 1, 1e-5, 1,
                List.of("neutral", "toxic"), ProblemType.SINGLE_LABEL);
        RobertaForSequenceClassification model = RobertaForSequenceClassification.random(config, new RandomBinder(0, placement));
        tokenizerDir = Files.createTempDirectory("textjudge-bench");
        Path json = tokenizerDir.resolve("tokenizer.json");
        prompts = new ArrayList<>();
        prompts.add("a pic of cat");
        for (int i = 1; i < BATCH; i++) {
            prompts.add("portrait of a woman " + i + " in a dark forest, highly detailed, digital painting, artstation, concept art,"
                    + " sharp focus, illustration, art by greg rutkowski and alphonse mucha");
        }
        // RoBERTa's specials and the 256 byte symbols, then only left-to-right whole-word merges, so no
        // merge inside a word can pre-empt the chain that spells it
        Map<String, Integer> vocab = new java.util.LinkedHashMap<>();
        for (String special : List.of("<s>", "<pad>", "</s>", "<unk>", "<mask>")) vocab.put(special, vocab.size());
        for (int b = 0; b < 256; b++) vocab.put(TokenizerJson.byteSymbol(b), vocab.size());
        List<String> merges = new ArrayList<>();
        for (String p : prompts) {
            for (String word : p.split("[ ,]+")) wholeWordMerges(TokenizerJson.byteSymbol(' ') + word, vocab, merges);
        }
        new com.fasterxml.jackson.databind.ObjectMapper().writeValue(json.toFile(), TokenizerJson.byteLevelBpe(vocab, merges, false));
        judge = new TextClassifier(model, TextTokenizer.load(json, config.maxTokens(), config.padTokenId()), BATCH);
        verdicts = new TextClassifierJudge("td", judge, new SafeLabelRule("neutral"), "random roberta-base");
        TextTokenizer.Batch batch = judge.tokenizer().encode(prompts);
        System.out.println("tokens per prompt (batch padded to " + batch.length() + "): "
                + java.util.Arrays.stream(batch.attentionMask()).mapToLong(m -> java.util.Arrays.stream(m).sum()).boxed().toList());
    }

    /** Merges that build {@code word} left to right ("Ġ w", "Ġw o", …), each result added to the vocabulary. */
    private static void wholeWordMerges(String word, Map<String, Integer> vocab, List<String> merges) {
        for (int end = 2; end <= word.length(); end++) {
            String left = word.substring(0, end - 1), right = word.substring(end - 1, end), joined = left + right;
            if (vocab.containsKey(joined)) continue;
            merges.add(left + " " + right);
            vocab.put(joined, vocab.size());
        }
    }

    @Benchmark
    @OperationsPerInvocation(BATCH)
    public float scorePrompts() {
        return judge.classify(prompts).get(BATCH - 1).scores()[1];
    }

    /** The prompt judge itself: classifier, then {@link SafeLabelRule} into one verdict per prompt. */
    @Benchmark
    @OperationsPerInvocation(BATCH)
    public Double judgePrompts() {
        return verdicts.judge(prompts).get(BATCH - 1).score();
    }

    @TearDown
    public void tearDown() throws Exception {
        verdicts.close(); // closes the classifier it owns
        Files.deleteIfExists(tokenizerDir.resolve("tokenizer.json"));
        Files.deleteIfExists(tokenizerDir);
    }
}
