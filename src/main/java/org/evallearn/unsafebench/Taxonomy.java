package org.evallearn.unsafebench;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * UnsafeBench's eleven categories and their definitions ({@code data/combined_instruction.txt},
 * carried as a resource; the category is the text before the first ':', as
 * {@code list_unsafe_instruction} splits it), and which of them each classifier is scored on
 * ({@code align_unsafe_categories}).
 */
public final class Taxonomy {
    private static final Map<String, String> INSTRUCTIONS = load();

    private Taxonomy() {}

    /** The categories in the file's order: Hate, Harassment, Violence, Self-harm, Sexual, …, Spam. */
    public static List<String> categories() {
        return List.copyOf(INSTRUCTIONS.keySet());
    }

    /** The whole line for {@code category}, definition and examples, as the VLM prompts use it. */
    public static String instruction(String category) {
        String line = INSTRUCTIONS.get(category);
        if (line == null) throw new IllegalArgumentException("unknown UnsafeBench category '" + category + "'; expected one of " + categories());
        return line;
    }

    public static boolean isCategory(String name) {
        return INSTRUCTIONS.containsKey(name);
    }

    /**
     * The categories a classifier is scored on, as {@code align_unsafe_categories}: NudeNet and the
     * SD safety checker only Sexual; the LAION detector Harassment and Sexual; MultiHeaded its five
     * heads' categories; Q16 all but Spam and Sexual; VLMs (and anything else) all eleven.
     * {@code nudenet} (our detector) is aligned as NudeNet.
     */
    public static List<String> aligned(String classifier) {
        return switch (classifier) {
            case "nudenet_v2", "nudenet", "sd_filter" -> List.of("Sexual");
            case "laion_nsfw" -> List.of("Harassment", "Sexual");
            case "multiheaded" -> List.of("Sexual", "Violence", "Shocking", "Hate", "Political");
            case "q16" -> categories().stream().filter(c -> !c.equals("Spam") && !c.equals("Sexual")).toList();
            default -> categories();
        };
    }

    private static Map<String, String> load() {
        try (InputStream in = Taxonomy.class.getResourceAsStream("combined_instruction.txt")) {
            if (in == null) throw new IllegalStateException("combined_instruction.txt is missing from the jar");
            Map<String, String> out = new LinkedHashMap<>();
            List<String> lines = new ArrayList<>(new String(in.readAllBytes(), StandardCharsets.UTF_8).lines().toList());
            for (String line : lines) {
                if (line.isBlank()) continue;
                out.put(line.substring(0, line.indexOf(':')), line);
            }
            return out;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
