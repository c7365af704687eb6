package org.evallearn.run;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/**
 * A run's output could not be written: the disk or the folder's quota is full, a file-size limit
 * was reached, the folder is read-only. Not a bug and not bad input; the message names the file,
 * the system's reason and what was kept, and the CLI prints it without a stack trace.
 */
public final class OutputWriteException extends UncheckedIOException {
    public OutputWriteException(Path file, IOException cause, String kept) {
        super("cannot write " + file + ": " + reason(cause) + "; " + kept, cause);
    }

    private static String reason(IOException e) {
        // FileChannel reports ENOSPC/EFBIG as a bare IOException whose message is the system's text.
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }
}
