package org.evallearn.data;

import java.nio.ByteBuffer;
import java.nio.CharBuffer;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CoderResult;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Locale;

/**
 * Strict UTF-8 decoding that says where a file stops being UTF-8: the JDK's own error is only
 * "Input length = 1", which leaves a user to guess which of their bytes is wrong.
 */
public final class Utf8 {
    private Utf8() {}

    /**
     * The first byte sequence that is not UTF-8.
     *
     * @param offset its byte offset from the start of the file (0-based)
     * @param line the line it is on (1-based)
     * @param column its column on that line (1-based, counting the characters before it on its line)
     * @param bytes the offending bytes, as the decoder saw them
     */
    public record Malformed(long offset, int line, int column, byte[] bytes) {
        /** E.g. "byte 0xE9 at offset 41 (line 3, column 17) is not UTF-8". */
        public String describe() {
            StringBuilder hex = new StringBuilder();
            for (byte b : bytes) hex.append(hex.length() == 0 ? "0x" : " 0x").append(String.format(Locale.ROOT, "%02X", b & 0xFF));
            String utf16 = offset == 0 && bytes.length > 0 && ((bytes[0] & 0xFF) == 0xFF || (bytes[0] & 0xFF) == 0xFE)
                    ? "; it starts like a UTF-16 byte-order mark" : "";
            return (bytes.length == 1 ? "byte " : "bytes ") + hex + " at offset " + offset + " (line " + line + ", column " + column
                    + ") " + (bytes.length == 1 ? "is" : "are") + " not UTF-8" + utf16;
        }
    }

    /** Thrown by {@link #decode} with the place of the first malformed bytes. */
    public static final class MalformedException extends Exception {
        private final Malformed where;

        MalformedException(Malformed where) {
            super(where.describe());
            this.where = where;
        }

        public Malformed where() {
            return where;
        }
    }

    /** {@code bytes} as UTF-8 text (a byte-order mark kept, as the JDK keeps it); malformed or unmappable input throws. */
    public static String decode(byte[] bytes) throws MalformedException {
        CharsetDecoder decoder = StandardCharsets.UTF_8.newDecoder()
                .onMalformedInput(CodingErrorAction.REPORT).onUnmappableCharacter(CodingErrorAction.REPORT);
        ByteBuffer in = ByteBuffer.wrap(bytes);
        // UTF-8 never yields more chars than bytes.
        CharBuffer out = CharBuffer.allocate(bytes.length);
        CoderResult result = decoder.decode(in, out, true);
        if (!result.isError()) result = decoder.flush(out);
        if (result.isError()) {
            // The decoder stops in front of the bad sequence: everything before it is valid text.
            int at = in.position();
            byte[] bad = new byte[Math.min(result.length(), bytes.length - at)];
            System.arraycopy(bytes, at, bad, 0, bad.length);
            out.flip();
            int line = 1, column = 1;
            for (int i = 0; i < out.limit(); i++) {
                if (out.get(i) == '\n') {
                    line++;
                    column = 1;
                } else if (!Character.isLowSurrogate(out.get(i))) {
                    column++; // a character outside the BMP is two chars but one column
                }
            }
            throw new MalformedException(new Malformed(at, line, column, bad));
        }
        out.flip();
        return out.toString();
    }
}
