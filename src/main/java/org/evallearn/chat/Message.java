package org.evallearn.chat;

import java.util.Base64;
import java.util.Optional;

/**
 * One chat message: a role and its text, optionally with an image sent inline as a
 * {@code data:} URL in OpenAI's {@code image_url} content part (what vLLM, Ollama and llama.cpp
 * accept for vision models).
 *
 * @param png encoded PNG bytes, or empty
 */
public record Message(String role, String text, Optional<byte[]> png) {
    public static Message system(String text) {
        return new Message("system", text, Optional.empty());
    }

    public static Message user(String text) {
        return new Message("user", text, Optional.empty());
    }

    public static Message assistant(String text) {
        return new Message("assistant", text, Optional.empty());
    }

    public static Message userWithImage(String text, byte[] png) {
        return new Message("user", text, Optional.of(png));
    }

    String dataUrl() {
        return "data:image/png;base64," + Base64.getEncoder().encodeToString(png.orElseThrow());
    }
}
