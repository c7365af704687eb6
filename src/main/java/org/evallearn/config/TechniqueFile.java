package org.evallearn.config;

import com.fasterxml.jackson.databind.JsonNode;

/**
 * Stage one of {@code technique.config}, one record per technique with eval-learn's keys
 * ({@code techniques/<name>/config.py}); every technique also takes the generation keys users put
 * there. eval-learn's {@code model_id} is fixed per technique except for free_run.
 */
public sealed interface TechniqueFile {
    String device();

    Boolean useFp16();

    Integer numInferenceSteps();

    Double guidanceScale();

    record FreeRunFile(String modelId, String device, Boolean useFp16, Integer numInferenceSteps, Double guidanceScale)
            implements TechniqueFile {}

    /** Ours, not eval-learn's: classifier-free guidance away from a negative prompt. */
    record NegativePromptFile(String negativePrompt, String eraseConcept, String device, Boolean useFp16,
            Integer numInferenceSteps, Double guidanceScale) implements TechniqueFile {}

    record SldFile(String eraseConcept, String preset, Double sldGuidanceScale, Integer sldWarmupSteps, Double sldThreshold,
            Double sldMomentumScale, Double sldMomBeta, String device, Boolean useFp16, Integer numInferenceSteps,
            Double guidanceScale) implements TechniqueFile {}

    /**
     * {@code guide_concept} and {@code preserve_concepts} are ours (the official script's
     * {@code --guide_concepts}, {@code --preserve_concepts}): a string, ';'-separated as the
     * script takes it, or a list of strings.
     */
    record UceFile(String preset, String loadPath, String eraseConcept, String conceptType, String savePath, JsonNode guideConcept,
            JsonNode preserveConcepts, String device, Boolean useFp16, Integer numInferenceSteps, Double guidanceScale)
            implements TechniqueFile {}

    record EsdFile(String eraseConcept, String eraseFrom, String trainMethod, Double negativeGuidance, Integer trainSteps,
            Double learningRate, String loadPath, String savePath, String device, Boolean useFp16, Integer numInferenceSteps,
            Double guidanceScale) implements TechniqueFile {}

    /** {@code erase_concept} and {@code erase_from} are a string or a list of strings. */
    record MaceFile(JsonNode eraseConcept, JsonNode eraseFrom, Double lambdaCfr, String loadPath, String savePath, String device,
            Boolean useFp16, Integer numInferenceSteps, Double guidanceScale) implements TechniqueFile {}

    /**
     * Ours: Espresso's CLIP output filter. {@code erase_concept} names a pair of
     * {@code espresso-concepts.tsv}; {@code unacceptable}/{@code acceptable} give one explicitly.
     */
    record EspressoFile(String eraseConcept, String unacceptable, String acceptable, String rule, String textEncoder,
            String clipModelId, String device, Boolean useFp16, Integer numInferenceSteps, Double guidanceScale) implements TechniqueFile {}
}
