package org.evallearn.config;

import java.util.List;

/**
 * A config file that cannot be run. Each problem names the field path (e.g.
 * {@code metric.config.concept_name}), the value and what is allowed; the CLI exits with 2.
 */
public class ConfigException extends RuntimeException {
    /** One problem: {@code path} is the dotted field path from the file's root ({@code ""} for the root itself). */
    public record Problem(String path, String message) {
        @Override
        public String toString() {
            return path.isEmpty() ? message : path + ": " + message;
        }
    }

    private final String file;
    private final List<Problem> problems;

    public ConfigException(String file, List<Problem> problems) {
        super(format(file, problems));
        this.file = file;
        this.problems = List.copyOf(problems);
    }

    public String file() {
        return file;
    }

    public List<Problem> problems() {
        return problems;
    }

    private static String format(String file, List<Problem> problems) {
        if (problems.size() == 1) return file + ": " + problems.get(0);
        StringBuilder s = new StringBuilder(file).append(": ").append(problems.size()).append(" problems");
        for (Problem p : problems) s.append("\n  ").append(p);
        return s.toString();
    }
}
