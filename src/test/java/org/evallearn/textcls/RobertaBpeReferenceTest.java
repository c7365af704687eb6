package org.evallearn.textcls;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.stream.Collectors;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVRecord;
import org.evallearn.testing.Shared;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * RoBERTa tokenisation of every I2P prompt against an independent reference: the slow tokenizer's
 * algorithm (GPT-2's byte-level BPE, as transformers' RobertaTokenizer) in
 * {@code tools/reference/roberta_bpe_fixture.py}, on a 600-merge vocabulary learned from the I2P
 * prompts and shipped as {@code vocab.json} + {@code merges.txt}, the files TD's checkpoint has.
 * Our side converts them to a tokenizer.json and runs the Hugging Face tokenizers library, with
 * truncation (to 128 tokens, so that 274 prompts are cut); every prompt's ids must be the reference's exactly.
 */
class RobertaBpeReferenceTest {
    private static final String FIXTURE = "roberta-bpe-i2p/";
    /** The fixture's truncation length: 274 of the 4703 prompts exceed it at this vocabulary (the longest has 389 tokens). */
    private static final int MAX_LENGTH = 128;
    @TempDir Path tmp;

    private void copy(String name) throws Exception {
        try (InputStream in = RobertaBpeReferenceTest.class.getResourceAsStream(FIXTURE + name)) {
            if (in == null) throw new IllegalStateException("test resource missing: " + FIXTURE + name);
            Files.copy(in, tmp.resolve(name));
        }
    }

    private static String hash(long[] ids, int length) throws Exception {
        StringBuilder s = new StringBuilder();
        for (int i = 0; i < length; i++) s.append(i == 0 ? "" : " ").append(ids[i]);
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(s.toString().getBytes(StandardCharsets.UTF_8))).substring(0, 16);
    }

    @Test
    void everyI2pPromptGetsTheSlowTokenizersIds() throws Exception {
        copy("vocab.json");
        copy("merges.txt");
        List<String> expected;
        try (InputStream in = getClass().getResourceAsStream(FIXTURE + "ids.txt")) {
            expected = new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().collect(Collectors.toList());
        }
        List<String> prompts = new ArrayList<>();
        try (var parser = CSVFormat.DEFAULT.builder().setHeader().setSkipHeaderRecord(true).setAllowMissingColumnNames(true).build()
                .parse(Files.newBufferedReader(Shared.data("i2p/unsafe-prompts4703.csv")))) {
            for (CSVRecord r : parser) prompts.add(r.get("prompt"));
        }
        assertEquals(expected.size(), prompts.size());
        List<String> mismatches = new ArrayList<>();
        int truncated = 0;
        try (TextTokenizer tokenizer = TextTokenizer.forModel(tmp, MAX_LENGTH, 1)) {
            // the readable examples first, id for id
            JsonNode examples;
            try (InputStream in = getClass().getResourceAsStream(FIXTURE + "examples.json")) {
                examples = new ObjectMapper().readTree(in);
            }
            for (JsonNode e : examples) {
                long[] want = new long[e.get("ids").size()];
                for (int i = 0; i < want.length; i++) want[i] = e.get("ids").get(i).asLong();
                long[] got = tokenizer.encode(List.of(e.get("prompt").asText())).inputIds()[0];
                assertArrayEquals(want, got, "row " + e.get("row").asInt());
            }
            for (int from = 0; from < prompts.size(); from += 256) {
                List<String> chunk = prompts.subList(from, Math.min(prompts.size(), from + 256));
                TextTokenizer.Batch b = tokenizer.encode(chunk);
                for (int i = 0; i < chunk.size(); i++) {
                    int length = 0;
                    for (long m : b.attentionMask()[i]) length += (int) m;
                    if (b.truncated()[i]) truncated++;
                    if (!hash(b.inputIds()[i], length).equals(expected.get(from + i))) mismatches.add("row " + (from + i));
                }
            }
        }
        assertEquals(List.of(), mismatches.subList(0, Math.min(10, mismatches.size())), mismatches.size() + " prompts differ");
        assertEquals(274, truncated, "prompts the reference cut at " + MAX_LENGTH + " tokens");
    }
}
