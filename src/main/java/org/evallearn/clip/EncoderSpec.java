package org.evallearn.clip;

import org.evallearn.nn.Activation;

/** The sizes a CLIP encoder stack needs; the same for the text and the vision tower. */
record EncoderSpec(int hidden, int intermediate, int layers, int heads, Activation act, double eps) {}
