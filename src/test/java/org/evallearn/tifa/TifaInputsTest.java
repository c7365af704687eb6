package org.evallearn.tifa;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.ObjectMapper;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import org.evallearn.config.ConfigException;
import org.evallearn.data.DataException;
import org.evallearn.data.TifaQuestions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The question files, the config and the answer rule, without a server. */
class TifaInputsTest {
    private static final ObjectMapper JSON = new ObjectMapper();
    @TempDir Path dir;

    @Test
    void evalLearnsCsvKeepsRowOrderDropsEmptyQuestionsAndSkipsBadRows() throws Exception {
        Path f = dir.resolve("tifa.csv");
        Files.writeString(f, "caption,qas\n"
                + "a cat,\"[{\"\"question\"\": \"\"is there a cat?\"\", \"\"answer\"\": \"\"yes\"\"}, {\"\"question\"\": \"\"what?\"\", \"\"answer\"\": \"\"\"\"}]\"\n"
                + "broken,not json\n"
                + ",\"[]\"\n"
                + "two dogs,\"[{\"\"question\"\": \"\"how many dogs?\"\", \"\"answer\"\": 2, \"\"choices\"\": [\"\"1\"\", \"\"2\"\"]}]\"\n"
                + "a bird,\"[]\"\n");
        TifaQuestions.Selection s = TifaQuestions.read(f, OptionalInt.empty());
        assertEquals(List.of("a cat", "two dogs", "a bird"), s.items().stream().map(i -> i.prompt().text()).toList());
        assertEquals(List.of(new TifaQuestions.Question("is there a cat?", "yes", List.of())), s.items().get(0).questions());
        assertEquals(new TifaQuestions.Question("how many dogs?", "2", List.of("1", "2")), s.items().get(1).questions().get(0));
        assertEquals(2, s.skipped().size());
        assertTrue(s.skipped().get(0).describe().startsWith(f + ":3: qas is not JSON"), s.skipped().get(0).describe());
        assertEquals(f + ":4: empty caption", s.skipped().get(1).describe());
        assertEquals(f + ":2", s.items().get(0).prompt().origin());
        // limit counts rows, a skipped one included, as eval-learn's take(limit) streams them.
        assertEquals(List.of("a cat"), TifaQuestions.read(f, OptionalInt.of(3)).items().stream().map(i -> i.prompt().text()).toList());
    }

    @Test
    void tifasOwnJsonIsGroupedByIdInFirstAppearanceOrder() throws Exception {
        Path f = dir.resolve("tifa_v1.0_question_answers.json");
        Files.writeString(f, "[{\"id\": \"b\", \"caption\": \"a red bus\", \"question\": \"is there a bus?\", \"choices\": [\"yes\", \"no\"], \"answer\": \"yes\"},"
                + "{\"id\": \"a\", \"caption\": \"a dog\", \"question\": \"is this a dog?\", \"choices\": [\"yes\", \"no\"], \"answer\": \"yes\"},"
                + "{\"id\": \"b\", \"caption\": \"a red bus\", \"question\": \"what color is the bus?\", \"choices\": [\"red\", \"blue\"], \"answer\": \"red\"},"
                + "{\"id\": \"c\", \"caption\": \"a cat\", \"question\": {\"oops\": 1}, \"answer\": \"yes\"}]");
        TifaQuestions.Selection s = TifaQuestions.read(f, OptionalInt.empty());
        assertEquals(List.of("a red bus", "a dog"), s.items().stream().map(i -> i.prompt().text()).toList());
        assertEquals(List.of("is there a bus?", "what color is the bus?"), s.items().get(0).questions().stream().map(TifaQuestions.Question::question).toList());
        assertEquals(List.of("red", "blue"), s.items().get(0).questions().get(1).choices());
        assertEquals(1, s.skipped().size());
        assertTrue(s.skipped().get(0).reason().contains("question must be a string"), s.skipped().get(0).reason());
        assertEquals(s.items().get(1), s.find(s.items().get(1).prompt()).orElseThrow());
    }

    @Test
    void aFileThatIsNoQuestionSetIsADataExceptionNamingIt() throws Exception {
        Path prompts = dir.resolve("prompts.csv");
        Files.writeString(prompts, "prompt\na cat\n");
        DataException x = assertThrows(DataException.class, () -> TifaQuestions.read(prompts, OptionalInt.empty()));
        assertTrue(x.getMessage().contains(prompts + ": no 'caption' column"), x.getMessage());
        Path json = dir.resolve("q.json");
        Files.writeString(json, "{\"not\": \"a list\"}");
        assertTrue(assertThrows(DataException.class, () -> TifaQuestions.read(json, OptionalInt.empty())).getMessage().startsWith(json + ": expected TIFA's"));
        Path allBad = dir.resolve("bad.csv");
        Files.writeString(allBad, "caption,qas\nx,{}\n");
        assertTrue(assertThrows(DataException.class, () -> TifaQuestions.read(allBad, OptionalInt.empty())).getMessage().contains("no TIFA prompts"));
        assertThrows(DataException.class, () -> TifaQuestions.read(dir.resolve("missing.csv"), OptionalInt.empty()));
    }

    @Test
    void settingsTakeEvalLearnsKeysAndOurEndpoint() throws Exception {
        TifaSettings s = TifaSettings.parse(JSON.readTree("{\"vqa_model_name\": \"Salesforce/blip2-flan-t5-xl\", \"device\": \"cuda\", \"limit\": 5,"
                + " \"vqa_endpoint\": {\"base_url\": \"http://gpu:8000/v1\", \"api_key_env\": \"VQA_KEY\", \"timeout_s\": 30}}"), "c.json", "metric.config",
                Optional.of(Path.of("cache")));
        assertEquals("Salesforce/blip2-flan-t5-xl", s.answeringModel(), "the endpoint's model defaults to vqa_model_name");
        assertEquals(OptionalInt.of(5), s.limit());
        assertEquals(30, s.options().timeout().toSeconds());
        assertEquals(TifaSettings.DEFAULT_MAX_NEW_TOKENS, s.maxNewTokens());
        assertEquals(Optional.of(Path.of("cache")), s.responseCache());
        assertEquals(Optional.of("VQA_KEY"), s.endpoint().apiKeyEnv());
        TifaSettings all = TifaSettings.parse(JSON.readTree("{\"limit\": null, \"response_cache\": false, \"vqa_endpoint\": {\"base_url\": \"http://h/v1\", \"model\": \"qwen\"}}"),
                "c.json", "metric.config", Optional.of(Path.of("cache")));
        assertEquals(OptionalInt.empty(), all.limit());
        assertEquals(Optional.empty(), all.responseCache());
        assertEquals("qwen", all.answeringModel());
        assertEquals(TifaSettings.DEFAULT_LIMIT, TifaSettings.parse(JSON.readTree("{\"vqa_endpoint\": {\"base_url\": \"http://h/v1\"}}"), "c.json", "m",
                Optional.empty()).limit().getAsInt());
    }

    @Test
    void evalLearnsOwnConfigsTakeTheEndpointFromTheEnvironment() throws Exception {
        // ../shared/data/eval-learn-configs/*/*.json name only vqa_model_name, device and limit.
        java.util.Map<String, String> env = java.util.Map.of("base_url", "http://vqa:8000/v1", "api_key_env", "VQA_KEY");
        TifaSettings s = TifaSettings.parse(JSON.readTree("{\"vqa_model_name\": \"Salesforce/blip2-flan-t5-xl\", \"device\": \"cuda\", \"limit\": 2}"),
                "esd.json", "metrics[7].config", Optional.empty(), k -> Optional.ofNullable(env.get(k)));
        assertEquals("http://vqa:8000/v1", s.endpoint().baseUrl().toString());
        assertEquals("Salesforce/blip2-flan-t5-xl", s.answeringModel());
        assertEquals(Optional.of("VQA_KEY"), s.endpoint().apiKeyEnv());
        assertEquals(OptionalInt.of(2), s.limit());
        ConfigException bad = assertThrows(ConfigException.class, () -> TifaSettings.parse(JSON.readTree("{}"), "esd.json", "m",
                Optional.empty(), k -> k.equals("base_url") ? Optional.of("ftp://nowhere") : Optional.empty()));
        assertTrue(bad.getMessage().contains("EVALLEARN_VQA_* (evallearn.vqa.*).base_url"), bad.getMessage());
    }

    @Test
    void everyConfigProblemIsNamedTogether() throws Exception {
        ConfigException x = assertThrows(ConfigException.class, () -> TifaSettings.parse(JSON.readTree(
                "{\"limit\": 0, \"vqa_modle_name\": \"x\", \"question_template\": \"no placeholder\", \"vqa_endpoint\": {\"base_url\": \"ftp://x\", \"max_concurrent\": 0}}"),
                "c.json", "metrics[1].config", Optional.empty()));
        List<String> paths = x.problems().stream().map(ConfigException.Problem::path).toList();
        assertEquals(List.of("metrics[1].config.vqa_modle_name", "metrics[1].config.limit", "metrics[1].config.question_template",
                "metrics[1].config.vqa_endpoint.max_concurrent", "metrics[1].config.vqa_endpoint.base_url"), paths);
        ConfigException none = assertThrows(ConfigException.class, () -> TifaSettings.parse(null, "c.json", "metric.config", Optional.empty(), k -> Optional.empty()));
        assertTrue(none.getMessage().contains("metric.config.vqa_endpoint: required") && none.getMessage().contains("EVALLEARN_VQA_BASE_URL"), none.getMessage());
    }

    @Test
    void answersMatchAsEvalLearnsLowerStripWithChatPunctuationRemoved() {
        assertTrue(Answers.matches("YES", "yes"));
        assertTrue(Answers.matches("  Red.\n", "red"));
        assertTrue(Answers.matches("\"two\"", "Two"));
        assertFalse(Answers.matches("yes, it is", "yes"), "no free-form mapping: eval-learn compares exactly");
        assertFalse(Answers.matches("2", "two"));
        assertEquals("st. louis", Answers.normalise("St. Louis."));
        assertEquals("is there a cat?\nChoices: yes, no\nAnswer briefly.", Answers.ask("{question}\nAnswer briefly.", "is there a cat?", List.of("yes", "no")));
    }
}
