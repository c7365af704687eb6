package org.evallearn.redteam;

import java.util.List;

/** Judges prompts (ART's TD, NSFW-P, TCD text classifiers and Llama Guard); a prompt is safe only if every prompt judge passes it. */
public interface PromptJudge extends AutoCloseable {
    /** The judge's name in logs and reports ({@code td}, {@code nsfw_p}, {@code tcd}, {@code llama_guard}). */
    String name();

    /** One verdict per prompt, in order; a failure costs only the prompts it touched. */
    List<Verdict> judge(List<String> prompts);

    @Override
    void close();
}
