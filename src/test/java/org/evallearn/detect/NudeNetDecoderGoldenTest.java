package org.evallearn.detect;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.tensor.SafeTensorsFile;
import org.evallearn.tensor.Scope;
import org.evallearn.testing.Shared;
import org.junit.jupiter.api.Named;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** NudeNet 3.4.2's {@code _postprocess} + OpenCV 4.6's NMSBoxes on raw outputs (shared/golden/nudenet-decode). */
class NudeNetDecoderGoldenTest {
    static Stream<Named<JsonNode>> cases() throws IOException {
        List<Named<JsonNode>> out = new ArrayList<>();
        for (JsonNode c : new ObjectMapper().readTree(Shared.golden("nudenet-decode").resolve("cases.json").toFile())) {
            out.add(Named.of(c.get("name").asText(), c));
        }
        return out.stream();
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("cases")
    void decodesAsNudeNet(JsonNode c) {
        int anchors = c.get("anchors").asInt();
        float[] raw = readOutput(Shared.golden("nudenet-decode").resolve("io.safetensors"), c.get("output").asText(), anchors);
        List<Detection> actual = NudeNetDecoder.decode(raw, 0, anchors, c.get("model_size").asInt(),
                c.get("image_width").asInt(), c.get("image_height").asInt());
        JsonNode expected = c.get("detections");
        assertEquals(expected.size(), actual.size(), () -> "detections: " + actual);
        for (int i = 0; i < expected.size(); i++) {
            JsonNode e = expected.get(i);
            Detection d = actual.get(i);
            String where = c.get("name").asText() + " detection " + i + ": " + d;
            assertEquals(e.get("class").asText(), d.label().name(), where);
            assertEquals(e.get("score").asDouble(), d.score(), 1e-6, where);
            JsonNode b = e.get("box");
            assertArrayEquals(new int[] {b.get(0).asInt(), b.get(1).asInt(), b.get(2).asInt(), b.get(3).asInt()},
                    new int[] {d.box().x(), d.box().y(), d.box().width(), d.box().height()}, where);
        }
    }

    private static float[] readOutput(Path file, String name, int anchors) {
        try (Scope temporaries = Scope.open(); SafeTensorsFile f = SafeTensorsFile.open(file)) {
            Tensor t = f.get(name).contiguous();
            assertArrayEquals(new long[] {1, NudeNetDecoder.ROWS, anchors}, t.shape(), name);
            float[] out = new float[NudeNetDecoder.ROWS * anchors];
            new FloatPointer(t.data_ptr()).capacity(out.length).get(out);
            return out;
        }
    }
}
