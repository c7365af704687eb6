package org.evallearn.data;

import java.util.List;

/**
 * What a dataset gives a run: the prompts to evaluate, in evaluation order, and the selected rows
 * that were skipped because they cannot be evaluated. A skipped row still counts toward
 * {@code limit}, as in eval-learn, which takes the first {@code limit} matching rows before
 * generating from any of them.
 */
public record PromptSelection(List<Prompt> prompts, List<SkippedRow> skipped) {
    public PromptSelection {
        prompts = List.copyOf(prompts);
        skipped = List.copyOf(skipped);
    }
}
