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
 * A {@code torch.save} zip checkpoint read without running Python: {@code <prefix>/data.pkl}
 * through {@link StrictPickle} ({@link StrictPickle.Flavor#TORCH}), each storage from the raw
 * little-endian entry {@code <prefix>/data/<key>}. Layout as written by
 * {@code torch/serialization.py} {@code _save} (PyTorch ≥ 1.6). Tensors come back on the CPU,
 * contiguous, whatever device they were saved from.
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

    /** A checkpoint that is one tensor or {@code nn.Parameter} (Unsafe Diffusion's fine-tuned Q16 prompts). */
    public static Tensor tensor(Path file) {
        return read(file, (root, materialise) -> {
            if (!(root instanceof TensorRef ref)) {
                throw new PickleException(file + ": holds " + StrictPickle.describe(root) + ", not a single tensor");
            }
            return materialise.apply(ref);
        });
    }

    /**
     * Writes {@code tensors} as {@code torch.save(state_dict)} would (zip layout, protocol-2
     * pickle of an {@code OrderedDict} of {@code _rebuild_tensor_v2} calls, one storage per
     * tensor), float32 and int64 only: the tiny stand-ins of checkpoints that exist only in this
     * format, so the path that reads the real ones is the path the tests run. Not atomic: write
     * to a file of your own and move it.
     */
    public static void writeStateDict(Path file, Map<String, Tensor> tensors) {
        String archive = "archive/";
        java.io.ByteArrayOutputStream pkl = new java.io.ByteArrayOutputStream();
        PickleWriter w = new PickleWriter(pkl);
        w.op(0x80, 2).global("collections", "OrderedDict").op(')', 'R', '(');
        List<byte[]> storages = new ArrayList<>();
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
                        .unicode(Integer.toString(storages.size())).unicode("cpu").integer(t.numel()).op('t', 'Q').integer(0);
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
            }
        }
        w.op('u', '.');
        try (java.util.zip.ZipOutputStream zip = new java.util.zip.ZipOutputStream(java.nio.file.Files.newOutputStream(file))) {
            zip.putNextEntry(new ZipEntry(archive + "data.pkl"));
            zip.write(pkl.toByteArray());
            for (int i = 0; i < storages.size(); i++) {
                zip.putNextEntry(new ZipEntry(archive + "data/" + i));
                zip.write(storages.get(i));
            }
            zip.putNextEntry(new ZipEntry(archive + "version"));
            zip.write("3\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
        } catch (IOException e) {
            throw new java.io.UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
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

    private static <T> T read(Path file, Reader<T> reader) {
        Natives.load();
        try (ZipFile zip = new ZipFile(file.toFile())) {
            String prefix = archivePrefix(file, zip);
            Object root = StrictPickle.parse(file + "!" + prefix + "data.pkl", readEntry(file, zip, prefix + "data.pkl"),
                    StrictPickle.Flavor.TORCH);
            Map<String, Tensor> storages = new HashMap<>();
            try (Scope s = Scope.open()) {
                return reader.read(root, ref -> s.handUp(materialise(file, zip, prefix, ref, storages)));
            }
        } catch (IOException e) {
            throw new PickleException(file + ": not a readable torch zip checkpoint (" + e.getMessage() + ")", e);
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

    private static Tensor materialise(Path file, ZipFile zip, String prefix, TensorRef ref, Map<String, Tensor> storages) {
        StorageRef st = ref.storage();
        String entry = prefix + "data/" + st.key();
        Tensor storage = storages.get(entry);
        if (storage == null) {
            byte[] bytes = readEntry(file, zip, entry);
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
