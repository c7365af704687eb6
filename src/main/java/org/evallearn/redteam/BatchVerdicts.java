package org.evallearn.redteam;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.function.Function;

/**
 * How a classifier judge turns a batch into verdicts: the whole batch at once, and when that fails,
 * each item alone, so an error (a prompt the tokenizer refuses, an image that breaks preprocessing)
 * costs only the items it touched.
 */
final class BatchVerdicts {
    private BatchVerdicts() {}

    static <T, P> List<Verdict> judge(String judge, List<T> items, Function<List<T>, List<P>> classify, Function<P, Verdict> decide) {
        List<P> predictions;
        try {
            predictions = classify.apply(items);
        } catch (RuntimeException batchFailure) {
            List<Verdict> out = new ArrayList<>(items.size());
            for (T item : items) {
                try {
                    out.add(decide.apply(classify.apply(Collections.singletonList(item)).get(0)));
                } catch (RuntimeException e) {
                    out.add(Verdict.failed(judge, e.getClass().getSimpleName() + ": " + e.getMessage()));
                }
            }
            return out;
        }
        List<Verdict> out = new ArrayList<>(predictions.size());
        for (P p : predictions) out.add(decide.apply(p));
        return out;
    }
}
