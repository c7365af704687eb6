package org.evallearn.attack.prompt;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalDouble;
import java.util.OptionalInt;
import java.util.OptionalLong;
import java.util.SplittableRandom;
import java.util.function.Consumer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.pytorch.InferenceMode;
import org.bytedeco.pytorch.Scalar;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.TensorVector;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.clip.ClipTextModel;
import org.evallearn.clip.ClipTokenizer;
import org.evallearn.data.DataException;
import org.evallearn.data.Prompt;
import org.evallearn.data.PromptList;
import org.evallearn.diffusion.StableDiffusionPipeline;
import org.evallearn.metric.DiscoveryContext;
import org.evallearn.metric.PromptDiscovery;
import org.evallearn.tensor.Placement;
import org.evallearn.tensor.Scope;

/**
 * Ring-A-Bell's prompt discovery (Tsai et al., ICLR 2024; chiayi-hsu/Ring-A-Bell
 * {@code InversePrompt.ipynb}, which eval-learn's {@code ring_a_bell.PromptDiscovery} wraps):
 * for each seed prompt p, the target is {@code E(p) + concept_coeff · v}, E being the text
 * encoder's last hidden state (77 × D) and v the concept vector (the mean of E(with concept) −
 * E(without) over paired prompts, {@code Get_Concept_Vector.ipynb}). A genetic algorithm over
 * token sequences {@code [BOS, token_length random ids, EOS …]} minimises the squared distance
 * Σ (target − E(tokens))²: each generation keeps the better half, then crossover (each parent,
 * with probability crossover_rate, swaps tails with a random parent at a random point, adding
 * both children) and mutation (each individual, with probability mutate_rate, gets one random id
 * at one random position). The best sequence of the last generation, decoded, is the prompt.
 */
public final class RingABell implements PromptDiscovery {
    public static final String NAME = "asr_ring_a_bell";
    /** Encoder rows per forward pass when scoring a population. */
    static final int FITNESS_BATCH = 64;

    /** A prompt with the concept and the same prompt without it. */
    public record ConceptPair(String with, String without) {}

    /**
     * eval-learn's {@code ASRRingABellConfig}, key for key (the detector keys belong to the
     * metric, not the search): {@code concept_name}, {@code enable_discovery},
     * {@code seed_prompts_csv}, {@code concept_vector_path}, {@code limit}, {@code population_size},
     * {@code generations}, {@code mutate_rate}, {@code crossover_rate}, {@code token_length},
     * {@code concept_coeff}, {@code log_every}, {@code patience}, {@code generated_prompts_output}.
     * {@code conceptPairs} is ours: the paired prompts the concept vector is computed from when no
     * {@code concept_vector_path} is given.
     */
    public record Settings(String conceptName, boolean enableDiscovery, Path seedPromptsCsv, Optional<Path> conceptVectorPath,
            List<ConceptPair> conceptPairs, OptionalInt limit, int populationSize, int generations, double mutateRate,
            double crossoverRate, int tokenLength, double conceptCoeff, int logEvery, int patience, Optional<Path> generatedPromptsOutput) {
        public Settings {
            if (conceptName == null || conceptName.isBlank()) throw new IllegalArgumentException("concept_name must be set");
            if (seedPromptsCsv == null) throw new IllegalArgumentException("seed_prompts_csv must be set (eval-learn requires it in both modes)");
            conceptPairs = List.copyOf(conceptPairs);
            if (enableDiscovery) {
                if (conceptVectorPath.isEmpty() && conceptPairs.isEmpty()) {
                    throw new IllegalArgumentException("concept_vector_path (a .npy concept vector) or concept pairs are required for concept '"
                            + conceptName + "' with enable_discovery true");
                }
                if (generatedPromptsOutput.isEmpty()) throw new IllegalArgumentException("enable_discovery=true requires generated_prompts_output");
            }
            limit.ifPresent(l -> PromptAttacks.requireAtLeast("limit", l, 1));
            PromptAttacks.requireAtLeast("population_size", populationSize, 2);
            PromptAttacks.requireAtLeast("generations", generations, 1);
            PromptAttacks.requireAtLeast("token_length", tokenLength, 1);
            PromptAttacks.requireAtLeast("log_every", logEvery, 1);
            PromptAttacks.requireAtLeast("patience", patience, 1);
            PromptAttacks.requireProbability("mutate_rate", mutateRate);
            PromptAttacks.requireProbability("crossover_rate", crossoverRate);
            if (!Double.isFinite(conceptCoeff)) throw new IllegalArgumentException("concept_coeff must be finite, got " + conceptCoeff);
        }

        /** eval-learn's defaults: limit 500, population 50, 100 generations, rates 0.25 / 0.5, 16 tokens, coefficient 3, log every 50, patience 250. */
        public static Settings defaults(String conceptName, Path seedPromptsCsv, Optional<Path> conceptVectorPath, List<ConceptPair> pairs,
                Path generatedPromptsOutput) {
            return new Settings(conceptName, true, seedPromptsCsv, conceptVectorPath, pairs, OptionalInt.of(500), 50, 100, 0.25, 0.5, 16, 3.0,
                    50, 250, Optional.of(generatedPromptsOutput));
        }
    }

    /**
     * One seed prompt's search.
     *
     * @param initialLoss the best fitness of the random first generation; {@code loss} that of the returned sequence
     */
    public record Found(String seedPrompt, String prompt, double initialLoss, double loss, int generations) {}

    private final Settings settings;

    public RingABell(Settings settings) {
        this.settings = settings;
    }

    @Override
    public String metricName() {
        return NAME;
    }

    @Override
    public List<Prompt> discover(DiscoveryContext context) {
        if (!settings.enableDiscovery()) {
            // Direct mode: the seed prompts are the evaluation prompts, as eval-learn's _load_seed_prompts.
            return PromptList.select(settings.seedPromptsCsv(), settings.limit()).prompts();
        }
        List<Found> found = search(context);
        List<Prompt> out = new ArrayList<>();
        for (int i = 0; i < found.size(); i++) {
            out.add(new Prompt(found.get(i).prompt(), OptionalLong.empty(), OptionalDouble.empty(), NAME + " discovered prompt " + (i + 1)));
        }
        return out;
    }

    /** Runs (or reads back from the cache) the search for every seed prompt and writes generated_prompts_output. */
    public List<Found> search(DiscoveryContext context) {
        List<Prompt> seeds = PromptList.select(settings.seedPromptsCsv(), settings.limit()).prompts();
        String key = String.format(Locale.ROOT, "%s seed=%d seed prompts sha256=%s", settings, context.seed(),
                org.evallearn.run.Hashing.sha256Json(seeds.stream().map(Prompt::text).toList()));
        SearchCache<Found> cache = SearchCache.open(context.workDir(), NAME, key, Found.class);
        List<Found> found = new ArrayList<>(cache.rows());
        if (found.size() < seeds.size()) {
            if (!found.isEmpty()) context.log().accept(NAME + ": " + found.size() + " of " + seeds.size() + " seed prompts read back from " + cache.file());
            StableDiffusionPipeline pipe = context.pipeline();
            try (InferenceMode guard = new InferenceMode(); Scope s = Scope.open()) {
                Tensor vector = conceptVector(pipe);
                for (int i = found.size(); i < seeds.size(); i++) {
                    Found f = searchOne(pipe, vector, seeds.get(i).text(), PromptAttacks.itemSeed(context.seed(), i), context.log());
                    context.log().accept(String.format(Locale.ROOT, "%s %d/%d: loss %.4f → %.4f: %s", NAME, i + 1, seeds.size(), f.initialLoss(),
                            f.loss(), f.prompt()));
                    cache.add(f);
                    found.add(f);
                }
            }
        } else {
            context.log().accept(NAME + ": the search's " + found.size() + " prompts read back from " + cache.file());
        }
        // generated_prompts_output: no header, one prompt per row, as csv.writer writes it.
        PromptAttacks.writeCsv(settings.generatedPromptsOutput().orElseThrow(), null,
                found.stream().map(f -> List.<Object>of(f.prompt())).toList(), true);
        return found;
    }

    /**
     * The concept vector, (1, 77, D) on the pipeline's device in the caller's scope: read from
     * concept_vector_path, or the mean of E(with) − E(without) over the concept pairs.
     */
    Tensor conceptVector(StableDiffusionPipeline pipe) {
        ClipTextModel encoder = pipe.textEncoder();
        int n = pipe.tokenizer().maxLength();
        long hidden = encoder.config().hiddenSize();
        Placement at = pipe.placement();
        if (settings.conceptVectorPath().isPresent()) {
            Path file = settings.conceptVectorPath().get();
            Npy.Array a = Npy.readFloat32(file);
            long[] shape = a.shape();
            boolean fits = (shape.length == 2 && shape[0] == n && shape[1] == hidden)
                    || (shape.length == 3 && shape[0] == 1 && shape[1] == n && shape[2] == hidden);
            if (!fits) {
                throw new DataException(file + ": concept vector of shape " + Arrays.toString(shape) + "; this text encoder needs (" + n + ", "
                        + hidden + ") (recompute it with the same CLIP text encoder)");
            }
            try (Scope s = Scope.open()) {
                return s.handUp(Tensor.create(a.data(), 1, n, hidden).to(at.torchDevice(), torch.ScalarType.Float));
            }
        }
        try (Scope s = Scope.open()) {
            List<String> with = settings.conceptPairs().stream().map(ConceptPair::with).toList();
            List<String> without = settings.conceptPairs().stream().map(ConceptPair::without).toList();
            Tensor diff = pipe.encodePrompts(with).to(torch.ScalarType.Float).sub(pipe.encodePrompts(without).to(torch.ScalarType.Float));
            return s.handUp(diff.mean(new long[] {0}, true, new org.bytedeco.pytorch.ScalarTypeOptional()));
        }
    }

    /** The genetic search for one seed prompt; {@code itemSeed} drives every random choice. */
    Found searchOne(StableDiffusionPipeline pipe, Tensor conceptVector, String seedPrompt, long itemSeed, Consumer<String> log) {
        ClipTokenizer tok = pipe.tokenizer();
        int n = tok.maxLength();
        int length = settings.tokenLength();
        if (length + 2 > n) throw new IllegalArgumentException("token_length " + length + " leaves no room for BOS and EOS in " + n + " tokens");
        // Ring-A-Bell draws ids in [1, 49406): not id 0 and not the two markers.
        int high = Math.min(tok.bosId(), tok.eosId());
        SplittableRandom r = new SplittableRandom(itemSeed);
        try (Scope s = Scope.open()) {
            Tensor target = pipe.encodePrompts(List.of(seedPrompt)).to(torch.ScalarType.Float)
                    .add(conceptVector.mul(new Scalar(settings.conceptCoeff())));
            List<long[]> population = new ArrayList<>();
            for (int i = 0; i < settings.populationSize(); i++) {
                long[] ids = new long[n];
                ids[0] = tok.bosId();
                for (int k = 1; k <= length; k++) ids[k] = 1 + r.nextInt(high - 1);
                Arrays.fill(ids, length + 1, n, tok.eosId());
                population.add(ids);
            }
            double initial = Double.NaN, best = Double.POSITIVE_INFINITY, lastBest = Double.NaN;
            int sinceBest = 0, generation = 0;
            for (int step = 0; step < settings.generations(); step++) {
                generation = step + 1;
                double[] score = fitness(pipe.textEncoder(), target, population, pipe.placement());
                Integer[] order = new Integer[population.size()];
                for (int i = 0; i < order.length; i++) order[i] = i;
                Arrays.sort(order, Comparator.comparingDouble(i -> score[i])); // stable, as a tie-break rule must be fixed
                List<long[]> parents = new ArrayList<>();
                for (int i = 0; i < settings.populationSize() / 2; i++) parents.add(population.get(order[i]));
                population = parents;
                double generationBest = score[order[0]];
                lastBest = generationBest;
                if (step == 0) initial = generationBest;
                if (generationBest < best) {
                    best = generationBest;
                    sinceBest = 0;
                } else {
                    sinceBest++;
                }
                if (step % settings.logEvery() == 0) {
                    log.accept(String.format(Locale.ROOT, "%s generation %d: minimum loss %.4f", NAME, step + 1, generationBest));
                }
                if (step == settings.generations() - 1 || sinceBest >= settings.patience()) break;
                population = mutation(crossover(population, length, r), length, high, r);
            }
            double finalLoss = lastBest;
            int[] tokens = new int[length];
            for (int k = 0; k < length; k++) tokens[k] = (int) population.get(0)[k + 1];
            return new Found(seedPrompt, tok.decode(tokens).strip(), initial, finalLoss, generation);
        }
    }

    /** Σ (target − E(ids))² for each individual, batched. */
    static double[] fitness(ClipTextModel encoder, Tensor target, List<long[]> population, Placement placement) {
        double[] out = new double[population.size()];
        for (int from = 0; from < population.size(); from += FITNESS_BATCH) {
            int to = Math.min(population.size(), from + FITNESS_BATCH);
            try (Scope s = Scope.open()) {
                Tensor ids = PromptAttacks.ids(population.subList(from, to).toArray(new long[0][]), placement);
                Tensor hidden = encoder.forward(ids).lastHiddenState().to(torch.ScalarType.Float);
                Tensor d = target.sub(hidden);
                Tensor loss = d.mul(d).sum(new long[] {1, 2}, false, new org.bytedeco.pytorch.ScalarTypeOptional())
                        .to(torch.ScalarType.Double).cpu().contiguous();
                double[] values = new double[to - from];
                new org.bytedeco.javacpp.DoublePointer(loss.data_ptr()).capacity(values.length).get(values);
                System.arraycopy(values, 0, out, from, values.length);
            }
        }
        return out;
    }

    /** InversePrompt.ipynb's crossover: every parent kept; with probability crossover_rate two children of it and a random parent. */
    List<long[]> crossover(List<long[]> parents, int length, SplittableRandom r) {
        List<long[]> next = new ArrayList<>();
        for (long[] parent : parents) {
            next.add(parent);
            if (r.nextDouble() < settings.crossoverRate()) {
                long[] other = parents.get(r.nextInt(parents.size()));
                int point = 1 + r.nextInt(length); // [1, length]: position 0 is the BOS
                long[] a = parent.clone(), b = other.clone();
                System.arraycopy(other, point, a, point, a.length - point);
                System.arraycopy(parent, point, b, point, b.length - point);
                next.add(a);
                next.add(b);
            }
        }
        return next;
    }

    /** InversePrompt.ipynb's mutation: each individual, with probability mutate_rate, gets one random id at one position in [1, length]. */
    List<long[]> mutation(List<long[]> population, int length, int high, SplittableRandom r) {
        List<long[]> out = new ArrayList<>();
        for (long[] ids : population) {
            long[] copy = ids.clone();
            if (r.nextDouble() < settings.mutateRate()) copy[1 + r.nextInt(length)] = 1 + r.nextInt(high - 1);
            out.add(copy);
        }
        return out;
    }
}
