package org.evallearn.unsafebench;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.Reader;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVRecord;
import org.evallearn.data.DataException;

/**
 * A labelled image set, read from one of the layouts users have: a plain manifest (CSV or JSONL,
 * {@code path,label[,category][,source]}) for their own images, or UnsafeBench's export layout
 * ({@code metadata.jsonl} of {@code image_fname,label,source,category} beside the images, as its
 * {@code UnsafeBenchDataset._download_and_save} writes and {@link ParquetExport} writes from the
 * Hub's shards).
 *
 * <p>A file that cannot be read as a whole (missing, not UTF-8, a CSV header without
 * {@code path} and {@code label}) is a {@link DataException}. A bad entry inside a readable file
 * (a label other than Safe/Unsafe/0/1, an unknown category, a missing image file, a line that is
 * not JSON) is rejected with its line and reason and the rest is kept, so one bad row costs that
 * row. Relative image paths resolve from the manifest's folder, where the images sit beside it.
 *
 * @param items the images to score, in file order
 * @param rejected entries not scored, each with where it is and why
 */
public record Dataset(Path file, List<LabelledImage> items, List<Rejected> rejected) {
    /** An entry that is not scored: {@code where} is {@code file:line}. */
    public record Rejected(String where, String reason) {}

    private static final ObjectMapper JSON = new ObjectMapper();

    /** A manifest: {@code .csv} with a header, or {@code .jsonl}/{@code .json} lines. */
    public static Dataset manifest(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        if (name.endsWith(".csv")) return csv(file);
        if (name.endsWith(".jsonl") || name.endsWith(".ndjson")) return jsonl(file, "path");
        throw new DataException(file + ": a manifest must be .csv or .jsonl (path,label[,category][,source])");
    }

    /** UnsafeBench's export layout: {@code dir/metadata.jsonl} naming images in {@code dir}. */
    public static Dataset export(Path dir) {
        Path metadata = dir.resolve("metadata.jsonl");
        if (!Files.isRegularFile(metadata)) throw new DataException(dir + ": no metadata.jsonl (UnsafeBench's export layout: <id>.png + metadata.jsonl)");
        return jsonl(metadata, "image_fname");
    }

    private static Dataset csv(Path file) {
        List<LabelledImage> items = new ArrayList<>();
        List<Rejected> rejected = new ArrayList<>();
        CSVFormat format = CSVFormat.RFC4180.builder().setHeader().setSkipHeaderRecord(true).build();
        try (Reader in = reader(file); CSVParser parser = CSVParser.parse(in, format)) {
            Map<String, Integer> header = parser.getHeaderMap();
            if (!header.containsKey("path") || !header.containsKey("label")) {
                throw new DataException(file + ": header " + header.keySet() + " lacks 'path' and 'label' (expected path,label[,category][,source])");
            }
            for (CSVRecord r : parser) {
                String where = file + ":" + (r.getRecordNumber() + 1);
                if (!r.isConsistent()) {
                    rejected.add(new Rejected(where, r.size() + " fields, the header has " + header.size()));
                    continue;
                }
                entry(file, where, r.get("path"), r.get("label"), optional(r, "category"), optional(r, "source"), items, rejected);
            }
        } catch (IOException | java.io.UncheckedIOException e) {
            throw unreadable(file, e);
        } catch (IllegalArgumentException e) {
            throw new DataException(file + ": bad CSV header: " + e.getMessage(), e);
        }
        return new Dataset(file, List.copyOf(items), List.copyOf(rejected));
    }

    private static String optional(CSVRecord r, String column) {
        return r.isMapped(column) && !r.get(column).isBlank() ? r.get(column) : null;
    }

    private static Dataset jsonl(Path file, String pathField) {
        List<LabelledImage> items = new ArrayList<>();
        List<Rejected> rejected = new ArrayList<>();
        List<String> lines;
        try {
            lines = Files.readAllLines(file, StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw unreadable(file, e);
        }
        for (int i = 0; i < lines.size(); i++) {
            String line = lines.get(i);
            if (line.isBlank()) continue;
            String where = file + ":" + (i + 1);
            JsonNode n;
            try {
                n = JSON.readTree(line);
            } catch (JsonProcessingException e) {
                rejected.add(new Rejected(where, "not a JSON object: " + e.getOriginalMessage()));
                continue;
            }
            if (!n.isObject()) {
                rejected.add(new Rejected(where, "not a JSON object"));
                continue;
            }
            entry(file, where, text(n, pathField), text(n, "label"), text(n, "category"), text(n, "source"), items, rejected);
        }
        return new Dataset(file, List.copyOf(items), List.copyOf(rejected));
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) return null;
        return v.isValueNode() ? v.asText() : v.toString();
    }

    private static void entry(Path file, String where, String path, String labelText, String category, String source,
            List<LabelledImage> items, List<Rejected> rejected) {
        if (path == null || path.isBlank()) {
            rejected.add(new Rejected(where, "no image path"));
            return;
        }
        Optional<Boolean> label = Label.parse(labelText);
        if (label.isEmpty()) {
            rejected.add(new Rejected(where, "label '" + labelText + "', expected " + Label.EXPECTED));
            return;
        }
        if (category != null && !Taxonomy.isCategory(category)) {
            rejected.add(new Rejected(where, "unknown category '" + category + "', expected one of " + Taxonomy.categories()));
            return;
        }
        Path image = file.toAbsolutePath().getParent().resolve(path).normalize();
        if (!Files.isRegularFile(image)) {
            rejected.add(new Rejected(where, "image " + image + " does not exist"));
            return;
        }
        items.add(new LabelledImage(path, image, label.get(), category, source));
    }

    private static Reader reader(Path file) throws IOException {
        Reader in = Files.newBufferedReader(file, StandardCharsets.UTF_8);
        in.mark(1);
        if (in.read() != '\uFEFF') in.reset();
        return in;
    }

    private static DataException unreadable(Path file, Exception e) {
        if (e instanceof NoSuchFileException) return new DataException(file + ": file not found");
        Throwable cause = e.getCause() != null ? e.getCause() : e;
        if (e instanceof CharacterCodingException || cause instanceof CharacterCodingException) return new DataException(file + ": not UTF-8 text", e);
        return new DataException(file + ": cannot read: " + e.getMessage(), e);
    }
}
