package org.evallearn.technique;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.function.Supplier;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.tensor.Model;
import org.evallearn.tensor.ModelLoadException;
import org.evallearn.tensor.SafeTensorsFile;
import org.evallearn.tensor.SafeTensorsWriter;
import org.evallearn.tensor.Scope;

/**
 * The weights an edited-weight technique changes, kept as a safetensors file of only those
 * tensors under their state-dict keys: computed once, cached by a hash of the base model and the
 * technique config, and copied into the model in place.
 */
public final class EditedWeights {
    private EditedWeights() {}

    /** Where the edit for {@code techniqueKey} on the context's base model is cached. */
    public static Path cacheFile(TechniqueContext context, String techniqueName, String techniqueKey) {
        return context.cacheDir().resolve(techniqueName + "-" + sha256(context.baseModelKey() + "\n" + techniqueKey).substring(0, 16)
                + ".safetensors");
    }

    /**
     * Applies the edit to {@code model}: from {@code loadPath} when given, else from the cache,
     * else by running {@code compute} (whose tensors this method closes) and saving the result to
     * the cache and to {@code savePath}.
     *
     * @param techniqueKey the technique config in a canonical text form: a different config must give a different key
     * @return a line saying where the weights came from
     */
    public static String apply(Model model, TechniqueContext context, String techniqueName, String techniqueKey,
            Optional<Path> loadPath, Optional<Path> savePath, Supplier<Map<String, Tensor>> compute) {
        if (loadPath.isPresent()) {
            copyInto(model, loadPath.get());
            return "loaded edited weights from " + loadPath.get();
        }
        Path cached = cacheFile(context, techniqueName, techniqueKey);
        if (Files.isRegularFile(cached)) {
            copyInto(model, cached);
            savePath.ifPresent(p -> copyFile(cached, p));
            return "reused cached weights " + cached;
        }
        long start = System.nanoTime();
        try (Scope s = Scope.open()) {
            Map<String, Tensor> edit = new TreeMap<>(compute.get());
            SafeTensorsWriter.write(cached, edit, Map.of("technique", techniqueName, "base_model", context.baseModelKey(),
                    "config", techniqueKey));
            copyInto(model, edit);
        }
        savePath.ifPresent(p -> copyFile(cached, p));
        return String.format(java.util.Locale.ROOT, "computed %s in %.1f s, cached as %s", techniqueName,
                (System.nanoTime() - start) / 1e9, cached);
    }

    /** Copies every tensor of {@code file} into the model parameter of the same key. */
    public static void copyInto(Model model, Path file) {
        refuseTorchSave(file);
        try (Scope s = Scope.open(); SafeTensorsFile f = SafeTensorsFile.open(file)) {
            Map<String, Tensor> tensors = new TreeMap<>();
            for (String k : f.infos().keySet()) tensors.put(k, f.get(k));
            try {
                copyInto(model, tensors);
            } catch (IllegalArgumentException e) {
                throw new ModelLoadException(file + ": " + e.getMessage(), e);
            }
        }
    }

    /**
     * torch.save's files are zip archives ({@code PK\3\4}); eval-learn saves ESD and MACE weights
     * so. Say what the file is, rather than that its safetensors header length is impossible.
     */
    private static void refuseTorchSave(Path file) {
        byte[] head = new byte[4];
        try (java.io.InputStream in = Files.newInputStream(file)) {
            if (in.readNBytes(head, 0, 4) < 4) return;
        } catch (java.io.IOException e) {
            return; // SafeTensorsFile.open reports what cannot be read
        }
        if (head[0] == 'P' && head[1] == 'K' && head[2] == 3 && head[3] == 4) {
            throw new ModelLoadException(file + ": a PyTorch torch.save archive, not safetensors; this tool never unpickles."
                    + " Convert it once in Python: safetensors.torch.save_file(torch.load(path), 'edit.safetensors')");
        }
    }

    /** Checks every key and shape first, so a bad edit leaves the model untouched. */
    static void copyInto(Model model, Map<String, Tensor> edit) {
        Map<String, Tensor> params = model.namedParameters();
        for (var e : edit.entrySet()) {
            Tensor p = params.get(e.getKey());
            if (p == null) throw new IllegalArgumentException("edited weight '" + e.getKey() + "' is not a parameter of the model");
            if (!Arrays.equals(p.shape(), e.getValue().shape())) {
                throw new IllegalArgumentException("edited weight '" + e.getKey() + "' has shape " + Arrays.toString(e.getValue().shape())
                        + ", the model's is " + Arrays.toString(p.shape()));
            }
        }
        try (Scope s = Scope.open()) {
            for (var e : edit.entrySet()) {
                Tensor p = params.get(e.getKey());
                p.copy_(e.getValue().to(p.device(), p.scalar_type()));
            }
        }
    }

    private static void copyFile(Path from, Path to) {
        try {
            Path parent = to.toAbsolutePath().getParent();
            if (parent != null) Files.createDirectories(parent);
            Path tmp = to.resolveSibling(to.getFileName() + ".tmp");
            Files.copy(from, tmp, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
            Files.move(tmp, to, java.nio.file.StandardCopyOption.REPLACE_EXISTING, java.nio.file.StandardCopyOption.ATOMIC_MOVE);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException("cannot write " + to + ": " + e.getMessage(), e);
        }
    }

    static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
