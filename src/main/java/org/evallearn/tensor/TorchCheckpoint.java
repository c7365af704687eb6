package org.evallearn.tensor;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.tensor.StrictPickle.StorageRef;
import org.evallearn.tensor.StrictPickle.TensorRef;

/**
 * A {@code torch.save} checkpoint read without running Python. The zip layout ({@code PK\3\4};
 * {@code torch/serialization.py} {@code _save}, PyTorch ≥ 1.6): {@code <prefix>/data.pkl}
 * through {@link StrictPickle} ({@link StrictPickle.Flavor#TORCH}), each storage from the raw
 * little-endian entry {@code <prefix>/data/<key>}. The legacy layout (a file that starts as a
 * pickle; {@code _legacy_save}, older PyTorch and many published {@code .pth} files): a stream
 * of pickles and storages, {@link LegacyCheckpoint}. Both go through one materialisation, so a
 * tensor view is checked and copied out the same way whichever layout held it. Tensors come back
 * on the CPU, contiguous, whatever device they were saved from.
 */
public final class TorchCheckpoint {
    private TorchCheckpoint() {}

    /** A checkpoint that is a state dict ({@code OrderedDict} of name → tensor), in file order. */
    public static Map<String, Tensor> stateDict(Path file) {
        return read(file, (root, materialise) -> stateDict(file, root, materialise));
    }

    /**
     * The state dict under {@code key} of a checkpoint that is a dict of entries (a training
     * checkpoint such as Espresso's {@code {'epoch', 'textEncoder_state_dict', 'loss'}}); the other
     * entries are parsed as strictly but not materialised.
     */
    public static Map<String, Tensor> stateDict(Path file, String key) {
        return read(file, (root, materialise) -> {
            if (!(root instanceof LinkedHashMap<?, ?> dict)) {
                throw new PickleException(file + ": holds " + StrictPickle.describe(root) + ", not a dict with '" + key + "'");
            }
            if (!dict.containsKey(key)) {
                throw new PickleException(file + ": has no entry '" + key + "'; it has " + dict.keySet().stream().map(StrictPickle::describe).toList());
            }
            return stateDict(file, dict.get(key), materialise);
        });
    }

    private static Map<String, Tensor> stateDict(Path file, Object root, java.util.function.Function<TensorRef, Tensor> materialise) {
        if (!(root instanceof LinkedHashMap<?, ?> dict)) {
            throw new PickleException(file + ": holds " + StrictPickle.describe(root) + ", not a state dict");
        }
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (Map.Entry<?, ?> e : dict.entrySet()) {
            if (!(e.getKey() instanceof String name) || !(e.getValue() instanceof TensorRef ref)) {
                throw new PickleException(file + ": state dict entry " + StrictPickle.describe(e.getKey()) + " → "
                        + StrictPickle.describe(e.getValue()) + " is not name → tensor");
            }
            out.put(name, materialise.apply(ref));
        }
        return out;
    }

    /**
     * Writes a state-dict checkpoint (either layout) as a safetensors file under the same keys,
     * its file name in the header metadata ({@code converted_from}); atomically, as
     * {@link SafeTensorsWriter} writes, so a crash never leaves a half-converted file.
     */
    public static void convertStateDict(Path checkpoint, Path safetensors) {
        try (Scope s = Scope.open()) {
            SafeTensorsWriter.write(safetensors, stateDict(checkpoint), Map.of("converted_from", checkpoint.getFileName().toString()));
        }
    }

    /** A checkpoint that is one tensor or {@code nn.Parameter} (Unsafe Diffusion's fine-tuned Q16 prompts). */
    public static Tensor tensor(Path file) {
        return read(file, (root, materialise) -> {
            if (!(root instanceof TensorRef ref)) {
                throw new PickleException(file + ": holds " + StrictPickle.describe(root) + ", not a single tensor");
            }
            return materialise.apply(ref);
        });
    }

    /** The two layouts {@code torch.save} has written: a zip (PyTorch ≥ 1.6) and the legacy pickle stream. */
    public enum Layout { ZIP, LEGACY }

    /** {@link #writeStateDict(Path, Map, Layout)} in the zip layout. */
    public static void writeStateDict(Path file, Map<String, Tensor> tensors) {
        writeStateDict(file, tensors, Layout.ZIP);
    }

    /**
     * Writes {@code tensors} as {@code torch.save(state_dict)} would (protocol-2 pickle of an
     * {@code OrderedDict} of {@code _rebuild_tensor_v2} calls, one storage per tensor; with
     * {@link Layout#LEGACY} as {@code _use_new_zipfile_serialization=False} frames it), float32
     * and int64 only: the tiny stand-ins of checkpoints that exist only in this format, so the
     * path that reads the real ones is the path the tests run. Not atomic: write to a file of your
     * own and move it.
     */
    public static void writeStateDict(Path file, Map<String, Tensor> tensors, Layout layout) {
        java.io.ByteArrayOutputStream pkl = new java.io.ByteArrayOutputStream();
        PickleWriter w = new PickleWriter(pkl);
        w.op(0x80, 2).global("collections", "OrderedDict").op(')', 'R', '(');
        List<byte[]> storages = new ArrayList<>();
        List<Long> counts = new ArrayList<>();
        try (Scope s = Scope.open()) {
            for (Map.Entry<String, Tensor> e : tensors.entrySet()) {
                Tensor t = e.getValue().detach().cpu().contiguous();
                String storageClass = switch (DType.of(t.scalar_type())) {
                    case F32 -> "FloatStorage";
                    case I64 -> "LongStorage";
                    default -> throw new IllegalArgumentException(e.getKey() + ": only float32 and int64 tensors are written, not " + DType.of(t.scalar_type()));
                };
                byte[] data = new byte[(int) t.nbytes()];
                new org.bytedeco.javacpp.BytePointer(t.data_ptr()).capacity(data.length).get(data);
                w.unicode(e.getKey()).global("torch._utils", "_rebuild_tensor_v2").op('(', '(').unicode("storage").global("torch", storageClass)
                        .unicode(Integer.toString(storages.size())).unicode("cpu").integer(t.numel());
                if (layout == Layout.LEGACY) w.op('N'); // view_metadata: not a view
                w.op('t', 'Q').integer(0);
                long[] shape = t.shape();
                w.op('(');
                for (long d : shape) w.integer(d);
                w.op('t', '(');
                long stride = 1;
                long[] strides = new long[shape.length];
                for (int i = shape.length - 1; i >= 0; i--) {
                    strides[i] = stride;
                    stride *= shape[i];
                }
                for (long d : strides) w.integer(d);
                w.op('t', 0x89).global("collections", "OrderedDict").op(')', 'R', 't', 'R');
                storages.add(data);
                counts.add(t.numel());
            }
        }
        w.op('u', '.');
        try {
            if (layout == Layout.ZIP) writeZip(file, pkl.toByteArray(), storages);
            else writeLegacy(file, pkl.toByteArray(), storages, counts);
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }

    private static void writeZip(Path file, byte[] pkl, List<byte[]> storages) throws IOException {
        String archive = "archive/";
        try (java.util.zip.ZipOutputStream zip = new java.util.zip.ZipOutputStream(java.nio.file.Files.newOutputStream(file))) {
            zip.putNextEntry(new ZipEntry(archive + "data.pkl"));
            zip.write(pkl);
            for (int i = 0; i < storages.size(); i++) {
                zip.putNextEntry(new ZipEntry(archive + "data/" + i));
                zip.write(storages.get(i));
            }
            zip.putNextEntry(new ZipEntry(archive + "version"));
            zip.write("3\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        }
    }

    /** Magic number, protocol version, sys_info, the object, the key list, then each storage as its count and bytes. */
    private static void writeLegacy(Path file, byte[] pkl, List<byte[]> storages, List<Long> counts) throws IOException {
        java.io.ByteArrayOutputStream header = new java.io.ByteArrayOutputStream();
        PickleWriter h = new PickleWriter(header);
        byte[] magic = LegacyCheckpoint.MAGIC.toByteArray(); // big-endian, 10 bytes
        h.op(0x80, 2, 0x8a, magic.length);
        for (int i = magic.length - 1; i >= 0; i--) h.op(magic[i] & 0xff);
        h.op('.').op(0x80, 2).integer(LegacyCheckpoint.PROTOCOL_VERSION).op('.');
        // type_sizes as torch writes them: struct.Struct('=h'/'=i'/'=l').size, standard sizes
        h.op(0x80, 2, '}', '(').unicode("protocol_version").integer(LegacyCheckpoint.PROTOCOL_VERSION).unicode("little_endian").op(0x88)
                .unicode("type_sizes").op('}', '(').unicode("short").integer(2).unicode("int").integer(4).unicode("long").integer(4)
                .op('u', 'u', '.');
        java.io.ByteArrayOutputStream keys = new java.io.ByteArrayOutputStream();
        PickleWriter k = new PickleWriter(keys).op(0x80, 2, ']', '(');
        for (int i = 0; i < storages.size(); i++) k.unicode(Integer.toString(i));
        k.op('e', '.');
        try (java.io.OutputStream out = new java.io.BufferedOutputStream(java.nio.file.Files.newOutputStream(file))) {
            out.write(header.toByteArray());
            out.write(pkl);
            out.write(keys.toByteArray());
            for (int i = 0; i < storages.size(); i++) {
                out.write(java.nio.ByteBuffer.allocate(8).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(counts.get(i)).array());
                out.write(storages.get(i));
            }
        }
    }

    /** The few pickle opcodes a state dict needs. */
    private record PickleWriter(java.io.ByteArrayOutputStream out) {
        PickleWriter op(int... bytes) {
            for (int b : bytes) out.write(b);
            return this;
        }

        PickleWriter global(String module, String name) {
            op('c');
            out.writeBytes((module + "\n" + name + "\n").getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            return this;
        }

        PickleWriter unicode(String s) {
            byte[] b = s.getBytes(java.nio.charset.StandardCharsets.UTF_8);
            op('X');
            out.writeBytes(java.nio.ByteBuffer.allocate(4).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt(b.length).array());
            out.writeBytes(b);
            return this;
        }

        /** BININT1 below 256, else BININT (sizes here fit in 31 bits). */
        PickleWriter integer(long v) {
            if (v < 0 || v > Integer.MAX_VALUE) throw new IllegalArgumentException("integer " + v + " does not fit BININT");
            if (v < 256) return op('K', (int) v);
            op('J');
            out.writeBytes(java.nio.ByteBuffer.allocate(4).order(java.nio.ByteOrder.LITTLE_ENDIAN).putInt((int) v).array());
            return this;
        }
    }

    private interface Reader<T> {
        T read(Object root, java.util.function.Function<TensorRef, Tensor> materialise);
    }

    /** Where a layout keeps a storage's raw little-endian bytes, and what errors call it. */
    private interface Storages {
        byte[] bytes(StorageRef storage);

        String name(StorageRef storage);
    }

    private static <T> T read(Path file, Reader<T> reader) {
        Natives.load();
        if (LegacyCheckpoint.isLegacy(file)) {
            LegacyCheckpoint legacy = LegacyCheckpoint.read(file);
            return materialiseAll(file, legacy.root(), reader, new Storages() {
                public byte[] bytes(StorageRef st) {
                    return legacy.storage(st.key());
                }

                public String name(StorageRef st) {
                    return "legacy storage " + st.key();
                }
            });
        }
        try (ZipFile zip = new ZipFile(file.toFile())) {
            String prefix = archivePrefix(file, zip);
            Object root = StrictPickle.parse(file + "!" + prefix + "data.pkl", readEntry(file, zip, prefix + "data.pkl"),
                    StrictPickle.Flavor.TORCH);
            return materialiseAll(file, root, reader, new Storages() {
                public byte[] bytes(StorageRef st) {
                    return readEntry(file, zip, name(st));
                }

                public String name(StorageRef st) {
                    return prefix + "data/" + st.key();
                }
            });
        } catch (IOException e) {
            throw new PickleException(file + ": not a readable torch zip checkpoint (" + e.getMessage() + "), nor a legacy torch.save"
                    + " stream (which starts with a pickle's PROTO opcode, byte 0x80)", e);
        }
    }

    /** Both layouts' tensors come out here: one storage tensor per key, each view checked against it and copied out. */
    private static <T> T materialiseAll(Path file, Object root, Reader<T> reader, Storages source) {
        Map<String, Tensor> storages = new HashMap<>();
        try (Scope s = Scope.open()) {
            return reader.read(root, ref -> s.handUp(materialise(file, ref, storages, source)));
        }
    }

    /** torch.save names entries "<archive name>/...", the archive name being the file stem or "archive". */
    private static String archivePrefix(Path file, ZipFile zip) {
        List<String> pickles = new ArrayList<>();
        for (Enumeration<? extends ZipEntry> en = zip.entries(); en.hasMoreElements(); ) {
            String name = en.nextElement().getName();
            if (name.endsWith("/data.pkl") && name.indexOf('/') == name.length() - "/data.pkl".length()) pickles.add(name);
        }
        if (pickles.size() != 1) {
            throw new PickleException(file + ": expected one <archive>/data.pkl entry, found " + pickles);
        }
        return pickles.get(0).substring(0, pickles.get(0).length() - "data.pkl".length());
    }

    private static Tensor materialise(Path file, TensorRef ref, Map<String, Tensor> storages, Storages source) {
        StorageRef st = ref.storage();
        String entry = source.name(st);
        Tensor storage = storages.get(entry);
        if (storage == null) {
            byte[] bytes = source.bytes(st);
            // multiplyExact: a numel of 2^62 float32s wraps to 0 bytes, which an empty entry would match.
            long expected;
            try {
                expected = Math.multiplyExact(st.numel(), (long) st.dtype().byteSize);
            } catch (ArithmeticException overflow) {
                expected = -1;
            }
            if (bytes.length != expected) {
                throw new PickleException(file + ": storage " + entry + " has " + bytes.length + " bytes, the pickle says "
                        + st.numel() + " × " + st.dtype());
            }
            storage = Tensor.create(bytes, bytes.length).view(st.dtype().scalarType);
            storages.put(entry, storage);
        }
        // The furthest element the view touches must lie inside the storage.
        long last = ref.offset();
        boolean empty = false;
        for (int i = 0; i < ref.shape().length; i++) {
            if (ref.shape()[i] == 0) empty = true;
            else last = saturatingAdd(last, saturatingMultiply(ref.shape()[i] - 1, ref.stride()[i]));
        }
        if (!empty && last >= st.numel()) {
            throw new PickleException(file + ": tensor view (offset " + ref.offset() + ", shape " + java.util.Arrays.toString(ref.shape())
                    + ", stride " + java.util.Arrays.toString(ref.stride()) + ") runs past storage " + entry + " of " + st.numel() + " elements");
        }
        // A contiguous copy of its own: no tensor aliases another's storage or keeps a whole storage alive.
        return storage.as_strided(ref.shape(), ref.stride(), new org.bytedeco.pytorch.LongOptional(ref.offset()))
                .clone(new org.bytedeco.pytorch.MemoryFormatOptional(org.bytedeco.pytorch.global.torch.MemoryFormat.Contiguous));
    }

    /** Sizes, strides and offsets are non-negative here (StrictPickle refuses others); an overflow saturates, so it fails the bounds check. */
    private static long saturatingMultiply(long a, long b) {
        long high = Math.multiplyHigh(a, b);
        return high != 0 || a * b < 0 ? Long.MAX_VALUE : a * b;
    }

    private static long saturatingAdd(long a, long b) {
        long sum = a + b;
        return sum < 0 ? Long.MAX_VALUE : sum;
    }

    private static byte[] readEntry(Path file, ZipFile zip, String name) {
        ZipEntry e = zip.getEntry(name);
        if (e == null) throw new PickleException(file + ": missing entry " + name);
        if (e.getSize() > Integer.MAX_VALUE - 8) throw new PickleException(file + ": entry " + name + " is too large (" + e.getSize() + " bytes)");
        try (InputStream in = zip.getInputStream(e)) {
            return in.readAllBytes();
        } catch (IOException ex) {
            throw new PickleException(file + ": cannot read entry " + name + " (" + ex.getMessage() + ")", ex);
        }
    }
}
