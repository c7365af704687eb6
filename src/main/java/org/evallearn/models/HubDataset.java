package org.evallearn.models;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.function.Consumer;

/**
 * A Hugging Face dataset repository whose Parquet shards are listed by the Hub rather than pinned
 * in the manifest: {@code GET /api/datasets/<repo>/tree/<revision>/<folder>} gives each file's
 * path, size and, for LFS files, its sha256, against which every shard is verified. Gated
 * repositories ({@code yiting/UnsafeBench}) need {@code HF_TOKEN}: without it the pull stops
 * before any request, naming the variable and the page where access is granted.
 */
public final class HubDataset {
    /** One listed file; {@code sha256} is the LFS object id when the Hub gives one. */
    public record Listed(String path, long size, Optional<String> sha256) {}

    private static final ObjectMapper JSON = new ObjectMapper();

    private final String repo;
    private final String revision;
    private final boolean gated;
    private final StoreSettings settings;
    private final Consumer<String> log;

    public HubDataset(String repo, String revision, boolean gated, StoreSettings settings, Consumer<String> log) {
        this.repo = repo;
        this.revision = revision;
        this.gated = gated;
        this.settings = settings;
        this.log = log;
    }

    public String page() {
        return "https://huggingface.co/datasets/" + repo;
    }

    /** The {@code .parquet} files under {@code folder} whose names start with {@code prefix}, in name order. */
    public List<Listed> parquet(String folder, String prefix) {
        requireAccess();
        URI url = URI.create(settings.hfEndpoint() + "/api/datasets/" + repo + "/tree/" + encode(revision) + "/" + folder);
        HttpRequest.Builder request = HttpRequest.newBuilder(url).GET().timeout(Duration.ofSeconds(60)).header("User-Agent", "evallearn/0.1");
        settings.hfToken().ifPresent(t -> request.header("Authorization", "Bearer " + t));
        HttpResponse<String> response;
        try {
            response = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(30)).build()
                    .send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new StoreException("cannot list " + url + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StoreException("listing " + url + " was interrupted", e);
        }
        int status = response.statusCode();
        if (status == 401 || status == 403) {
            throw new StoreException("access denied (HTTP " + status + ") listing " + url + ": the token in HF_TOKEN has no access to "
                    + repo + "; request access at " + page() + " and use a token of that account");
        }
        if (status != 200) throw new StoreException("HTTP " + status + " listing " + url);
        List<Listed> out = new ArrayList<>();
        try {
            JsonNode files = JSON.readTree(response.body());
            if (!files.isArray()) throw new StoreException(url + ": expected a JSON array of files, got " + abbreviate(response.body()));
            for (JsonNode f : files) {
                String path = f.path("path").asText("");
                String name = path.substring(path.lastIndexOf('/') + 1);
                if (!f.path("type").asText().equals("file") || !name.endsWith(".parquet") || !name.startsWith(prefix)) continue;
                Optional<String> sha = f.path("lfs").path("oid").isTextual() ? Optional.of(f.path("lfs").path("oid").asText()) : Optional.empty();
                out.add(new Listed(path, f.path("size").asLong(-1), sha));
            }
        } catch (IOException e) {
            throw new StoreException(url + ": the listing is not JSON (" + e.getMessage() + ")", e);
        }
        out.sort(java.util.Comparator.comparing(Listed::path));
        if (out.isEmpty()) throw new StoreException(url + ": no " + prefix + "*.parquet files listed");
        return out;
    }

    /** Downloads the listed files into {@code dir} (kept ones are not fetched again), each size- and sha256-checked. */
    public List<Path> download(List<Listed> files, Path dir) {
        requireAccess();
        Downloader downloader = new Downloader(settings, log);
        List<Path> out = new ArrayList<>();
        for (Listed f : files) {
            Path target = dir.resolve(f.path().substring(f.path().lastIndexOf('/') + 1));
            if (!Files.isRegularFile(target)) {
                URI url = URI.create(settings.hfEndpoint() + "/datasets/" + repo + "/resolve/" + encode(revision) + "/" + f.path());
                log.accept(repo + ": " + f.path() + " <- " + url);
                downloader.download(url, target, f.sha256(), f.size() >= 0 ? OptionalLong.of(f.size()) : OptionalLong.empty());
            }
            out.add(target);
        }
        return out;
    }

    private void requireAccess() {
        if (settings.offline()) throw new StoreException("offline (" + settings.offlineReason().get() + "): cannot download " + repo);
        if (gated && settings.hfToken().isEmpty()) {
            throw new StoreException(repo + " is a gated dataset: set HF_TOKEN to a Hugging Face token of an account that was granted"
                    + " access at " + page());
        }
    }

    private static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    private static String abbreviate(String s) {
        return s.length() <= 200 ? s : s.substring(0, 200) + "…";
    }
}
