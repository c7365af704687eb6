package org.evallearn.run;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.evallearn.chat.ScriptedChat;
import org.evallearn.config.ConfigException;
import org.evallearn.config.ConfigLoader;
import org.evallearn.config.Experiment;
import org.evallearn.metric.MetricResult;
import org.evallearn.models.ArtefactStore;
import org.evallearn.models.Manifest;
import org.evallearn.models.StoreSettings;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** tifa in `run` as shipped (Plugins.BUILTIN): the questions asked of a scripted VQA endpoint on 127.0.0.1, scored as eval-learn scores them. */
class TifaRunTest {
    @TempDir Path tmp;
    final List<String> log = new ArrayList<>();
    ScriptedChat server;

    @AfterEach
    void stop() {
        if (server != null) server.close();
    }

    Artefacts artefacts() {
        Properties props = new Properties();
        props.setProperty("evallearn.home", tmp.resolve("home").toString());
        StoreSettings settings = StoreSettings.from(Map.of(), props);
        return new Artefacts(settings, new ArtefactStore(Manifest.builtin(), settings, log::add));
    }

    Path config(String endpoint) throws IOException {
        Path tifa = Files.writeString(tmp.resolve("tifa.csv"), "caption,qas\n"
                + "\"a cat\",\"[{\"\"question\"\": \"\"is there a cat?\"\", \"\"answer\"\": \"\"yes\"\"}, {\"\"question\"\": \"\"is it blue?\"\", \"\"answer\"\": \"\"no\"\"}]\"\n"
                + "\"a dog\",\"[{\"\"question\"\": \"\"is there a dog?\"\", \"\"answer\"\": \"\"yes\"\"}]\"\n");
        return Files.writeString(tmp.resolve("config.json"), "{\"output_dir\": \"" + tmp.resolve("out") + "\", \"seed\": 0, \"model\": \"tiny\","
                + " \"technique\": {\"name\": \"free_run\"}, \"generation\": {\"steps\": 1}, \"metrics\": [{\"name\": \"tifa\", \"config\": {"
                + "\"limit\": 2, \"tifa_csv\": \"" + tifa + "\"" + endpoint + "}}]}");
    }

    @Test
    void everyQuestionGoesToTheEndpointAndTheScoreIsEvalLearns() throws IOException {
        server = ScriptedChat.start(1, body -> new ScriptedChat.Reply(200, "{\"choices\": [{\"message\": {\"role\": \"assistant\", \"content\": \"Yes.\"}}]}"));
        String endpoint = ", \"vqa_endpoint\": {\"base_url\": \"" + server.baseUrl() + "\", \"model\": \"vqa-test\"},"
                + " \"response_cache\": false";
        Experiment e = ConfigLoader.load(config(endpoint), ConfigLoader.Options.STRICT);
        Runner.Outcome outcome = Runner.run(e, artefacts(), new Runner.Options(false, false, log::add, false, Plugins.BUILTIN));
        MetricResult r = outcome.results().get(0);
        // "Yes." to all three: right on 'cat?' and 'dog?', wrong on 'blue?' (answer no): eval-learn's correct / questions.
        assertEquals(2.0 / 3, r.value(), 0.0);
        assertEquals(3, server.bodies().size());
        assertTrue(r.details().toString().contains("vqa-test"), r.details().toString());
    }

    @Test
    void noEndpointIsRefusedBeforeTheRunStarts() throws IOException {
        Experiment e = ConfigLoader.load(config(""), ConfigLoader.Options.STRICT);
        assertThrows(ConfigException.class, () -> Runner.run(e, artefacts(), new Runner.Options(false, false, log::add, false, Plugins.BUILTIN)));
        assertFalse(Files.exists(tmp.resolve("out").resolve("runs")), "refused before a run folder exists");
    }
}
