package org.evallearn.tensor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A pickle reader that never executes anything: it interprets the opcodes that a pickled numpy
 * array and a PyTorch state dict use, and builds plain Java values from them.
 *
 * <p>Python's {@code pickle.load} calls whatever {@code GLOBAL} names ({@code os.system},
 * {@code builtins.eval}), so loading a downloaded checkpoint with it runs the downloader's code.
 * Here a global is only a name: the few on the allow-list of the {@link Flavor} become
 * descriptors ("a numpy array of dtype &lt;f2", "torch storage 3 of float32"), every other global
 * and every opcode outside the table below is a {@link PickleException} naming the file, the
 * opcode or global, and the byte offset. Opcode semantics follow CPython's
 * {@code Lib/pickletools.py}.
 *
 * <p>Values: ints are {@link Long} (a {@link java.math.BigInteger} beyond 64 bits), floats {@link Double}, text {@link String}, bytes
 * {@code byte[]}, booleans {@link Boolean}, None {@link #NONE}, tuples unmodifiable {@link List}s,
 * lists {@link ArrayList}s, dicts (and {@code OrderedDict}) {@link LinkedHashMap}s.
 */
public final class StrictPickle {
    /** Python's None (a Java null cannot tell "absent" from "None"). */
    public static final Object NONE = new Object() {
        @Override
        public String toString() {
            return "None";
        }
    };

    /** Which allow-list applies: a pickle is either a numpy array or a torch checkpoint, never both. */
    public enum Flavor {
        /** {@code numpy.save}/{@code pickle.dump} of one ndarray ({@code _reconstruct} + BUILD). */
        NUMPY(Set.of("numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct",
                "numpy.ndarray", "numpy.dtype")),
        /** {@code data.pkl} of a {@code torch.save} zip: storages come in through BINPERSID. */
        TORCH(TORCH_GLOBALS),
        /**
         * The object pickle of a legacy (pre-1.6) {@code torch.save} stream: the same globals, and
         * {@code _rebuild_tensor} of files from before PyTorch 0.4; the persistent id carries a
         * sixth field, {@code view_metadata}.
         */
        TORCH_LEGACY(LEGACY_GLOBALS),
        /** Plain data (ints, strings, bools, dicts, lists): the legacy stream's header pickles and storage key list. */
        PLAIN(Set.of());

        final Set<String> globals;

        Flavor(Set<String> globals) {
            this.globals = globals;
        }
    }

    private static final Set<String> TORCH_GLOBALS = Set.of("collections.OrderedDict", "torch._utils._rebuild_tensor_v2",
            "torch._utils._rebuild_parameter", "torch.FloatStorage", "torch.HalfStorage", "torch.BFloat16Storage", "torch.LongStorage",
            "torch.IntStorage", "torch.ByteStorage", "torch.BoolStorage");
    private static final Set<String> LEGACY_GLOBALS = union(TORCH_GLOBALS, "torch._utils._rebuild_tensor");

    private static Set<String> union(Set<String> names, String more) {
        Set<String> all = new java.util.HashSet<>(names);
        all.add(more);
        return Set.copyOf(all);
    }

    /** An allow-listed global: a name only, interpreted by REDUCE below. */
    record Global(String qualifiedName) {}

    /** A torch storage named by a persistent id: {@code archive/data/<key>} holds {@code numel} elements. */
    public record StorageRef(String key, DType dtype, long numel) {}

    /** {@code torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)}. */
    public record TensorRef(StorageRef storage, long offset, long[] shape, long[] stride) {}

    /** A numpy array: dtype descriptor as numpy writes it ({@code "<f2"}), shape and raw bytes. */
    public record NumpyArray(String descr, long[] shape, boolean fortranOrder, byte[] data) {}

    /** {@code _reconstruct(ndarray, (0,), b'b')}: an empty array waiting for BUILD's state. */
    private static final class PendingArray {}

    /** {@code numpy.dtype('f2', False, True)} waiting for BUILD to give its byte order. */
    private static final class PendingDType {
        final String kind;
        String descr; // set by BUILD

        PendingDType(String kind) {
            this.kind = kind;
        }
    }

    private static final Object MARK = new Object();

    private final String source;
    private final byte[] in;
    private final Flavor flavor;
    private final List<Object> stack = new ArrayList<>();
    private final List<Integer> marks = new ArrayList<>();
    private final Map<Long, Object> memo = new HashMap<>();
    private int pos;
    private int opStart;
    private String opName;

    private StrictPickle(String source, byte[] in, Flavor flavor) {
        this.source = source;
        this.in = in;
        this.flavor = flavor;
    }

    /** Interprets {@code pickle}; {@code source} names it in errors (a file, or file!entry). */
    public static Object parse(String source, byte[] pickle, Flavor flavor) {
        return new StrictPickle(source, pickle, flavor).run();
    }

    /** A pickle's value and the offset just past its STOP, where the next part of the file begins. */
    public record Parsed(Object value, int end) {}

    /**
     * Interprets the pickle that starts at {@code offset} of {@code bytes}, for files that hold
     * several one after another (torch's legacy layout); byte offsets in errors count from the
     * start of {@code bytes}.
     */
    public static Parsed parse(String source, byte[] bytes, int offset, Flavor flavor) {
        StrictPickle p = new StrictPickle(source, bytes, flavor);
        p.pos = offset;
        Object value = p.run();
        return new Parsed(value, p.pos);
    }

    /** Reads a file holding one pickled numpy array (Q16's {@code prompts.p}). */
    public static NumpyArray readNumpyArray(Path file) {
        byte[] bytes;
        try {
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new PickleException(file + ": cannot read (" + e.getMessage() + ")", e);
        }
        Object v = parse(file.toString(), bytes, Flavor.NUMPY);
        if (!(v instanceof NumpyArray a)) throw new PickleException(file + ": holds " + describe(v) + ", not a numpy array");
        return a;
    }

    private Object run() {
        while (true) {
            if (pos >= in.length) throw fail("pickle ends without STOP");
            opStart = pos;
            int op = in[pos++] & 0xff;
            opName = OPCODE_NAMES.getOrDefault(op, String.format("unknown opcode 0x%02x", op));
            switch (op) {
                case 0x80 -> { // PROTO
                    int v = u8();
                    if (v < 2 || v > 5) throw fail("protocol " + v + " is not 2..5");
                }
                case 0x95 -> bytes(8); // FRAME: a length hint only
                case '.' -> { // STOP
                    if (stack.size() != 1 || !marks.isEmpty()) throw fail("stack holds " + stack.size() + " values at STOP");
                    return stack.get(0);
                }
                case '(' -> marks.add(stack.size());
                case '0' -> pop();
                case '1' -> popMark();
                case '2' -> push(peek());
                case 'N' -> push(NONE);
                case 0x88 -> push(Boolean.TRUE);
                case 0x89 -> push(Boolean.FALSE);
                case 'J' -> push((long) le(4).getInt());
                case 'K' -> push((long) u8());
                case 'M' -> push((long) (le(2).getShort() & 0xffff));
                case 0x8a -> push(long1());
                case 'G' -> push(ByteBuffer.wrap(bytes(8)).order(ByteOrder.BIG_ENDIAN).getDouble());
                case 'X' -> push(utf8(length(4)));
                // Python 2's str, in legacy checkpoints saved from Python 2; torch.load decodes them as UTF-8
                case 'T' -> push(utf8(length(4)));
                case 'U' -> push(utf8(u8()));
                case 0x8c -> push(utf8(u8()));
                case 0x8d -> push(utf8(length(8)));
                case 'B' -> push(bytes(length(4)));
                case 'C' -> push(bytes(u8()));
                case 0x8e -> push(bytes(length(8)));
                case ')' -> push(List.of());
                case 't' -> push(freeze(popMark()));
                case 0x85 -> push(freeze(popN(1)));
                case 0x86 -> push(freeze(popN(2)));
                case 0x87 -> push(freeze(popN(3)));
                case ']' -> push(new ArrayList<>());
                case 'a' -> list(peekBelow(1)).add(pop());
                case 'e' -> {
                    List<Object> items = popMark();
                    list(peek()).addAll(items);
                }
                case '}' -> push(new LinkedHashMap<>());
                case 's' -> {
                    Object value = pop(), key = pop();
                    dict(peek()).put(key, value);
                }
                case 'u' -> {
                    List<Object> items = popMark();
                    if (items.size() % 2 != 0) throw fail("odd number of items");
                    Map<Object, Object> d = dict(peek());
                    for (int i = 0; i < items.size(); i += 2) d.put(items.get(i), items.get(i + 1));
                }
                case 'c' -> push(global(line(), line()));
                case 0x93 -> {
                    Object name = pop(), module = pop();
                    if (!(module instanceof String m) || !(name instanceof String n)) throw fail("module and name must be strings");
                    push(global(m, n));
                }
                case 'R' -> {
                    Object args = pop(), callable = pop();
                    push(reduce(callable, tuple(args)));
                }
                case 'b' -> {
                    Object state = pop();
                    build(peek(), state);
                }
                case 'Q' -> push(persistentId(pop()));
                case 'q' -> memo.put((long) u8(), peek());
                case 'r' -> memo.put(le(4).getInt() & 0xffffffffL, peek());
                case 0x94 -> memo.put((long) memo.size(), peek());
                case 'h' -> push(memoGet(u8()));
                case 'j' -> push(memoGet(le(4).getInt() & 0xffffffffL));
                default -> throw fail("opcode is not supported by this reader (it builds numpy arrays and torch state dicts only)");
            }
        }
    }

    private Global global(String module, String name) {
        String qualified = module + "." + name;
        if (!flavor.globals.contains(qualified)) {
            throw new PickleException(source + ": global '" + qualified + "' (" + opName + " at byte offset " + opStart
                    + ") is not allowed; a " + flavor.name().toLowerCase() + " pickle may name only " + new java.util.TreeSet<>(flavor.globals));
        }
        return new Global(qualified);
    }

    private Object reduce(Object callable, List<Object> args) {
        if (!(callable instanceof Global g)) throw fail("REDUCE on " + describe(callable) + ", which is not callable here");
        switch (g.qualifiedName()) {
            case "numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct" -> {
                arity(g, args, 3);
                if (!(args.get(0) instanceof Global cls) || !cls.qualifiedName().equals("numpy.ndarray")) {
                    throw fail("_reconstruct of " + describe(args.get(0)) + ", expected numpy.ndarray");
                }
                return new PendingArray();
            }
            case "numpy.dtype" -> {
                arity(g, args, 3);
                String kind = string(args.get(0));
                if (!kind.matches("[fiub][1248]")) throw fail("numpy dtype '" + kind + "' is not a plain number type");
                return new PendingDType(kind);
            }
            case "collections.OrderedDict" -> {
                arity(g, args, 0);
                return new LinkedHashMap<>();
            }
            case "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor" -> {
                // v2: (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata]);
                // PyTorch < 0.4: (storage, storage_offset, size, stride)
                boolean v2 = g.qualifiedName().endsWith("_v2");
                if (v2 ? args.size() != 6 && args.size() != 7 : args.size() != 4) {
                    throw fail(g.qualifiedName() + " takes " + (v2 ? "6 or 7" : "4") + " arguments, got " + args.size());
                }
                if (!(args.get(0) instanceof StorageRef storage)) throw fail("tensor storage is " + describe(args.get(0)));
                if (v2 && !dict(args.get(5)).isEmpty()) throw fail("tensor has backward hooks");
                long[] shape = longs(args.get(2)), stride = longs(args.get(3));
                if (shape.length != stride.length) throw fail("size and stride differ in length");
                long offset = integer(args.get(1));
                if (offset < 0) throw fail("negative storage offset " + offset);
                return new TensorRef(storage, offset, shape, stride);
            }
            case "torch._utils._rebuild_parameter" -> {
                arity(g, args, 3);
                if (!(args.get(0) instanceof TensorRef t)) throw fail("parameter of " + describe(args.get(0)));
                if (!dict(args.get(2)).isEmpty()) throw fail("parameter has backward hooks");
                return t;
            }
            default -> throw fail("REDUCE on " + g.qualifiedName() + ", which is a type name, not a callable here");
        }
    }

    private void build(Object target, Object state) {
        if (target instanceof PendingDType d) {
            // numpy dtype.__setstate__: (version, byteorder, subarray, names, fields, elsize, alignment, flags)
            List<Object> s = tuple(state);
            if (s.size() != 8 || s.get(2) != NONE || s.get(3) != NONE || s.get(4) != NONE) {
                throw fail("only plain numeric dtypes are supported, got state " + s);
            }
            String order = string(s.get(1));
            if (!order.equals("<") && !order.equals("|")) throw fail("dtype byte order '" + order + "' is not little-endian");
            d.descr = order + d.kind;
        } else if (target instanceof PendingArray) {
            // ndarray.__setstate__: (version, shape, dtype, is_fortran, raw data)
            List<Object> s = tuple(state);
            if (s.size() != 5 || !(s.get(2) instanceof PendingDType d) || d.descr == null || !(s.get(4) instanceof byte[] data)) {
                throw fail("ndarray state must be (version, shape, dtype, fortran, bytes)");
            }
            long[] shape = longs(s.get(1));
            long bytes = d.kind.charAt(1) - '0';
            try {
                for (long dim : shape) bytes = Math.multiplyExact(bytes, dim);
            } catch (ArithmeticException overflow) {
                throw fail("array shape " + Arrays.toString(shape) + " overflows");
            }
            if (bytes != data.length) {
                throw fail("array " + Arrays.toString(shape) + " of " + d.descr + " does not fit its " + data.length + " data bytes");
            }
            // BUILD mutates in place in Python: every reference to the pending array now sees the result.
            NumpyArray built = new NumpyArray(d.descr, shape, bool(s.get(3)), data);
            stack.set(stack.size() - 1, built);
            memo.replaceAll((k, v) -> v == target ? built : v);
        } else if (target instanceof LinkedHashMap<?, ?> && state instanceof Map<?, ?> attrs) {
            // torch sets OrderedDict attributes (its _metadata of module versions); not needed to load weights.
            for (Object k : attrs.keySet()) if (!(k instanceof String)) throw fail("attribute name " + describe(k));
        } else {
            throw fail("BUILD on " + describe(target) + " is not supported");
        }
    }

    /**
     * torch.serialization's persistent id: ('storage', storage_type, key, location, numel) in the
     * zip layout; the legacy layout appends view_metadata, None unless the storage is a view of
     * another (written only by torch before 1.0, and not read here).
     */
    private Object persistentId(Object pid) {
        if (flavor != Flavor.TORCH && flavor != Flavor.TORCH_LEGACY) throw fail("persistent ids appear only in torch checkpoints");
        List<Object> t = tuple(pid);
        boolean legacy = flavor == Flavor.TORCH_LEGACY;
        if (t.size() != (legacy ? 6 : 5) || !"storage".equals(t.get(0)) || !(t.get(1) instanceof Global type)) {
            throw fail("persistent id " + t + " is not ('storage', type, key, location, numel" + (legacy ? ", view_metadata)" : ")"));
        }
        if (legacy && t.get(5) != NONE) throw fail("storage " + t.get(2) + " is a view of another storage (" + describe(t.get(5)) + "), which this reader does not support");
        DType dtype = switch (type.qualifiedName()) {
            case "torch.FloatStorage" -> DType.F32;
            case "torch.HalfStorage" -> DType.F16;
            case "torch.BFloat16Storage" -> DType.BF16;
            case "torch.LongStorage" -> DType.I64;
            case "torch.IntStorage" -> DType.I32;
            case "torch.ByteStorage" -> DType.U8;
            case "torch.BoolStorage" -> DType.BOOL;
            default -> throw fail(type.qualifiedName() + " is not a storage type");
        };
        string(t.get(3));
        long numel = integer(t.get(4));
        if (numel < 0) throw fail("negative storage size " + numel);
        return new StorageRef(string(t.get(2)), dtype, numel);
    }

    // ---- stack, memo and operand helpers ----

    private PickleException fail(String why) {
        return new PickleException(source + ": " + opName + " at byte offset " + opStart + ": " + why);
    }

    private void push(Object v) {
        stack.add(v);
    }

    private Object pop() {
        int floor = marks.isEmpty() ? 0 : marks.get(marks.size() - 1);
        if (stack.size() <= floor) throw fail("stack underflow");
        return stack.remove(stack.size() - 1);
    }

    private Object peek() {
        return peekBelow(0);
    }

    private Object peekBelow(int depth) {
        int floor = marks.isEmpty() ? 0 : marks.get(marks.size() - 1);
        if (stack.size() - depth <= floor) throw fail("stack underflow");
        return stack.get(stack.size() - 1 - depth);
    }

    private List<Object> popN(int n) {
        Object[] items = new Object[n];
        for (int i = n - 1; i >= 0; i--) items[i] = pop();
        return Arrays.asList(items);
    }

    private List<Object> popMark() {
        if (marks.isEmpty()) throw fail("no MARK on the stack");
        int at = marks.remove(marks.size() - 1);
        List<Object> items = new ArrayList<>(stack.subList(at, stack.size()));
        stack.subList(at, stack.size()).clear();
        return items;
    }

    private Object memoGet(long key) {
        Object v = memo.get(key);
        if (v == null) throw fail("memo slot " + key + " is empty");
        return v;
    }

    private static List<Object> freeze(List<Object> items) {
        return Collections.unmodifiableList(new ArrayList<>(items));
    }

    @SuppressWarnings("unchecked")
    private List<Object> tuple(Object v) {
        if (v instanceof List<?> l) return (List<Object>) l;
        throw fail("expected a tuple, got " + describe(v));
    }

    @SuppressWarnings("unchecked")
    private List<Object> list(Object v) {
        if (v instanceof ArrayList<?> l) return (List<Object>) l;
        throw fail("expected a list, got " + describe(v));
    }

    @SuppressWarnings("unchecked")
    private Map<Object, Object> dict(Object v) {
        if (v instanceof LinkedHashMap<?, ?> m) return (Map<Object, Object>) m;
        throw fail("expected a dict, got " + describe(v));
    }

    private String string(Object v) {
        if (v instanceof String s) return s;
        throw fail("expected a string, got " + describe(v));
    }

    private long integer(Object v) {
        if (v instanceof Long l) return l;
        throw fail("expected an int, got " + describe(v));
    }

    private boolean bool(Object v) {
        if (v instanceof Boolean b) return b;
        throw fail("expected a bool, got " + describe(v));
    }

    private long[] longs(Object v) {
        List<Object> t = tuple(v);
        long[] out = new long[t.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = integer(t.get(i));
            if (out[i] < 0) throw fail("negative size or stride " + out[i]);
        }
        return out;
    }

    private void arity(Global g, List<Object> args, int n) {
        if (args.size() != n) throw fail(g.qualifiedName() + " takes " + n + " arguments, got " + args.size());
    }

    static String describe(Object v) {
        if (v instanceof Global g) return "global " + g.qualifiedName();
        if (v instanceof byte[] b) return "bytes[" + b.length + "]";
        if (v == null) return "nothing";
        if (v == NONE) return "None";
        return v.getClass().getSimpleName() + " " + (v instanceof List<?> || v instanceof Map<?, ?> ? "" : v);
    }

    private int u8() {
        return bytes(1)[0] & 0xff;
    }

    private ByteBuffer le(int n) {
        return ByteBuffer.wrap(bytes(n)).order(ByteOrder.LITTLE_ENDIAN);
    }

    private int length(int width) {
        long n = width == 4 ? le(4).getInt() & 0xffffffffL : le(8).getLong();
        if (n < 0 || n > in.length - pos) throw fail("length " + Long.toUnsignedString(n) + " runs past the end of the pickle");
        return (int) n;
    }

    private byte[] bytes(int n) {
        if (n > in.length - pos) throw fail("operand runs past the end of the pickle");
        byte[] out = Arrays.copyOfRange(in, pos, pos + n);
        pos += n;
        return out;
    }

    private String utf8(int n) {
        return new String(bytes(n), StandardCharsets.UTF_8);
    }

    /**
     * LONG1: a little-endian two's-complement int of n bytes; a {@link Long} up to 8 bytes, else
     * a {@link java.math.BigInteger} (torch's legacy magic number has 10), which no size, stride
     * or offset accepts.
     */
    private Object long1() {
        int n = u8();
        byte[] b = bytes(n);
        if (n > 8) {
            byte[] bigEndian = new byte[n];
            for (int i = 0; i < n; i++) bigEndian[i] = b[n - 1 - i];
            return new java.math.BigInteger(bigEndian);
        }
        long v = 0;
        for (int i = n - 1; i >= 0; i--) v = (v << 8) | (b[i] & 0xff);
        if (n > 0 && n < 8 && b[n - 1] < 0) v -= 1L << (8 * n);
        return v;
    }

    /** GLOBAL's operands: newline-terminated ASCII. */
    private String line() {
        int end = pos;
        while (end < in.length && in[end] != '\n') end++;
        if (end >= in.length) throw fail("unterminated name");
        String s = new String(in, pos, end - pos, StandardCharsets.US_ASCII);
        pos = end + 1;
        return s;
    }

    private static final Map<Integer, String> OPCODE_NAMES = new HashMap<>();

    static {
        String[] names = {
            "(MARK", ".STOP", "0POP", "1POP_MARK", "2DUP", "FFLOAT", "IINT", "JBININT", "KBININT1", "LLONG", "MBININT2",
            "NNONE", "PPERSID", "QBINPERSID", "RREDUCE", "SSTRING", "TBINSTRING", "USHORT_BINSTRING", "VUNICODE",
            "XBINUNICODE", "aAPPEND", "bBUILD", "cGLOBAL", "dDICT", "}EMPTY_DICT", "eAPPENDS", "gGET", "hBINGET",
            "iINST", "jLONG_BINGET", "lLIST", "]EMPTY_LIST", "oOBJ", "pPUT", "qBINPUT", "rLONG_BINPUT", "sSETITEM",
            "tTUPLE", ")EMPTY_TUPLE", "uSETITEMS", "GBINFLOAT", "BBINBYTES", "CSHORT_BINBYTES"};
        for (String n : names) OPCODE_NAMES.put((int) n.charAt(0), n.substring(1));
        String[] high = {"PROTO", "NEWOBJ", "EXT1", "EXT2", "EXT4", "TUPLE1", "TUPLE2", "TUPLE3", "NEWTRUE", "NEWFALSE",
            "LONG1", "LONG4", "SHORT_BINUNICODE", "BINUNICODE8", "BINBYTES8", "EMPTY_SET", "ADDITEMS", "FROZENSET",
            "NEWOBJ_EX", "STACK_GLOBAL", "MEMOIZE", "FRAME", "BYTEARRAY8", "NEXT_BUFFER", "READONLY_BUFFER"};
        for (int i = 0; i < high.length; i++) OPCODE_NAMES.put(0x80 + i, high[i]);
    }
}
