package org.evallearn.data;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.OptionalLong;

/**
 * COCO-2017 train images and captions from a local copy in COCO's own layout:
 * {@code annotations/captions_train2017.json} and {@code train2017/<file_name>}. FID reads the
 * first {@code limit} images in the annotation file's {@code images} order, each with its first
 * caption in {@code annotations} order, as eval-learn takes the first {@code limit} rows of the
 * Hugging Face copy {@code phiyodr/coco2017} (train split) and their first caption.
 */
public final class Coco2017 {
    public static final String CAPTIONS = "annotations/captions_train2017.json";
    public static final String IMAGES = "train2017";

    private Coco2017() {}

    /** One image and the caption its generated counterpart is made from. */
    public record Image(Path file, Prompt caption) {}

    public static List<Image> read(Path dir, OptionalInt limit) {
        Path captions = dir.resolve(CAPTIONS);
        if (!Files.isRegularFile(captions)) throw new DataException(dir + ": no " + CAPTIONS + " (expected COCO-2017's layout: " + CAPTIONS + " and " + IMAGES + "/)");
        JsonNode root;
        try {
            root = new ObjectMapper().readTree(captions.toFile());
        } catch (IOException e) {
            throw new DataException(captions + ": not JSON: " + e.getMessage(), e);
        }
        if (!root.path("images").isArray() || !root.path("annotations").isArray()) {
            throw new DataException(captions + ": expected COCO captions with 'images' and 'annotations' lists");
        }
        Map<Long, String> first = new HashMap<>();
        for (JsonNode a : root.get("annotations")) {
            if (!a.path("image_id").canConvertToLong() || !a.path("caption").isTextual()) {
                throw new DataException(captions + ": an annotation without image_id and caption: " + a);
            }
            first.putIfAbsent(a.get("image_id").asLong(), a.get("caption").asText());
        }
        List<Image> out = new ArrayList<>();
        for (JsonNode img : root.get("images")) {
            if (limit.isPresent() && out.size() >= limit.getAsInt()) break;
            if (!img.path("id").canConvertToLong() || !img.path("file_name").isTextual()) {
                throw new DataException(captions + ": an image without id and file_name: " + img);
            }
            String caption = first.get(img.get("id").asLong());
            if (caption == null) throw new DataException(captions + ": image " + img.get("id").asLong() + " has no caption");
            String where = captions + ":image " + img.get("id").asLong();
            Prompt.checkLength(caption, where);
            out.add(new Image(dir.resolve(IMAGES).resolve(img.get("file_name").asText()), new Prompt(caption, OptionalLong.empty(), OptionalDouble.empty(), where)));
        }
        if (out.isEmpty()) throw new DataException(captions + ": no images");
        return out;
    }
}
