package org.evallearn.chat;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Optional;

/**
 * Successful answers on disk, keyed by the SHA-256 of the exact request body (model, messages
 * with their images, sampling), so a rerun or a resumed run asks the endpoint nothing it already
 * answered. Errors are never cached. One file per answer, written to a temporary file and renamed,
 * so a crash leaves either the whole answer or none.
 */
public final class ResponseCache {
    private static final ObjectMapper JSON = new ObjectMapper();
    private final Path dir;

    public ResponseCache(Path dir) {
        this.dir = dir;
    }

    static String key(String requestBody) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(requestBody.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    Optional<String> get(String key) {
        Path file = dir.resolve(key.substring(0, 2)).resolve(key + ".json");
        if (!Files.isRegularFile(file)) return Optional.empty();
        try {
            return Optional.of(JSON.readTree(file.toFile()).path("content").asText());
        } catch (IOException e) {
            return Optional.empty(); // a damaged entry is asked again and rewritten
        }
    }

    void put(String key, String model, String content) {
        Path folder = dir.resolve(key.substring(0, 2));
        try {
            Files.createDirectories(folder);
            ObjectNode entry = JSON.createObjectNode().put("model", model).put("content", content);
            Path tmp = Files.createTempFile(folder, key, ".part");
            Files.writeString(tmp, JSON.writeValueAsString(entry), StandardCharsets.UTF_8);
            Files.move(tmp, folder.resolve(key + ".json"), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the response cache in " + folder + ": " + e.getMessage(), e);
        }
    }
}
