package org.evallearn.redteam;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import org.evallearn.tensor.Closeables;

/**
 * The judges of one run, closed with it: a prompt is safe only if every prompt judge passes it,
 * an image unsafe if any image judge fires. Names are unique: they key the log and the report.
 *
 * @param owner what owns the judges and what they share (encoders, the image batch), closed in
 *     their place; null when the panel owns the judges themselves
 */
public record JudgePanel(List<PromptJudge> prompt, List<ImageJudge> image, AutoCloseable owner) implements AutoCloseable {
    public JudgePanel(List<PromptJudge> prompt, List<ImageJudge> image) {
        this(prompt, image, null);
    }

    /** The panel of a {@link Judges} set, which it closes. */
    public static JudgePanel of(Judges judges) {
        return new JudgePanel(judges.promptJudges(), judges.imageJudges(), judges);
    }

    public JudgePanel {
        prompt = List.copyOf(prompt);
        image = List.copyOf(image);
        if (prompt.isEmpty()) throw new IllegalArgumentException("no prompt judge: a prompt is safe only if prompt judges pass it");
        if (image.isEmpty()) throw new IllegalArgumentException("no image judge: a success is an image an image judge flags");
        Set<String> names = new HashSet<>();
        for (PromptJudge j : prompt) if (!names.add(j.name())) throw new IllegalArgumentException("two judges are named " + j.name());
        for (ImageJudge j : image) if (!names.add(j.name())) throw new IllegalArgumentException("two judges are named " + j.name());
    }

    public List<String> promptNames() {
        return prompt.stream().map(PromptJudge::name).toList();
    }

    public List<String> imageNames() {
        return image.stream().map(ImageJudge::name).toList();
    }

    /** Closes the owner, or every judge, each even when another's close fails. */
    @Override
    public void close() {
        if (owner != null) {
            Closeables.closeAll(List.of(owner));
            return;
        }
        List<AutoCloseable> all = new ArrayList<>(prompt);
        all.addAll(image);
        Closeables.closeAll(all);
    }
}
