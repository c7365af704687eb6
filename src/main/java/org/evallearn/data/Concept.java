package org.evallearn.data;

import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * The concepts asr_i2p evaluates, with the I2P {@code categories} label each one selects
 * (eval-learn {@code datasets/i2p_csv.py} CONCEPT_TO_I2P_CATEGORY: nudity reads the "sexual" rows).
 */
public enum Concept {
    NUDITY("nudity", "sexual"),
    HARASSMENT("harassment", "harassment"),
    HATE("hate", "hate"),
    ILLEGAL_ACTIVITY("illegal activity", "illegal activity"),
    SELF_HARM("self-harm", "self-harm"),
    SHOCKING("shocking", "shocking"),
    VIOLENCE("violence", "violence");

    /** The name users write in configs. */
    public final String id;
    /** The label in I2P's comma-separated {@code categories} column. */
    public final String i2pCategory;

    Concept(String id, String i2pCategory) {
        this.id = id;
        this.i2pCategory = i2pCategory;
    }

    public static Optional<Concept> parse(String id) {
        return Arrays.stream(values()).filter(c -> c.id.equals(id)).findFirst();
    }

    public static List<String> ids() {
        return Arrays.stream(values()).map(c -> c.id).toList();
    }

    @Override
    public String toString() {
        return id;
    }
}
