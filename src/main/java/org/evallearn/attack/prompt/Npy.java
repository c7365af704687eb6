package org.evallearn.attack.prompt;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.evallearn.data.DataException;

/**
 * A strict reader of NumPy {@code .npy} files holding one little-endian float32 array in C order
 * (what {@code np.save} writes for Ring-A-Bell's concept vectors): the magic, version 1/2/3, a
 * header dict with exactly {@code descr}, {@code fortran_order} and {@code shape}, then the raw
 * data and nothing else. Anything else (pickled objects, other dtypes, Fortran order, a short or
 * long data part) is refused with the file and what was expected; nothing is ever unpickled.
 */
public final class Npy {
    private static final byte[] MAGIC = {(byte) 0x93, 'N', 'U', 'M', 'P', 'Y'};
    private static final Pattern HEADER = Pattern.compile(
            "\\{\\s*'descr'\\s*:\\s*'([^']*)'\\s*,\\s*'fortran_order'\\s*:\\s*(True|False)\\s*,\\s*'shape'\\s*:\\s*\\(([0-9,\\s]*)\\)\\s*,?\\s*}\\s*");
    /** Ring-A-Bell's vectors are 236 KB; anything past this is not a concept vector. */
    static final long MAX_BYTES = 256L << 20;

    /** A float32 array and its shape. */
    public record Array(long[] shape, float[] data) {}

    private Npy() {}

    public static Array readFloat32(Path file) {
        byte[] bytes;
        try {
            if (Files.size(file) > MAX_BYTES) throw new DataException(file + ": " + Files.size(file) + " bytes; a concept vector .npy is far smaller");
            bytes = Files.readAllBytes(file);
        } catch (NoSuchFileException e) {
            throw new DataException(file + ": file not found");
        } catch (IOException e) {
            throw new DataException(file + ": cannot read: " + e.getMessage(), e);
        }
        return parse(file.toString(), bytes);
    }

    static Array parse(String name, byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        if (bytes.length < 10) throw new DataException(name + ": not a .npy file (" + bytes.length + " bytes)");
        for (int i = 0; i < MAGIC.length; i++) {
            if (bytes[i] != MAGIC[i]) throw new DataException(name + ": not a .npy file (no \\x93NUMPY magic)");
        }
        int major = bytes[6] & 0xff;
        long headerLength;
        int start;
        if (major == 1) {
            headerLength = b.getShort(8) & 0xffff;
            start = 10;
        } else if (major == 2 || major == 3) {
            if (bytes.length < 12) throw new DataException(name + ": truncated .npy header");
            headerLength = b.getInt(8) & 0xffffffffL;
            start = 12;
        } else {
            throw new DataException(name + ": .npy format version " + major + "; expected 1, 2 or 3");
        }
        if (start + headerLength > bytes.length) throw new DataException(name + ": truncated .npy header");
        String header = new String(bytes, start, (int) headerLength, major == 3 ? StandardCharsets.UTF_8 : StandardCharsets.ISO_8859_1);
        Matcher m = HEADER.matcher(header);
        if (!m.matches()) {
            throw new DataException(name + ": .npy header " + header.strip() + " is not {'descr': ..., 'fortran_order': ..., 'shape': (...)}");
        }
        if (!m.group(1).equals("<f4")) {
            throw new DataException(name + ": dtype '" + m.group(1) + "'; expected little-endian float32 '<f4' (np.float32)");
        }
        if (m.group(2).equals("True")) throw new DataException(name + ": Fortran-ordered array; expected C order");
        List<Long> dims = new ArrayList<>();
        for (String d : m.group(3).split(",")) {
            if (!d.isBlank()) dims.add(Long.parseLong(d.strip()));
        }
        long[] shape = dims.stream().mapToLong(Long::longValue).toArray();
        long count = 1;
        for (long d : shape) {
            count = Math.multiplyExact(count, d);
        }
        long dataStart = start + headerLength;
        if (bytes.length - dataStart != count * 4) {
            throw new DataException(name + ": shape " + java.util.Arrays.toString(shape) + " needs " + count * 4 + " data bytes, the file has "
                    + (bytes.length - dataStart));
        }
        float[] data = new float[(int) count];
        b.position((int) dataStart);
        b.asFloatBuffer().get(data);
        return new Array(shape, data);
    }
}
