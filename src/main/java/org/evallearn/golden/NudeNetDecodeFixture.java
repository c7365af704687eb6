package org.evallearn.golden;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.detect.Detection;
import org.evallearn.detect.NudeNetDecoder;
import org.evallearn.tensor.SafeTensorsFile;
import org.evallearn.tensor.Scope;

/**
 * {@code nudenet-decode}: NudeNet's post-processing of raw detector outputs, per case. Labels,
 * boxes and order must match exactly; the reported error is the largest score difference.
 */
final class NudeNetDecodeFixture implements Fixture {
    static final double SCORE_ATOL = 1e-6;

    @Override
    public boolean accepts(String folderName) {
        return folderName.equals("nudenet-decode");
    }

    @Override
    public List<Check> run(Path folder) {
        String name = folder.getFileName().toString();
        JsonNode cases;
        try {
            cases = new ObjectMapper().readTree(folder.resolve("cases.json").toFile());
        } catch (IOException e) {
            throw new UncheckedIOException(folder.resolve("cases.json") + ": " + e.getMessage(), e);
        }
        List<Check> checks = new ArrayList<>();
        try (SafeTensorsFile io = SafeTensorsFile.open(folder.resolve("io.safetensors"))) {
            for (JsonNode c : cases) {
                int anchors = c.get("anchors").asInt();
                List<Detection> actual = NudeNetDecoder.decode(output(io, c.get("output").asText(), anchors), 0, anchors,
                        c.get("model_size").asInt(), c.get("image_width").asInt(), c.get("image_height").asInt());
                checks.add(compare(name, c.get("name").asText(), actual, c.get("detections")));
            }
        }
        return checks;
    }

    private static Check compare(String fixture, String caseName, List<Detection> actual, JsonNode expected) {
        if (actual.size() != expected.size()) {
            return new Check(fixture, caseName, Double.NaN, false, actual.size() + " detections, expected " + expected.size());
        }
        double maxError = 0;
        for (int i = 0; i < actual.size(); i++) {
            Detection d = actual.get(i);
            JsonNode e = expected.get(i);
            int[] box = {d.box().x(), d.box().y(), d.box().width(), d.box().height()};
            int[] want = new int[4];
            for (int k = 0; k < 4; k++) want[k] = e.get("box").get(k).asInt();
            if (!d.label().name().equals(e.get("class").asText()) || !Arrays.equals(box, want)) {
                return new Check(fixture, caseName, Double.NaN, false, "detection " + i + " is " + d + ", expected "
                        + e.get("class").asText() + " " + Arrays.toString(want));
            }
            maxError = Math.max(maxError, Math.abs(d.score() - e.get("score").asDouble()));
        }
        return new Check(fixture, caseName, maxError, maxError <= SCORE_ATOL, null);
    }

    private static float[] output(SafeTensorsFile io, String key, int anchors) {
        try (Scope s = Scope.open()) {
            Tensor t = io.get(key).contiguous();
            long[] want = {1, NudeNetDecoder.ROWS, anchors};
            if (!Arrays.equals(t.shape(), want)) {
                throw new IllegalArgumentException(key + ": shape " + Arrays.toString(t.shape()) + ", expected " + Arrays.toString(want));
            }
            float[] out = new float[NudeNetDecoder.ROWS * anchors];
            new FloatPointer(t.data_ptr()).capacity(out.length).get(out);
            return out;
        }
    }
}
