package org.evallearn.image;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32;

/**
 * The chunk layer of a PNG file, checked before decoding: the JDK's PNG reader never verifies a
 * chunk's CRC, so a corrupted byte in IHDR or IDAT would decode to a wrong image. As libpng
 * (OpenCV's {@code imread}, NudeNet's reader) does, a bad CRC in a critical chunk (type starting
 * with a capital: IHDR, PLTE, IDAT, IEND) fails the file and one in an ancillary chunk does not.
 */
final class PngChunks {
    private static final byte[] SIGNATURE = {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'};

    private PngChunks() {}

    static boolean isPng(byte[] bytes) {
        if (bytes.length < SIGNATURE.length) return false;
        for (int i = 0; i < SIGNATURE.length; i++) if (bytes[i] != SIGNATURE[i]) return false;
        return true;
    }

    /** Walks the chunks up to IEND; bytes after IEND are ignored, as decoders do. */
    static void check(byte[] bytes, String name) {
        ByteBuffer buf = ByteBuffer.wrap(bytes);
        int at = SIGNATURE.length;
        while (true) {
            if (bytes.length - at < 12) {
                throw new ImageDecodeException(name + ": corrupt or truncated PNG (the file ends at byte " + bytes.length + " without an IEND chunk)");
            }
            long length = buf.getInt(at) & 0xFFFFFFFFL;
            String type = new String(bytes, at + 4, 4, StandardCharsets.ISO_8859_1);
            if (length > bytes.length - at - 12L) {
                throw new ImageDecodeException(name + ": corrupt or truncated PNG (chunk " + printable(type) + " at byte " + at + " claims "
                        + length + " bytes; only " + (bytes.length - at - 12L) + " follow)");
            }
            CRC32 crc = new CRC32();
            crc.update(bytes, at + 4, 4 + (int) length);
            long stored = buf.getInt(at + 8 + (int) length) & 0xFFFFFFFFL;
            if (crc.getValue() != stored && Character.isUpperCase(type.charAt(0))) {
                throw new ImageDecodeException(name + ": corrupt PNG (chunk " + printable(type) + " at byte " + at + " fails its CRC check: stored "
                        + String.format("%08x", stored) + ", computed " + String.format("%08x", crc.getValue()) + ")");
            }
            if (type.equals("IEND")) return;
            at += 12 + (int) length;
        }
    }

    private static String printable(String type) {
        return type.chars().allMatch(c -> c >= 'A' && c <= 'z') ? type : "(non-ASCII type)";
    }
}
