package org.evallearn.models;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.HexFormat;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Downloads one file into place: bytes go to {@code NAME.part}, a retry or a later pull resumes
 * it with {@code Range: bytes=N-}, and only a file whose size and sha256 match the manifest is
 * renamed to {@code NAME}. Uses the JDK's {@link HttpClient}; range requests, redirects and one
 * header are all it takes, so no HTTP library is added.
 *
 * <p>The JDK client bounds only the connect and the wait for headers; a host that stops sending
 * mid-body would block a read forever. So the body is read under a stall guard: no byte for
 * {@code stall} closes the stream, and that attempt fails like a cut transfer (the next one resumes).
 */
public final class Downloader {
    static final int ATTEMPTS = 3;
    private static final int MAX_REDIRECTS = 10;
    static final Duration DEFAULT_STALL = Duration.ofSeconds(60);

    private final HttpClient client;
    private final StoreSettings settings;
    private final Consumer<String> log;
    private final Duration stall;

    public Downloader(StoreSettings settings, Consumer<String> log) {
        this(settings, log, DEFAULT_STALL);
    }

    Downloader(StoreSettings settings, Consumer<String> log, Duration stall) {
        // Redirects are followed by hand so that the token never follows one off huggingface.co.
        this.client = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER)
                .connectTimeout(Duration.ofSeconds(30)).build();
        this.settings = settings;
        this.log = log;
        this.stall = stall;
    }

    /**
     * Fetches {@code manifestUrl} (a Hugging Face URL through the configured endpoint) into
     * {@code target}, checked against {@code sha256} and {@code size} where given; a
     * {@link StoreException} names the URL and the reason (HTTP status, mismatch, retries spent).
     */
    public void download(URI manifestUrl, Path target, Optional<String> sha256, OptionalLong size) {
        download(manifestUrl, target, sha256, Optional.empty(), size);
    }

    /** As {@link #download(URI, Path, Optional, OptionalLong)}, also checked against the leading hex digits of the sha256 where only those are known. */
    public void download(URI manifestUrl, Path target, Optional<String> sha256, Optional<String> sha256Prefix, OptionalLong size) {
        URI url = endpointFor(manifestUrl);
        Path part = target.resolveSibling(target.getFileName() + ".part");
        try {
            Files.createDirectories(target.getParent());
            IOException failure = null;
            for (int attempt = 1; attempt <= ATTEMPTS; attempt++) {
                try {
                    fetch(url, part);
                    failure = null;
                    break;
                } catch (IOException e) {
                    failure = e;
                    log.accept("  interrupted after " + sizeOf(part) + " bytes (" + describe(e) + ")"
                            + (attempt < ATTEMPTS ? "; resuming" : ""));
                }
            }
            if (failure != null) {
                throw new StoreException("download of " + url + " failed " + ATTEMPTS + " times (last: " + describe(failure)
                        + "); " + sizeOf(part) + " bytes are kept in " + part + " and the next pull resumes from there", failure);
            }
            verify(part, url, sha256, sha256Prefix, size);
            Files.move(part, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new StoreException("cannot write " + part + ": " + e.getMessage(), e);
        }
    }

    /** Manifest URLs name huggingface.co; a configured endpoint (a mirror, or a test server) replaces it. */
    URI endpointFor(URI manifestUrl) {
        if (!isHuggingFace(manifestUrl) || settings.hfEndpoint().equals(StoreSettings.HUGGING_FACE)) return manifestUrl;
        return URI.create(settings.hfEndpoint() + manifestUrl.getRawPath());
    }

    private void fetch(URI url, Path part) throws IOException {
        long have = sizeOf(part);
        URI current = url;
        for (int hop = 0; hop <= MAX_REDIRECTS; hop++) {
            HttpRequest.Builder request = HttpRequest.newBuilder(current).GET().timeout(stall).header("User-Agent", "evallearn/0.1");
            if (have > 0) request.header("Range", "bytes=" + have + "-");
            if (tokenAllowed(current)) settings.hfToken().ifPresent(t -> request.header("Authorization", "Bearer " + t));
            HttpResponse<InputStream> response = send(request.build());
            int status = response.statusCode();
            try (InputStream body = response.body()) {
                if (status == 301 || status == 302 || status == 303 || status == 307 || status == 308) {
                    String location = response.headers().firstValue("Location")
                            .orElseThrow(() -> new StoreException("HTTP " + status + " without a Location header from " + url));
                    current = current.resolve(location);
                    continue;
                }
                switch (status) {
                    case 206 -> {
                        String range = response.headers().firstValue("Content-Range").orElse("");
                        if (!range.startsWith("bytes " + have + "-")) {
                            throw new StoreException("asked " + url + " for bytes " + have + "- and got Content-Range '" + range + "'");
                        }
                        copy(body, part, true, stall);
                    }
                    // A server that ignores Range sends the whole file: start over.
                    case 200 -> copy(body, part, false, stall);
                    case 416 -> {
                        // The .part is as long as the file or longer: keep it if complete, else start over.
                        String range = response.headers().firstValue("Content-Range").orElse("");
                        if (range.equals("bytes */" + have)) return;
                        Files.deleteIfExists(part);
                        throw new IOException("HTTP 416 for a " + have + "-byte partial download; starting over");
                    }
                    default -> throw new StoreException(httpError(status, current, url));
                }
                return;
            }
        }
        throw new StoreException("more than " + MAX_REDIRECTS + " redirects from " + url);
    }

    private HttpResponse<InputStream> send(HttpRequest request) throws IOException {
        try {
            return client.send(request, HttpResponse.BodyHandlers.ofInputStream());
        } catch (java.net.http.HttpTimeoutException e) {
            throw new IOException("no response headers within " + seconds(stall), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StoreException("download of " + request.uri() + " was interrupted", e);
        }
    }

    /** Appends (or writes) the body to {@code part}; a body that sends nothing for {@code stall} is closed and fails this attempt. */
    static void copy(InputStream body, Path part, boolean append, Duration stall) throws IOException {
        StandardOpenOption mode = append ? StandardOpenOption.APPEND : StandardOpenOption.TRUNCATE_EXISTING;
        AtomicLong lastByte = new AtomicLong(System.nanoTime());
        AtomicBoolean stalled = new AtomicBoolean();
        Thread watchdog = new Thread(() -> {
            try {
                while (!Thread.currentThread().isInterrupted()) {
                    long idle = System.nanoTime() - lastByte.get();
                    if (idle >= stall.toNanos()) {
                        stalled.set(true);
                        body.close(); // unblocks the reader, whose read then fails
                        return;
                    }
                    Thread.sleep(Math.max(1, (stall.toNanos() - idle) / 1_000_000));
                }
            } catch (InterruptedException | IOException ignored) {
                // the copy finished (interrupt) or the close itself failed: nothing more to guard
            }
        }, "download-stall-guard");
        watchdog.setDaemon(true);
        watchdog.start();
        try (OutputStream out = Files.newOutputStream(part, StandardOpenOption.CREATE, StandardOpenOption.WRITE, mode)) {
            byte[] buffer = new byte[1 << 16];
            for (int n; (n = body.read(buffer)) >= 0; ) {
                lastByte.set(System.nanoTime());
                out.write(buffer, 0, n);
            }
        } catch (IOException e) {
            if (stalled.get()) throw new IOException("no bytes for " + seconds(stall) + "; the connection was dropped", e);
            throw e;
        } finally {
            watchdog.interrupt();
        }
        if (stalled.get()) throw new IOException("no bytes for " + seconds(stall) + "; the connection was dropped");
    }

    private void verify(Path part, URI url, Optional<String> sha256, Optional<String> sha256Prefix, OptionalLong size) throws IOException {
        long actualSize = Files.size(part);
        if (size.isPresent() && actualSize != size.getAsLong()) {
            Files.delete(part);
            throw new StoreException(url + ": got " + actualSize + " bytes, the manifest says " + size.getAsLong()
                    + "; the download was deleted");
        }
        String actual = sha256(part);
        if (sha256.isPresent() && !sha256.get().equals(actual)) {
            Files.delete(part);
            throw new StoreException(url + ": sha256 mismatch: expected " + sha256.get() + ", got " + actual
                    + "; the download was deleted");
        }
        if (sha256.isEmpty() && sha256Prefix.isPresent() && !actual.startsWith(sha256Prefix.get())) {
            Files.delete(part);
            throw new StoreException(url + ": sha256 " + actual + " does not start with " + sha256Prefix.get()
                    + ", the hash prefix its file name carries; the download was deleted");
        }
        log.accept("  " + actualSize + " bytes, sha256 " + actual + (sha256.isPresent() ? " (verified)"
                : sha256Prefix.isPresent() ? " (prefix " + sha256Prefix.get() + " verified; the full sha256 is not in the manifest)" : " (not in the manifest)"));
    }

    private boolean tokenAllowed(URI uri) {
        String host = uri.getHost();
        return host != null && (isHuggingFace(uri) || host.equals(settings.hfEndpoint().getHost()));
    }

    private static boolean isHuggingFace(URI uri) {
        String host = uri.getHost();
        return host != null && (host.equals("huggingface.co") || host.endsWith(".huggingface.co"));
    }

    private String httpError(int status, URI at, URI requested) {
        String where = at.equals(requested) ? requested.toString() : at + " (redirected from " + requested + ")";
        return switch (status) {
            case 404 -> "not found (HTTP 404): " + where;
            case 401, 403 -> "access denied (HTTP " + status + "): " + where + (settings.hfToken().isPresent()
                    ? "; the token in HF_TOKEN has no access (for gated repos, accept the licence on the model page)"
                    : "; set HF_TOKEN to a Hugging Face token with access to this repository");
            default -> "HTTP " + status + " from " + where;
        };
    }

    /** The SHA-256 of a file's bytes, hex. */
    public static String sha256(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            byte[] buffer = new byte[1 << 20];
            for (int n; (n = in.read(buffer)) > 0; ) digest.update(buffer, 0, n);
            return HexFormat.of().formatHex(digest.digest());
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every JDK has SHA-256", e);
        }
    }

    private static String seconds(Duration d) {
        return java.math.BigDecimal.valueOf(d.toMillis(), 3).stripTrailingZeros().toPlainString() + " s";
    }

    private static String describe(IOException e) {
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }

    private static long sizeOf(Path file) {
        try {
            return Files.exists(file) ? Files.size(file) : 0;
        } catch (IOException e) {
            return 0;
        }
    }
}
