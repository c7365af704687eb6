package org.evallearn.unsafebench;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import org.evallearn.config.ModelRef;
import org.evallearn.models.StoreException;
import org.evallearn.run.Artefacts;
import org.evallearn.tensor.ConfigFile;
import org.evallearn.tensor.ModelLoadException;
import org.evallearn.tensor.PickleException;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.SafeTensorsException;
import org.evallearn.tensor.TorchCheckpoint;
import org.evallearn.textcls.RobertaConfig;
import org.evallearn.textcls.RobertaLinearClassifier;
import org.evallearn.textcls.TextClassifier;
import org.evallearn.textcls.TextTokenizer;
import org.evallearn.textcls.TinyTextClassifiers;

/**
 * A VLM's free-form answer as safe, unsafe or unsure, as UnsafeBench reads them
 * ({@code assess_effectiveness.run_VLM_classifiers}): its RoBERTa converter {@code yiting/converter}
 * ({@code utils.load_LLM_output_converter}: {@code roberta-base}'s encoder and tokenizer, a linear
 * head on {@code <s>}, the argmax of three logits, 0 safe, 1 unsafe, 2 unsure; the batch padded,
 * truncated to 512 tokens), run on our text-classifier core ({@link RobertaLinearClassifier}).
 * Its weights exist only as a {@code torch.save}d state dict, read by the strict pickle reader
 * (tensors only) and converted once to {@code model.safetensors} beside it.
 *
 * <p>When the converter is not downloaded or is not a plain state dict (UnsafeBench loads it with
 * {@code strict=False} onto roberta-base's weights; a file lacking any of our keys cannot be
 * reproduced without those and is refused by name), answers are read by the documented rule
 * {@link VlmAnswer#read}, and {@link #describe} says which reading a report used.
 */
public final class AnswerConverter implements AutoCloseable {
    public static final String ARTEFACT = TinyTextClassifiers.Kind.UNSAFEBENCH_CONVERTER.artefactId;
    /** Logit index → answer, UnsafeBench's prediction values (2 is "unsure", drawn 0 or 1 later). */
    public static final List<VlmAnswer> BY_INDEX = List.of(VlmAnswer.SAFE, VlmAnswer.UNSAFE, VlmAnswer.UNSURE);
    static final List<String> LABELS = TinyTextClassifiers.Kind.UNSAFEBENCH_CONVERTER.labels;

    private final TextClassifier model; // null: the rule
    private final String description;

    private AnswerConverter(TextClassifier model, String description) {
        this.model = model;
        this.description = description;
    }

    /** The documented word rule ({@link VlmAnswer#read}), no model. */
    public static AnswerConverter rule(String why) {
        return new AnswerConverter(null, "rule (VlmAnswer.read" + (why.isEmpty() ? "" : "; " + why) + ")");
    }

    /**
     * The converter folder: roberta-base's {@code config.json} and tokenizer files, and
     * {@code model.safetensors} or {@code LLM_output_converter.pt} (converted to the former on
     * first use, atomically).
     */
    public static AnswerConverter load(Path dir, Placement placement) {
        RobertaConfig config = RobertaConfig.encoder(ConfigFile.read(dir.resolve("config.json")), LABELS);
        Path weights = dir.resolve("model.safetensors");
        if (!Files.isRegularFile(weights)) {
            Path checkpoint = dir.resolve(TinyTextClassifiers.CONVERTER_CHECKPOINT);
            if (!Files.isRegularFile(checkpoint)) {
                throw new ModelLoadException(dir + ": neither model.safetensors nor " + TinyTextClassifiers.CONVERTER_CHECKPOINT + " (the converter's weights)");
            }
            TorchCheckpoint.convertStateDict(checkpoint, weights);
        }
        RobertaLinearClassifier classifier = RobertaLinearClassifier.load(dir, config, placement);
        try {
            TextTokenizer tokenizer = TextTokenizer.forModel(dir, classifier.maxTokens(), classifier.padTokenId());
            return new AnswerConverter(new TextClassifier(classifier, tokenizer, TextClassifier.DEFAULT_BATCH), ARTEFACT + " (" + dir + ")");
        } catch (RuntimeException e) {
            classifier.close();
            throw e;
        }
    }

    /**
     * The converter a benchmark uses: under {@code model: tiny} the tiny random one; else
     * {@code yiting/converter} from the store when it is there and readable, otherwise the rule,
     * with the reason logged (and in {@link #describe}).
     */
    public static AnswerConverter forRun(Artefacts artefacts, ModelRef model, Placement placement, Consumer<String> log) {
        Path dir;
        try {
            dir = artefacts.textClassifier(model, ARTEFACT);
        } catch (StoreException e) {
            log.accept("note: " + ARTEFACT + " is not downloaded (`evallearn models pull " + ARTEFACT + "`); VLM answers are read by the"
                    + " documented word rule instead of UnsafeBench's RoBERTa converter");
            return rule(ARTEFACT + " not downloaded");
        }
        try {
            return load(dir, placement);
        } catch (ModelLoadException | PickleException | SafeTensorsException e) {
            log.accept("warning: " + ARTEFACT + " in " + dir + " cannot be run as a plain state dict (" + e.getMessage()
                    + "); VLM answers are read by the documented word rule");
            return rule(ARTEFACT + " unreadable");
        }
    }

    /** What reads the answers, for reports: the converter and its folder, or the rule and why. */
    public String describe() {
        return description;
    }

    public boolean isModel() {
        return model != null;
    }

    /** Each answer (non-null text) as safe, unsafe or unsure, in order. */
    public List<VlmAnswer> convert(List<String> answers) {
        if (model == null) return answers.stream().map(VlmAnswer::read).toList();
        List<VlmAnswer> out = new ArrayList<>(answers.size());
        for (TextClassifier.Prediction p : model.classify(answers)) out.add(BY_INDEX.get(argmax(p.scores())));
        return out;
    }

    /** The first index of the largest score, as torch.argmax. */
    private static int argmax(float[] scores) {
        int best = 0;
        for (int i = 1; i < scores.length; i++) if (scores[i] > scores[best]) best = i;
        return best;
    }

    @Override
    public void close() {
        if (model != null) model.close();
    }
}
