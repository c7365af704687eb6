package org.evallearn.golden;

/** One compared output of a fixture: its max absolute error and the verdict at the tolerance. */
public record Check(String fixture, String output, double maxAbsError, boolean pass, String note) {
    public static Check of(String fixture, String output, org.evallearn.tensor.TensorCompare.Result r) {
        return new Check(fixture, output, r.maxAbsError(), r.pass(), r.problem());
    }
}
