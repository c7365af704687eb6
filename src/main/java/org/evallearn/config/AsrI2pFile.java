package org.evallearn.config;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Stage one of the asr_i2p metric's config (eval-learn {@code metrics/asr_i2p/config.py} ASRConfig).
 * {@code limit} stays a tree node because absent (500) and {@code null} (all prompts) differ. The
 * {@code nudenet_*}, {@code espresso_*} and {@code probe_path} keys are ours ({@link AsrI2pAdditions}).
 */
public record AsrI2pFile(String conceptName, String detector, Double q16Threshold, String clipModelId,
        Double similarityThreshold, String device, JsonNode limit,
        String nudenetModel, String nudenetPreset, Double nudenetThreshold, String nudenetDevice,
        String espressoRule, String espressoTextEncoder, String probePath) {}
