package org.evallearn.espresso;

import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.TreeSet;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.clip.ClipTextModel;
import org.evallearn.clip.ClipTokenizer;
import org.evallearn.config.Technique.EspressoRule;
import org.evallearn.tensor.ModelLoadException;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.SafeTensorsFile;
import org.evallearn.tensor.Scope;
import org.evallearn.tensor.WeightFiles;

/**
 * Builds a {@link ConceptFilter} from a CLIPModel folder: the two texts embedded by its text tower
 * (or by a fine-tuned one read from safetensors), and its {@code logit_scale}.
 */
public final class FilterLoader {
    private FilterLoader() {}

    /**
     * @param textTower a fine-tuned text tower replacing the folder's (see {@link #loadTextTower}); empty: the folder's own
     * @throws ConceptFilter.DegeneratePairException when the two texts embed to one direction
     */
    public static ConceptFilter load(Path clipDir, Optional<Path> textTower, String unacceptable, String acceptable, EspressoRule rule,
            Placement placement) {
        Tensor texts;
        try (ClipTextModel text = ClipTextModel.load(clipDir, placement)) {
            textTower.ifPresent(file -> loadTextTower(text, file));
            texts = textEmbeds(text, ClipTokenizer.load(clipDir), List.of(unacceptable, acceptable), placement);
        }
        try (Scope s = Scope.open()) {
            return new ConceptFilter(texts.select(0, 0), texts.select(0, 1), logitScale(clipDir), rule);
        } finally {
            texts.close();
        }
    }

    /** The folder's learned log temperature, {@code logit_scale} in model.safetensors. */
    public static double logitScale(Path clipDir) {
        try (WeightFiles files = WeightFiles.openIn(clipDir, "model", null); Scope s = Scope.open()) {
            if (!files.contains("logit_scale")) throw new ModelLoadException(files.describe() + ": no logit_scale (not a CLIPModel's weights?)");
            return files.get("logit_scale").to(torch.ScalarType.Double).item_double();
        }
    }

    /** CLIP text_embeds (N, D) of {@code texts}, float32; the caller closes them. */
    public static Tensor textEmbeds(ClipTextModel text, ClipTokenizer tokenizer, List<String> texts, Placement placement) {
        try (InferenceMode guard = new InferenceMode(); Scope s = Scope.open()) {
            return s.escape(text.forward(inputIds(tokenizer, texts, placement)).textEmbeds().to(torch.ScalarType.Float).clone());
        }
    }

    /** (N, 77) int64 ids, padded as Stable Diffusion's tokenizer pads (CLIP pools at the first EOS, so padding does not change text_embeds). */
    static Tensor inputIds(ClipTokenizer tokenizer, List<String> texts, Placement placement) {
        long[][] ids = tokenizer.sdInputIds(texts);
        long[] flat = new long[ids.length * ids[0].length];
        for (int i = 0; i < ids.length; i++) System.arraycopy(ids[i], 0, flat, i * ids[i].length, ids[i].length);
        return Tensor.create(flat, ids.length, ids[0].length).to(placement.torchDevice(), torch.ScalarType.Long);
    }

    /**
     * Copies a fine-tuned text tower into {@code model}. Keys are the CLIPModel's
     * ({@code text_model.…}, optionally {@code text_projection.weight}) or those of Espresso's
     * {@code textEncoder_state_dict} ({@code embeddings.…}, {@code encoder.…},
     * {@code final_layer_norm.…}, i.e. {@code text_model} without its prefix); the
     * {@code position_ids} buffer is ignored. Every text_model parameter must be in the file, so
     * a partial or foreign file is refused before anything is copied.
     */
    public static void loadTextTower(ClipTextModel model, Path file) {
        Map<String, Tensor> params = model.namedParameters();
        try (Scope s = Scope.open(); SafeTensorsFile f = SafeTensorsFile.open(file)) {
            Map<String, Tensor> edit = new TreeMap<>();
            for (String key : f.infos().keySet()) {
                String k = key.startsWith("text_model.") || key.equals("text_projection.weight") ? key : "text_model." + key;
                if (k.endsWith("embeddings.position_ids")) continue;
                Tensor p = params.get(k);
                if (p == null) throw new ModelLoadException(file + ": tensor '" + key + "' is not a parameter of the CLIP text tower");
                Tensor t = f.get(key);
                if (!Arrays.equals(p.shape(), t.shape())) {
                    throw new ModelLoadException(file + ": tensor '" + key + "' has shape " + Arrays.toString(t.shape()) + ", the text tower's is "
                            + Arrays.toString(p.shape()) + " (a text tower of another CLIP model?)");
                }
                edit.put(k, t);
            }
            TreeSet<String> missing = new TreeSet<>();
            for (String k : params.keySet()) if (k.startsWith("text_model.") && !edit.containsKey(k)) missing.add(k);
            if (!missing.isEmpty()) {
                throw new ModelLoadException(file + ": not a whole text tower; missing " + missing.size() + " tensors, e.g. '" + missing.first() + "'");
            }
            for (var e : edit.entrySet()) {
                Tensor p = params.get(e.getKey());
                p.copy_(e.getValue().to(p.device(), p.scalar_type()));
            }
        }
    }

    /** The entry of Espresso's checkpoints that holds the text tower. */
    public static final String ESPRESSO_TOWER_KEY = "textEncoder_state_dict";

    /**
     * Converts Espresso's {@code torch.save} checkpoint (e.g. Zenodo's {@code base_clip.pt}) to a
     * safetensors text tower in CLIPModel's layout ({@code text_model.…}), reading it with the
     * strict torch-zip reader (tensor data only, nothing unpickled); the {@code position_ids}
     * buffer is left out. Whether it fits a CLIP model is checked when it is loaded.
     *
     * @return how many tensors were written
     */
    public static int convertTower(Path checkpoint, Path out) {
        try (Scope s = Scope.open()) {
            Map<String, Tensor> tower = new TreeMap<>();
            for (var e : org.evallearn.tensor.TorchCheckpoint.stateDict(checkpoint, ESPRESSO_TOWER_KEY).entrySet()) {
                if (e.getKey().endsWith("position_ids")) continue;
                tower.put(e.getKey().startsWith("text_model.") ? e.getKey() : "text_model." + e.getKey(), e.getValue());
            }
            if (tower.isEmpty()) throw new ModelLoadException(checkpoint + ": '" + ESPRESSO_TOWER_KEY + "' holds no tensors");
            org.evallearn.tensor.SafeTensorsWriter.write(out, tower, Map.of("source", checkpoint.getFileName().toString(), "converted_from",
                    ESPRESSO_TOWER_KEY));
            return tower.size();
        }
    }
}
