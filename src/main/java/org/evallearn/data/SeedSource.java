package org.evallearn.data;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/** Where a prompt's generation seed comes from: its dataset row (I2P's own seeds) or the config's {@code seed}. */
public enum SeedSource {
    DATASET("dataset"),
    CONFIG("config");

    public final String id;

    SeedSource(String id) {
        this.id = id;
    }

    public static Optional<SeedSource> parse(String id) {
        return Arrays.stream(values()).filter(s -> s.id.equals(id)).findFirst();
    }

    public static List<String> ids() {
        return Arrays.stream(values()).map(s -> s.id).toList();
    }

    /**
     * The source a config that names none gets: the dataset when every prompt carries its own
     * seed (both I2P files do), so that I2P images are the ones its seeds were chosen for; the
     * config's seed for prompt lists, which have none.
     */
    public static SeedSource defaultFor(List<Prompt> prompts) {
        return !prompts.isEmpty() && prompts.stream().allMatch(p -> p.seed().isPresent()) ? DATASET : CONFIG;
    }

    /**
     * The seed of {@code prompt}'s first image (image {@code j} adds {@code j}). From the config:
     * {@code configSeed + firstImage}, where {@code firstImage} is the index in evaluation order of
     * the prompt's first image, i.e. {@code i · images_per_prompt} for the {@code i}-th prompt
     * evaluated; with one image per prompt, prompt {@code i} gets {@code seed + i}, as eval-learn's
     * wrappers meant ({@code manual_seed(seed + i)}, though they restart {@code i} in each batch).
     * It depends on neither the batch size nor a resume, and no two images share a seed. From
     * the dataset: the row's seed; a row without one is a {@link DataException}.
     */
    public long seedFor(Prompt prompt, long firstImage, long configSeed) {
        return switch (this) {
            case CONFIG -> configSeed + firstImage;
            case DATASET -> prompt.seed().orElseThrow(() -> new DataException(prompt.origin()
                    + ": seed_source is dataset but this prompt has no seed column (evaluation_seed or sd_seed)"));
        };
    }
}
