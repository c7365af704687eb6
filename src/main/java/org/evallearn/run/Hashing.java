package org.evallearn.run;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

/** SHA-256 as lowercase hex, of bytes, of a file, or of a value as compact JSON (insertion-ordered maps give a stable hash). */
public final class Hashing {
    private static final ObjectMapper COMPACT = new ObjectMapper();

    private Hashing() {}

    public static String sha256(byte[] bytes) {
        return HexFormat.of().formatHex(digest().digest(bytes));
    }

    public static String sha256Json(Object value) {
        try {
            return sha256(COMPACT.writeValueAsBytes(value));
        } catch (JsonProcessingException e) {
            throw new IllegalStateException("not serialisable as JSON: " + e.getMessage(), e);
        }
    }

    public static String sha256File(Path file) {
        return sha256(readBytes(file));
    }

    static byte[] readBytes(Path file) {
        try {
            return Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
        }
    }

    private static MessageDigest digest() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
