package org.evallearn.chat;

/**
 * A chat request that produced no usable answer. Callers record it as that item's error — never
 * as a label — so a judge that is down shows up in the report instead of skewing it.
 */
public final class EndpointException extends RuntimeException {
    /** TIMEOUT, NETWORK and HTTP (429, 5xx) are retried; the others are not. */
    public enum Kind { TIMEOUT, NETWORK, HTTP, MALFORMED, CONFIG }

    private final Kind kind;

    public EndpointException(Kind kind, String message) {
        super(message);
        this.kind = kind;
    }

    public EndpointException(Kind kind, String message, Throwable cause) {
        super(message, cause);
        this.kind = kind;
    }

    public Kind kind() {
        return kind;
    }
}
