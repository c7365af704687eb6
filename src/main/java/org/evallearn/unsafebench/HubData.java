package org.evallearn.unsafebench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;
import org.evallearn.data.DataException;
import org.evallearn.models.HubDataset;
import org.evallearn.models.StoreSettings;

/**
 * UnsafeBench's data from the Hub, in the cache: {@code data pull unsafebench} fetches
 * {@code yiting/UnsafeBench}'s train and test shards (gated: {@code HF_TOKEN}) into
 * {@code HOME/data/unsafebench/hub/} and exports each split to {@code HOME/data/unsafebench/<split>/}
 * in UnsafeBench's own layout; the external sets go to {@code HOME/data/unsafebench/<name>/}.
 * {@code --from DIR} takes shards already on disk instead, for machines without the network.
 */
public final class HubData {
    public static final String REPO = "yiting/UnsafeBench";
    /** The external evaluation sets of {@code fetch_evaluation_dataset}, by the names configs use. */
    public static final Map<String, String> EXTERNAL = Map.of("SMID", "yiting/SMID", "NSFWDataset", "yiting/NSFWDataset",
            "MultiHeaded_Dataset", "yiting/MultiHeaded_Dataset", "Violence_Dataset", "yiting/Violence_Dataset",
            "Self-harm_Dataset", "yiting/Self-harm_Dataset");
    public static final List<String> SPLITS = List.of("train", "test");

    private HubData() {}

    public static Path root(StoreSettings settings) {
        return settings.home().resolve("data").resolve("unsafebench");
    }

    /** {@code data pull unsafebench}: both splits, downloaded (or from {@code from}) and exported; returns the split folders. */
    public static List<Path> pullUnsafeBench(StoreSettings settings, Optional<Path> from, Consumer<String> log) {
        Path root = root(settings);
        List<Path> out = new ArrayList<>();
        HubDataset hub = new HubDataset(REPO, "main", true, settings, log);
        for (String split : SPLITS) {
            List<Path> shards = from.isPresent() ? local(from.get(), split)
                    : hub.download(hub.parquet("data", split + "-"), root.resolve("hub"));
            int rows = ParquetExport.unsafeBench(shards, root.resolve(split));
            log.accept(REPO + " " + split + ": " + rows + " images exported to " + root.resolve(split));
            out.add(root.resolve(split));
        }
        if (from.isEmpty()) {
            log.accept("warning: " + REPO + " is read at its branch head (main): no commit was pinned when this was written, so the"
                    + " shards are checked against the sha256 the Hub lists for them, not against a known release");
        }
        return out;
    }

    /** {@code data pull unsafebench-<name>} for an external set: the {@code train} shards, exported with {@code name} as source. */
    public static Path pullExternal(String name, StoreSettings settings, Optional<Path> from, Consumer<String> log) {
        String repo = EXTERNAL.get(name);
        if (repo == null) throw new DataException("unknown external set '" + name + "'; expected one of " + EXTERNAL.keySet());
        Path root = root(settings);
        HubDataset hub = new HubDataset(repo, "main", false, settings, log);
        List<Path> shards = from.isPresent() ? local(from.get(), "train") : hub.download(hub.parquet("data", "train"), root.resolve(name + "-hub"));
        int rows = ParquetExport.external(shards, root.resolve(name), name);
        log.accept(repo + ": " + rows + " images exported to " + root.resolve(name));
        return root.resolve(name);
    }

    /** The exported folder of a split or external set; one not pulled is an error naming the pull command. */
    public static Path require(StoreSettings settings, String name) {
        Path dir = root(settings).resolve(name);
        if (!Files.isRegularFile(dir.resolve("metadata.jsonl"))) {
            String id = SPLITS.contains(name) ? "unsafebench" : "unsafebench-" + name;
            throw new DataException(dir + ": " + name + " is not downloaded; run `evallearn data pull " + id + "` (HF_TOKEN with access to "
                    + (SPLITS.contains(name) ? REPO : EXTERNAL.getOrDefault(name, name)) + ")");
        }
        return dir;
    }

    private static List<Path> local(Path dir, String prefix) {
        List<Path> shards = ParquetExport.shards(dir).stream().filter(p -> p.getFileName().toString().startsWith(prefix)).toList();
        if (shards.isEmpty()) throw new DataException(dir + ": no " + prefix + "*.parquet shards");
        return shards;
    }
}
