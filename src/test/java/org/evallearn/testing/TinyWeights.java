package org.evallearn.testing;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BiConsumer;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.clip.ClipTokenizer;
import org.evallearn.tensor.SafeTensorsFile;
import org.evallearn.tensor.SafeTensorsWriter;
import org.evallearn.tensor.Scope;

/** Edits the weight files of a tiny pipeline written by {@code TinyPipeline}, to make models that misbehave on purpose. */
public final class TinyWeights {
    private TinyWeights() {}

    /** Rewrites {@code file} with every tensor as read, then {@code edit}ed in place (by name). */
    public static void edit(Path file, BiConsumer<String, Tensor> edit) {
        try (Scope s = Scope.open()) {
            Map<String, Tensor> tensors = new LinkedHashMap<>();
            try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
                // Cloned: the file's tensors map its bytes, which the rewrite replaces.
                for (String name : f.infos().keySet()) tensors.put(name, f.get(name).clone());
            }
            tensors.forEach(edit);
            SafeTensorsWriter.write(file, tensors);
        }
    }

    /**
     * Makes the text encoder's embedding of {@code word}'s first token NaN: every prompt with that
     * word gets NaN text states and so NaN latents, and every other prompt is untouched (the row
     * is only gathered for that token). Stands in for the real case, fp16 overflow on some prompts
     * only: a finite value made to overflow would turn NaN or not depending on the CPU's
     * LayerNorm kernel, while NaN propagates through any.
     */
    public static void nanFor(Path pipeline, String word) {
        ClipTokenizer tokenizer = ClipTokenizer.load(pipeline.resolve("tokenizer"));
        int id = tokenizer.encode(word)[0];
        edit(pipeline.resolve("text_encoder/model.safetensors"), (name, t) -> {
            if (name.equals("text_model.embeddings.token_embedding.weight")) t.select(0, id).fill_(new org.bytedeco.pytorch.Scalar(Double.NaN));
        });
    }
}
