package org.evallearn.models;

import java.net.URI;
import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;

/**
 * Where the cache is and how downloads may go, from the environment (system properties win, so
 * tests and embedders can set them): {@code EVALLEARN_HOME} / {@code evallearn.home} (default
 * {@code ~/.cache/evallearn}); {@code EVALLEARN_OFFLINE} or {@code HF_HUB_OFFLINE} /
 * {@code evallearn.offline}; {@code HF_TOKEN}; {@code EVALLEARN_HF_ENDPOINT} /
 * {@code evallearn.hf.endpoint}, which replaces {@code https://huggingface.co} in manifest URLs.
 *
 * @param offlineReason the variable that switched offline mode on, for error messages; empty when online
 */
public record StoreSettings(Path home, Optional<String> offlineReason, Optional<String> hfToken, URI hfEndpoint) {
    public static final URI HUGGING_FACE = URI.create("https://huggingface.co");

    public boolean offline() {
        return offlineReason.isPresent();
    }

    public static StoreSettings fromEnvironment() {
        return from(System.getenv(), System.getProperties());
    }

    public static StoreSettings from(Map<String, String> env, Properties props) {
        Path home = Path.of(setting(env, props, "EVALLEARN_HOME", "evallearn.home")
                .orElse(System.getProperty("user.home") + "/.cache/evallearn"));
        Optional<String> offline = Optional.empty();
        for (String[] names : new String[][] {{"EVALLEARN_OFFLINE", "evallearn.offline"}, {"HF_HUB_OFFLINE", null}}) {
            Optional<String> value = setting(env, props, names[0], names[1]);
            if (value.isPresent() && truthy(value.get())) {
                offline = Optional.of(names[0] + "=" + value.get());
                break;
            }
        }
        URI endpoint = setting(env, props, "EVALLEARN_HF_ENDPOINT", "evallearn.hf.endpoint")
                .map(s -> URI.create(s.endsWith("/") ? s.substring(0, s.length() - 1) : s)).orElse(HUGGING_FACE);
        return new StoreSettings(home, offline, setting(env, props, "HF_TOKEN", null), endpoint);
    }

    private static Optional<String> setting(Map<String, String> env, Properties props, String envName, String property) {
        String value = property == null ? null : props.getProperty(property);
        if (value == null) value = env.get(envName);
        return value == null || value.isBlank() ? Optional.empty() : Optional.of(value.trim());
    }

    // huggingface_hub's reading of HF_HUB_OFFLINE: 1, ON, YES, TRUE, case-insensitive.
    private static boolean truthy(String value) {
        return switch (value.toLowerCase(Locale.ROOT)) {
            case "1", "on", "yes", "true" -> true;
            default -> false;
        };
    }
}
