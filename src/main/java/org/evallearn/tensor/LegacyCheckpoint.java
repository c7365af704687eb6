package org.evallearn.tensor;

import java.io.IOException;
import java.io.InputStream;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Collections;
import java.util.Deque;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import org.evallearn.tensor.StrictPickle.StorageRef;
import org.evallearn.tensor.StrictPickle.TensorRef;

/**
 * The legacy {@code torch.save} layout: what PyTorch before 1.6 wrote, and later versions with
 * {@code _use_new_zipfile_serialization=False} ({@code torch/serialization.py}
 * {@code _legacy_save}). Five pickles one after another: the magic number
 * {@code 0x1950a86a20f9469cfc6c}, the protocol version 1001, a {@code sys_info} dict, the object
 * (storages as persistent ids {@code ('storage', type, key, location, numel, view_metadata)}), and
 * the list of storage keys; then, for each key of that list in its order, an 8-byte
 * little-endian element count and the storage's raw bytes. Every pickle goes through
 * {@link StrictPickle}: the header and the key list may hold plain data only, the object the
 * torch allow-list. The storages must be exactly those the object names, in counts that agree
 * with it, and the file must end after the last; anything else is a {@link PickleException}
 * naming the file.
 */
final class LegacyCheckpoint {
    static final BigInteger MAGIC = new BigInteger("1950a86a20f9469cfc6c", 16);
    static final long PROTOCOL_VERSION = 1001;

    private final Object root;
    private final byte[] bytes;
    /** key → {offset, length} of its raw bytes in {@link #bytes}. */
    private final Map<String, int[]> ranges;

    private LegacyCheckpoint(Object root, byte[] bytes, Map<String, int[]> ranges) {
        this.root = root;
        this.bytes = bytes;
        this.ranges = ranges;
    }

    /** Whether the file starts as a pickle (PROTO 2..5), which a zip never does. */
    static boolean isLegacy(Path file) {
        try (InputStream in = Files.newInputStream(file)) {
            byte[] head = in.readNBytes(2);
            return head.length == 2 && (head[0] & 0xff) == 0x80 && head[1] >= 2 && head[1] <= 5;
        } catch (IOException e) {
            return false; // the zip reader reports why the file cannot be read
        }
    }

    /** The unpickled object: plain values, {@link TensorRef}s and {@link StorageRef}s. */
    Object root() {
        return root;
    }

    /** The raw bytes of storage {@code key} (the key list named it, so it is known). */
    byte[] storage(String key) {
        int[] r = ranges.get(key);
        return Arrays.copyOfRange(bytes, r[0], r[0] + r[1]);
    }

    static LegacyCheckpoint read(Path file) {
        byte[] bytes;
        try {
            long size = Files.size(file);
            if (size > Integer.MAX_VALUE - 8) {
                throw new PickleException(file + ": a legacy torch.save stream of " + size + " bytes is beyond this reader's 2 GiB limit");
            }
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new PickleException(file + ": cannot read (" + e.getMessage() + ")", e);
        }
        String what = file + ": legacy torch.save stream: ";
        StrictPickle.Parsed magic = StrictPickle.parse(file + " (legacy torch.save stream: magic number pickle)", bytes, 0, StrictPickle.Flavor.PLAIN);
        if (!MAGIC.equals(magic.value())) {
            throw new PickleException(what + "its first pickle holds " + StrictPickle.describe(magic.value())
                    + ", not torch's magic number 0x" + MAGIC.toString(16));
        }
        StrictPickle.Parsed version = StrictPickle.parse(file + " (legacy torch.save stream: protocol version pickle)", bytes, magic.end(), StrictPickle.Flavor.PLAIN);
        if (!Long.valueOf(PROTOCOL_VERSION).equals(version.value())) {
            throw new PickleException(what + "protocol version " + StrictPickle.describe(version.value()) + ", expected " + PROTOCOL_VERSION);
        }
        StrictPickle.Parsed sysInfo = StrictPickle.parse(file + " (legacy torch.save stream: sys_info pickle)", bytes, version.end(), StrictPickle.Flavor.PLAIN);
        checkSysInfo(what, sysInfo.value());
        StrictPickle.Parsed object = StrictPickle.parse(file + " (legacy torch.save stream: object pickle)", bytes, sysInfo.end(), StrictPickle.Flavor.TORCH_LEGACY);
        StrictPickle.Parsed keyList = StrictPickle.parse(file + " (legacy torch.save stream: storage key list)", bytes, object.end(), StrictPickle.Flavor.PLAIN);
        Map<String, StorageRef> used = storagesOf(what, object.value());
        List<String> keys = keys(what, keyList.value(), used.keySet());

        Map<String, int[]> ranges = new HashMap<>();
        int pos = keyList.end();
        for (String key : keys) {
            StorageRef st = used.get(key);
            if (bytes.length - pos < 8) {
                throw new PickleException(what + "truncated: the element count of storage " + key + " at byte offset " + pos
                        + " runs past the end of the file (" + bytes.length + " bytes)");
            }
            long count = ByteBuffer.wrap(bytes, pos, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
            if (count != st.numel()) {
                throw new PickleException(what + "storage " + key + " holds " + Long.toUnsignedString(count) + " elements by its count at byte offset "
                        + pos + ", the pickle says " + st.numel() + " × " + st.dtype());
            }
            pos += 8;
            long length;
            try {
                length = Math.multiplyExact(count, (long) st.dtype().byteSize);
            } catch (ArithmeticException overflow) {
                length = Long.MAX_VALUE;
            }
            if (length > bytes.length - pos) {
                throw new PickleException(what + "truncated: storage " + key + " needs " + (length == Long.MAX_VALUE ? "more than 2^63" : length)
                        + " bytes from byte offset " + pos + ", the file has " + (bytes.length - pos) + " left");
            }
            ranges.put(key, new int[] {pos, (int) length});
            pos += (int) length;
        }
        if (pos != bytes.length) {
            throw new PickleException(what + (bytes.length - pos) + " bytes follow the last storage (at byte offset " + pos
                    + "); torch.save ends the stream there");
        }
        return new LegacyCheckpoint(object.value(), bytes, ranges);
    }

    /** torch ignores sys_info on load, but the storages are in the writer's byte order: only little-endian is read. */
    private static void checkSysInfo(String what, Object value) {
        if (!(value instanceof LinkedHashMap<?, ?> info)) {
            throw new PickleException(what + "sys_info is " + StrictPickle.describe(value) + ", not a dict");
        }
        Object little = info.get("little_endian");
        if (Boolean.FALSE.equals(little)) {
            throw new PickleException(what + "sys_info says the file was written on a big-endian machine (little_endian=False);"
                    + " its storages are in that byte order, which this reader does not swap");
        }
        if (!Boolean.TRUE.equals(little)) {
            throw new PickleException(what + "sys_info has little_endian=" + StrictPickle.describe(little) + ", expected True");
        }
        Object protocol = info.get("protocol_version");
        if (protocol != null && !Long.valueOf(PROTOCOL_VERSION).equals(protocol)) {
            throw new PickleException(what + "sys_info has protocol_version=" + StrictPickle.describe(protocol) + ", expected " + PROTOCOL_VERSION);
        }
    }

    /** Every storage the object names (through its tensors or on its own), by key; one key must always mean the same storage. */
    private static Map<String, StorageRef> storagesOf(String what, Object root) {
        Map<String, StorageRef> used = new LinkedHashMap<>();
        Set<Object> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        Deque<Object> todo = new ArrayDeque<>();
        todo.push(root);
        while (!todo.isEmpty()) {
            Object v = todo.pop();
            if (!seen.add(v)) continue; // the memo can make a value reachable twice, or from itself
            if (v instanceof TensorRef t) todo.push(t.storage());
            else if (v instanceof Map<?, ?> m) m.forEach((k, x) -> {
                todo.push(k);
                todo.push(x);
            });
            else if (v instanceof List<?> l) l.forEach(todo::push);
            else if (v instanceof StorageRef st) {
                StorageRef before = used.putIfAbsent(st.key(), st);
                if (before != null && (before.dtype() != st.dtype() || before.numel() != st.numel())) {
                    throw new PickleException(what + "storage " + st.key() + " is named as " + before.numel() + " × " + before.dtype()
                            + " and as " + st.numel() + " × " + st.dtype());
                }
            }
        }
        return used;
    }

    /** The key list: strings, each once, exactly the storages the object names (torch writes the data of these, in this order). */
    private static List<String> keys(String what, Object value, Set<String> used) {
        if (!(value instanceof java.util.ArrayList<?> list)) {
            throw new PickleException(what + "the storage key list is " + StrictPickle.describe(value) + ", not a list");
        }
        Set<String> keys = new LinkedHashSet<>();
        for (Object k : list) {
            if (!(k instanceof String key)) throw new PickleException(what + "the storage key list holds " + StrictPickle.describe(k) + ", not a string");
            if (!keys.add(key)) throw new PickleException(what + "the storage key list names " + key + " twice");
        }
        if (!keys.equals(used)) {
            TreeSet<String> missing = new TreeSet<>(used), extra = new TreeSet<>(keys);
            missing.removeAll(keys);
            extra.removeAll(used);
            throw new PickleException(what + "the storage key list does not match the storages the object names"
                    + (missing.isEmpty() ? "" : "; no data for " + missing) + (extra.isEmpty() ? "" : "; data for unnamed " + extra));
        }
        return List.copyOf(keys);
    }
}
