package org.evallearn.data;

import java.io.IOException;
import java.io.StringReader;
import java.io.UncheckedIOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.commons.csv.CSVFormat;
import org.apache.commons.csv.CSVParser;
import org.apache.commons.csv.CSVRecord;

/**
 * A headed CSV file read with Apache Commons CSV, because I2P prompts are RFC-4180 fields with
 * quoted commas, doubled quotes and line breaks that a split on ',' or on lines gets wrong.
 * Every row is checked to have as many fields as the header, and knows the line it starts on.
 */
final class CsvRows {
    /** One data row: its fields by column name and the 1-based line where it starts. */
    record Row(CSVRecord record, int line) {
        String get(String column) {
            return record.get(column);
        }
    }

    final Path file;
    final Map<String, Integer> header;
    final List<Row> rows;

    private CsvRows(Path file, Map<String, Integer> header, List<Row> rows) {
        this.file = file;
        this.header = header;
        this.rows = rows;
    }

    // I2P's ESD copy has an unnamed leading index column, hence missing column names are allowed;
    // blank lines are no rows, as pandas' read_csv skips them (skip_blank_lines).
    private static final CSVFormat FORMAT = CSVFormat.RFC4180.builder()
            .setHeader().setSkipHeaderRecord(true).setAllowMissingColumnNames(true).setIgnoreEmptyLines(true).build();

    /** The column names of {@code file}, reading no further than its header record (the rows are {@link #read}'s). */
    static Set<String> header(Path file) {
        // newBufferedReader decodes strictly, as readUtf8 does: malformed UTF-8 is a CharacterCodingException.
        try {
            checkSize(file);
        } catch (NoSuchFileException e) {
            throw new DataException(file + ": file not found");
        } catch (IOException e) {
            throw new DataException(file + ": cannot read: " + e.getMessage(), e);
        }
        try (java.io.BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            in.mark(1);
            if (in.read() != '\uFEFF') in.reset();
            try (CSVParser parser = CSVParser.parse(in, FORMAT)) {
                return Set.copyOf(parser.getHeaderMap().keySet());
            }
        } catch (NoSuchFileException e) {
            throw new DataException(file + ": file not found");
        } catch (CharacterCodingException e) {
            throw new DataException(file + ": not UTF-8 text", e);
        } catch (IOException | UncheckedIOException e) {
            throw new DataException(file + ": malformed CSV: " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new DataException(file + ": bad CSV header: " + e.getMessage(), e);
        }
    }

    static CsvRows read(Path file) {
        String text = readUtf8(file);
        int[] lineStarts = lineStarts(text);
        try (CSVParser parser = CSVParser.parse(new StringReader(text), FORMAT)) {
            Map<String, Integer> header = parser.getHeaderMap();
            int width = header.size();
            List<Row> rows = new ArrayList<>();
            for (CSVRecord record : parser) {
                int line = lineOf(lineStarts, record.getCharacterPosition());
                if (record.size() != width) {
                    throw new DataException(file + ":" + line + ": " + record.size() + " fields, but the header has "
                            + width + " (" + String.join(",", header.keySet()) + ")");
                }
                rows.add(new Row(record, line));
            }
            return new CsvRows(file, header, rows);
        } catch (IOException | UncheckedIOException e) {
            // Commons CSV reports malformed quoting as an IOException that says "(line N)".
            throw new DataException(file + ": malformed CSV: " + e.getMessage(), e);
        } catch (IllegalArgumentException e) {
            throw new DataException(file + ": bad CSV header: " + e.getMessage(), e);
        }
    }

    boolean hasColumn(String name) {
        return header.containsKey(name);
    }

    /** The first of {@code names} that the header has, or null. */
    String firstColumn(String... names) {
        return Arrays.stream(names).filter(header::containsKey).findFirst().orElse(null);
    }

    private static String readUtf8(Path file) {
        try {
            checkSize(file);
            String text = StandardCharsets.UTF_8.newDecoder().decode(java.nio.ByteBuffer.wrap(Files.readAllBytes(file))).toString();
            return text.startsWith("\uFEFF") ? text.substring(1) : text;
        } catch (NoSuchFileException e) {
            throw new DataException(file + ": file not found");
        } catch (CharacterCodingException e) {
            throw new DataException(file + ": not UTF-8 text", e);
        } catch (IOException e) {
            throw new DataException(file + ": cannot read: " + e.getMessage(), e);
        }
    }

    /** A hundred times the largest prompt file known (coco_30k.csv, 2.5 MB); a 3 GB file would otherwise exhaust the heap. */
    static final long MAX_BYTES = 256L << 20;

    /** Refuses a file larger than {@link #MAX_BYTES} before any of it is read. */
    static void checkSize(Path file) throws IOException {
        long size = Files.size(file);
        if (size > MAX_BYTES) {
            throw new DataException(file + ": " + size + " bytes; a prompt file may have at most " + MAX_BYTES
                    + " (the largest known, COCO-30k, has 2.5 MB)");
        }
    }

    private static int[] lineStarts(String text) {
        List<Integer> starts = new ArrayList<>();
        starts.add(0);
        for (int i = 0; i < text.length(); i++) if (text.charAt(i) == '\n') starts.add(i + 1);
        return starts.stream().mapToInt(Integer::intValue).toArray();
    }

    private static int lineOf(int[] lineStarts, long position) {
        int i = Arrays.binarySearch(lineStarts, (int) position);
        return (i >= 0 ? i : -i - 2) + 1;
    }
}
