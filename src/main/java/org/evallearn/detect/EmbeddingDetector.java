package org.evallearn.detect;

import java.util.List;

/**
 * A {@link Detector} that is a head on the batch's CLIP image embeddings
 * ({@link ImageBatch#imageEmbeds}): every detector of that kind (Q16, the CLIP concept check,
 * MultiHeaded, LAION NSFW, a trained probe, the safety checker, Espresso's filter) is this class
 * with its own {@link EmbeddingHead}, so several on one encoder cost one vision pass per batch.
 * Owns the head from construction on (it closes a head it refuses), not the encoder.
 */
public final class EmbeddingDetector implements Detector {
    private final String name;
    private final ClipImageEncoder encoder;
    private final EmbeddingHead head;

    /** @param name the id reports use ({@link Detector#name}) */
    public EmbeddingDetector(String name, ClipImageEncoder encoder, EmbeddingHead head) {
        if (head.dim() != encoder.dim()) {
            String message = name + " (" + head.describe() + ") takes " + head.dim() + "-wide image embeddings but " + encoder.id()
                    + " embeds images in " + encoder.dim() + " dimensions";
            head.close();
            throw new IllegalArgumentException(message);
        }
        this.name = name;
        this.encoder = encoder;
        this.head = head;
    }

    @Override
    public String name() {
        return name;
    }

    /** The encoder whose embeddings the head reads, for embeddings computed (or cached) outside the batch. */
    public ClipImageEncoder encoder() {
        return encoder;
    }

    @Override
    public List<Judgement> judge(ImageBatch batch) {
        return head.judge(batch.imageEmbeds(encoder));
    }

    @Override
    public void close() {
        head.close();
    }
}
