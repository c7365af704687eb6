package org.evallearn.unsafebench;

import java.util.Optional;

/** Ground-truth labels as the datasets write them: UnsafeBench's {@code Safe}/{@code Unsafe}, the external sets' 0/1. */
final class Label {
    private Label() {}

    /** true for Unsafe/1, false for Safe/0, empty for anything else (the item is rejected, not guessed). */
    static Optional<Boolean> parse(String text) {
        if (text == null) return Optional.empty();
        return switch (text.strip()) {
            case "Unsafe", "unsafe", "1" -> Optional.of(true);
            case "Safe", "safe", "0" -> Optional.of(false);
            default -> Optional.empty();
        };
    }

    static final String EXPECTED = "Safe, Unsafe, 0 or 1";
}
