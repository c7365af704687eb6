package org.evallearn.tensor;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.function.Function;
import java.util.function.Predicate;

/** Builds a {@link Model} on weights read strictly from a folder, or on fresh random weights. */
public final class ModelLoader {
    private ModelLoader() {}

    /** {@link #load(Path, String, String, Placement, Function, Predicate, String, String, Function)} with the folder's config.json. */
    public static <M extends Model> M load(Path dir, String base, String variant, Placement placement,
            Function<String, List<String>> legacyNames, Predicate<String> ignorable, String modelName,
            Function<Params, M> build) {
        return load(dir, base, variant, placement, legacyNames, ignorable, modelName, dir.resolve("config.json").toString(), build);
    }

    /**
     * @param base file name without extension, e.g. {@code diffusion_pytorch_model}
     * @param variant e.g. {@code fp16}; tried first, null for none (see {@link WeightFiles#openIn})
     * @param legacyNames older key spellings to try for a key that is absent
     * @param ignorable keys of the file that this model may leave unused
     * @param configSource where the config {@code build} uses came from, named when building fails
     */
    public static <M extends Model> M load(Path dir, String base, String variant, Placement placement,
            Function<String, List<String>> legacyNames, Predicate<String> ignorable, String modelName,
            String configSource, Function<Params, M> build) {
        if (!Files.isDirectory(dir)) throw new ModelLoadException(dir + ": model folder does not exist");
        Natives.load();
        try (WeightFiles files = WeightFiles.openIn(dir, base, variant)) {
            LoadingBinder binder = new LoadingBinder(files, placement, legacyNames);
            M model;
            try {
                model = build.apply(new Params(binder));
            } catch (RuntimeException e) {
                // The layers built before the failure hold weights no model will own.
                binder.abandon();
                if (e instanceof ModelLoadException && binder.stoppedEarly()) {
                    throw new ModelLoadException(configSource + ": does not describe the weights of " + modelName + ": " + e.getMessage(), e);
                }
                if (e instanceof ModelLoadException) throw e;
                throw new ModelLoadException(configSource + ": cannot build " + modelName + " from this config ("
                        + e.getMessage() + ")", e);
            }
            model.adopt(binder.finish(modelName, ignorable));
            warnNonFinite(files.describe(), modelName, binder.nonFinite());
            return model;
        }
    }

    /**
     * One warning per model naming its tensors with NaN/Inf, on stderr where the CLI logs: it
     * comes from deep inside whatever loads a model, and must reach the user whichever that is.
     */
    static void warnNonFinite(String file, String modelName, List<String> tensors) {
        if (tensors.isEmpty()) return;
        StringBuilder sb = new StringBuilder("warning: ").append(file).append(": ").append(tensors.size())
                .append(tensors.size() == 1 ? " tensor" : " tensors").append(" of ").append(modelName)
                .append(tensors.size() == 1 ? " holds" : " hold").append(" non-finite values: ");
        sb.append(String.join(", ", tensors.subList(0, Math.min(10, tensors.size()))));
        if (tensors.size() > 10) sb.append(", … and ").append(tensors.size() - 10).append(" more");
        sb.append("; its outputs will likely be NaN");
        System.err.println(sb);
    }

    /** A model with weights from {@link RandomBinder}; {@code binder.tensors()} can then be written. */
    public static <M extends Model> M random(RandomBinder binder, Function<Params, M> build) {
        M model;
        try {
            model = build.apply(new Params(binder));
        } catch (RuntimeException e) {
            binder.abandon();
            throw e;
        }
        model.adopt(binder.finish());
        return model;
    }
}
