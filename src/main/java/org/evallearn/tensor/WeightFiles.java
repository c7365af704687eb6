package org.evallearn.tensor;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.bytedeco.pytorch.Tensor;

/** The safetensors files of one model (one file, or the shards of an index), as one key space. */
public final class WeightFiles implements AutoCloseable {
    private final List<SafeTensorsFile> files;
    private final Map<String, SafeTensorsFile> byKey = new LinkedHashMap<>();

    private WeightFiles(List<SafeTensorsFile> files) {
        this.files = files;
        for (SafeTensorsFile f : files) {
            for (String k : f.infos().keySet()) {
                SafeTensorsFile prev = byKey.put(k, f);
                if (prev != null) {
                    close();
                    throw new ModelLoadException("tensor '" + k + "' appears in both " + prev.path() + " and " + f.path());
                }
            }
        }
    }

    public static WeightFiles open(List<Path> paths) {
        List<SafeTensorsFile> opened = new ArrayList<>();
        try {
            for (Path p : paths) opened.add(SafeTensorsFile.open(p));
        } catch (RuntimeException e) {
            opened.forEach(SafeTensorsFile::close);
            throw e;
        }
        return new WeightFiles(opened);
    }

    /** The variant {@code models pull ID --variant fp16} leaves as a folder's only weights. */
    public static final String FP16 = "fp16";

    /**
     * The weights named {@code base} in a model folder: {@code base[.variant].safetensors}, or the
     * shards listed in {@code base[.variant].safetensors.index.json}. The wanted variant comes
     * first, then the plain files, then the fp16 variant: a folder pulled with only one precision
     * still loads in the other, the binder casting every floating tensor to the placement's dtype
     * (fp16 → fp32 is exact). Pickled weights are refused by name: we never execute a pickle.
     */
    public static WeightFiles openIn(Path dir, String base, String variant) {
        List<String> stems = new ArrayList<>();
        if (variant != null && !variant.isEmpty()) stems.add(base + "." + variant);
        stems.add(base);
        if (!stems.contains(base + "." + FP16)) stems.add(base + "." + FP16);
        for (String stem : stems) {
            Path single = dir.resolve(stem + ".safetensors");
            if (Files.isRegularFile(single)) return open(List.of(single));
            Path index = dir.resolve(stem + ".safetensors.index.json");
            if (Files.isRegularFile(index)) return open(shardsOf(index));
        }
        String found;
        try (Stream<Path> s = Files.list(dir)) {
            found = String.join(", ", s.map(p -> p.getFileName().toString()).sorted().toList());
        } catch (IOException e) {
            found = "(cannot list: " + e.getMessage() + ")";
        }
        String hint = found.contains(".bin") || found.contains(".ckpt") || found.contains(".pt")
                ? " Pickled weights (.bin/.ckpt/.pt) are never loaded; use the safetensors files of the model."
                : "";
        throw new ModelLoadException(dir + ": no " + String.join(", ", stems.stream().map(st -> st + ".safetensors").toList())
                + " (nor their sharded index) here; found: [" + found + "]." + hint);
    }

    private static List<Path> shardsOf(Path index) {
        try {
            JsonNode map = new ObjectMapper().readTree(index.toFile()).get("weight_map");
            if (map == null || !map.isObject()) {
                throw new ModelLoadException(index + ": field 'weight_map' missing or not an object of key → shard file");
            }
            Set<String> names = new LinkedHashSet<>();
            map.fields().forEachRemaining(e -> names.add(e.getValue().asText()));
            List<Path> shards = new ArrayList<>();
            for (String n : names) {
                Path shard = index.resolveSibling(n).normalize();
                if (!shard.getParent().equals(index.getParent().normalize())) {
                    throw new ModelLoadException(index + ": shard '" + n + "' points outside the model folder");
                }
                shards.add(shard);
            }
            return shards;
        } catch (IOException e) {
            throw new ModelLoadException(index + ": cannot read (" + e.getMessage() + ")", e);
        }
    }

    public Set<String> keys() {
        return byKey.keySet();
    }

    public boolean contains(String key) {
        return byKey.containsKey(key);
    }

    public TensorInfo info(String key) {
        return byKey.get(key).infos().get(key);
    }

    public Tensor get(String key) {
        SafeTensorsFile f = byKey.get(key);
        if (f == null) throw new ModelLoadException("no tensor named '" + key + "' in " + describe());
        return f.get(key);
    }

    public String describe() {
        return files.size() == 1 ? files.get(0).path().toString()
                : files.size() + " shards in " + files.get(0).path().getParent();
    }

    @Override
    public void close() {
        files.forEach(SafeTensorsFile::close);
    }
}
