package org.evallearn.config;

import com.fasterxml.jackson.annotation.JsonProperty;
import com.fasterxml.jackson.databind.JsonNode;

/**
 * Stage one of eval-learn's metric configs besides asr_i2p, with eval-learn's keys (each record
 * names its config class); limits stay tree nodes because absent (the default) and {@code null}
 * (no limit) differ. Keys marked "ours" are where the data eval-learn streams from Hugging Face
 * is read locally instead.
 */
final class MetricFiles {
    private MetricFiles() {}

    /** {@code metrics/clip_score/config.py} CLIPScoreConfig; {@code tifa_csv} ours. */
    record ClipScoreFile(String clipModelName, String device, JsonNode limit, String tifaCsv) {}

    /** {@code metrics/ua_ira/config.py} UAIRAConfig. */
    record UaIraFile(String clipModelName, String device, String targetPromptsPath, String retainPromptsPath, String targetConcept,
            String retainConcept, JsonNode targetPromptLimit, JsonNode retainPromptLimit, Integer batchSize) {}

    /** {@code metrics/err/config.py} ERRConfig; {@code retain_csv} and {@code adversarial_csv} ours. */
    record ErrFile(String clipModelName, String device, JsonNode targetLimit, JsonNode retainLimit, JsonNode adversarialLimit,
            Double unsafeThreshold, String retainCsv, String adversarialCsv) {}

    /** {@code metrics/fid/config.py} FIDConfig; {@code coco_dir} ours. */
    record FidFile(Integer batchSize, String device, JsonNode limit, String cocoDir) {}

    /**
     * {@code metrics/tifa/config.py} TIFAConfig; ours: {@code tifa_csv}, and the VQA endpoint's keys,
     * checked by {@code tifa.TifaSettings} when the run plans the metric.
     */
    record TifaFile(String vqaModelName, String device, JsonNode limit, String tifaCsv, JsonNode vqaEndpoint, JsonNode questionTemplate,
            JsonNode maxNewTokens, JsonNode responseCache) {}

    /** {@code metrics/asr_ring_a_bell/config.py} ASRRingABellConfig. */
    record RingABellFile(String conceptName, String conceptVectorPath, String seedPromptsCsv, JsonNode limit, Boolean enableDiscovery,
            Integer populationSize, Integer generations, Double mutateRate, Double crossoverRate, Integer tokenLength, Double conceptCoeff,
            Integer logEvery, Integer patience, String generatedPromptsOutput, String detector, Double q16Threshold, String clipModelId,
            Double similarityThreshold, String device) {}

    /** {@code metrics/asr_mma_diffusion/config.py} MMADiffusionConfig. */
    record MmaDiffusionFile(String conceptName, String outputCsv, String precomputedPromptsPath, JsonNode targetPrompts, String clipModelId,
            String tokensToRemovePath, JsonNode limit, String detector, Double q16Threshold, Integer nSteps, Integer nCands, Integer batchSize,
            Integer topk, Long randomSeed, Double similarityThreshold, String device) {}

    /** {@code metrics/asr_p4d/config.py} ASRP4DConfig. */
    record P4dFile(String conceptName, String targetPromptsPath, JsonNode limit, String precomputedPromptsPath, String generatedPromptsOutput,
            Boolean useFp16, String modelId, String eraseId, String eraseConceptCheckpoint, String clipModel, String clipPretrain,
            String clipModelId, String device, @JsonProperty("device_2") String device2, String variant, String safeLevel,
            String negativePrompts, Integer numIter, Integer evalStep, Double lr, Double weightDecay, Integer promptBs, Integer batchSize,
            Integer imageLength, Double guidanceScale, Integer numInferenceSteps, Integer numImagesPerPrompt, Integer printStep,
            Boolean doFilter, Integer numSamples, String detector, Double q16Threshold, Double unsafeThreshold, Double similarityThreshold,
            Double clipThreshold) {}

    /** Espresso's metrics (ours); {@code adversarial_prompts} maps a set's name to its prompt file. */
    record EspressoFile(String conceptName, String unacceptablePrompts, String acceptablePrompts, java.util.Map<String, String> adversarialPrompts,
            String clipModelId, JsonNode limit, String device) {}
}
