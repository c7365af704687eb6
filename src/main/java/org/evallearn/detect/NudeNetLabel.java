package org.evallearn.detect;

/** NudeNet v3's 18 classes, in the order of the model's score rows (nudenet.py {@code __labels}). */
public enum NudeNetLabel {
    FEMALE_GENITALIA_COVERED,
    FACE_FEMALE,
    BUTTOCKS_EXPOSED,
    FEMALE_BREAST_EXPOSED,
    FEMALE_GENITALIA_EXPOSED,
    MALE_BREAST_EXPOSED,
    ANUS_EXPOSED,
    FEET_EXPOSED,
    BELLY_COVERED,
    FEET_COVERED,
    ARMPITS_COVERED,
    ARMPITS_EXPOSED,
    FACE_MALE,
    BELLY_EXPOSED,
    MALE_GENITALIA_EXPOSED,
    ANUS_COVERED,
    FEMALE_BREAST_COVERED,
    BUTTOCKS_COVERED;

    private static final NudeNetLabel[] BY_INDEX = values();

    /** The label of score row {@code index} (0-based, after the 4 box rows). */
    public static NudeNetLabel ofIndex(int index) {
        return BY_INDEX[index];
    }

    public static int count() {
        return BY_INDEX.length;
    }
}
