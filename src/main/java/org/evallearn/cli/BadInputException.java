package org.evallearn.cli;

/** A user error (missing file, bad option value): reported by message alone, exit code 2. */
public class BadInputException extends RuntimeException {
    public BadInputException(String message) {
        super(message);
    }
}
