package org.evallearn.badinput;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.awt.image.BufferedImage;
import java.awt.image.DataBuffer;
import java.awt.image.Raster;
import java.awt.image.WritableRaster;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.zip.CRC32;
import java.util.zip.Deflater;
import java.util.zip.ZipEntry;
import java.util.zip.ZipOutputStream;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;
import org.bytedeco.pytorch.Tensor;
import org.evallearn.clip.TinyClip;
import org.evallearn.tensor.SafeTensorsFile;
import org.evallearn.tensor.SafeTensorsWriter;
import org.evallearn.tensor.Scope;

/**
 * The corpus inputs that are binary or large, made at test time from a recipe named in
 * {@code cases.json} ({@code generate}): a hand-made byte layout is easier to review as code
 * than as a committed blob, and 10 MB or 200 MB files do not belong in git.
 */
final class BadInputs {
    private BadInputs() {}

    /** Writes the input {@code recipe} describes at {@code target} (a file, or a folder for model cases). */
    static void generate(String recipe, Path target) throws IOException {
        Files.createDirectories(target.getParent());
        switch (recipe) {
            case "absent" -> { }
            case "directory" -> Files.createDirectories(target);
            // ---- configs ----
            case "deepBlockYaml" -> {
                StringBuilder yaml = new StringBuilder("model: tiny\ngeneration:\n");
                for (int i = 0; i < 1200; i++) yaml.append("  ".repeat(i + 1)).append('k').append(i).append(":\n");
                Files.writeString(target, yaml);
            }
            case "longStringConfig" -> Files.writeString(target, "{\"model\": \"" + "x".repeat(1 << 20)
                    + "\", \"technique\": {\"name\": \"none\"}, \"metric\": {\"name\": \"asr_i2p\", \"config\": {\"concept_name\": \"nudity\"}}}");
            // ---- prompt files ----
            case "bigLine" -> Files.writeString(target, "a red house\n" + "a".repeat(10 << 20) + "\n");
            case "bigQuotedField" -> Files.writeString(target, "prompt\na red house\n\"" + "a, ".repeat((10 << 20) / 3) + "\"\n");
            case "longPrompt" -> Files.writeString(target, "a red house\n" + "a cat, ".repeat(1430) + "\n");
            case "sparse3gb" -> {
                // Sparse: 3 GB of zero bytes that take no disk; read whole, they would exhaust the heap.
                try (RandomAccessFile f = new RandomAccessFile(target.toFile(), "rw")) {
                    f.setLength(3L << 30);
                }
            }
            case "bigUnclosedQuote" -> Files.writeString(target, "prompt\n\"" + "a".repeat(10 << 20) + "\n");
            default -> {
                if (target.toString().contains("/image/")) Files.write(target, image(recipe, target.getFileName().toString()));
                else if (target.toString().contains("/weights/")) safetensors(recipe, target);
                else if (target.toString().contains("/model/")) model(recipe, target);
                else if (target.toString().contains("/torch/")) Files.write(target, torch(recipe, target));
                else throw new IllegalArgumentException("no recipe " + recipe);
            }
        }
    }

    // ---------------------------------------------------------------- images

    static BufferedImage gradient(int type, int w, int h) {
        BufferedImage img = new BufferedImage(w, h, type);
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) img.setRGB(x, y, (x * 16) << 16 | (y * 16) << 8 | 0x80);
        return img;
    }

    static byte[] encode(BufferedImage img, String format) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        if (!ImageIO.write(img, format, out)) throw new IOException("no " + format + " writer");
        return out.toByteArray();
    }

    private static byte[] image(String recipe, String name) throws IOException {
        byte[] png = encode(gradient(BufferedImage.TYPE_INT_RGB, 16, 16), "png");
        byte[] jpg = encode(gradient(BufferedImage.TYPE_INT_RGB, 16, 16), "jpeg");
        return switch (recipe) {
            case "zero-byte" -> new byte[0];
            case "truncated-half" -> Arrays.copyOf(png, png.length / 2);
            case "signature-only" -> Arrays.copyOf(png, 8);
            case "soi-only" -> new byte[] {(byte) 0xFF, (byte) 0xD8};
            case "wrong-crc-ihdr" -> flipCrc(png, "IHDR");
            case "wrong-crc-idat" -> flipCrc(png, "IDAT");
            case "wrong-crc-ancillary" -> {
                // a tEXt chunk after IHDR whose CRC is wrong: libpng warns and drops it, the pixels are intact
                ByteArrayOutputStream out = new ByteArrayOutputStream();
                int ihdrEnd = 8 + 12 + 13;
                out.write(png, 0, ihdrEnd);
                chunk(out, "tEXt", "Comment\0hello".getBytes(StandardCharsets.ISO_8859_1));
                out.write(png, ihdrEnd, png.length - ihdrEnd);
                yield flipCrc(out.toByteArray(), "tEXt");
            }
            case "chunk-length-huge" -> {
                byte[] b = png.clone();
                ByteBuffer.wrap(b).putInt(8, 0x7FFFFFF0); // IHDR's length field
                yield b;
            }
            case "bomb-100000x100000" -> name.endsWith(".bmp") ? bmpWithSize(100000, 100000) : pngWithSize(100000, 100000);
            case "bomb-70000x70000" -> pngWithSize(70000, 70000);
            case "width-zero" -> pngWithSize(0, 16);
            case "bomb-65500x65500" -> jpegWithSize(jpg, 65500, 65500);
            case "bomb-65535x65535" -> gifWithSize(encode(gradient(BufferedImage.TYPE_BYTE_INDEXED, 16, 16), "gif"), 65535, 65535);
            case "cmyk" -> cmykJpeg();
            case "precision-12" -> jpegSof(jpg, 0xC1, 12);
            case "lossless-16" -> jpegSof(jpg, 0xC3, 16);
            case "animated" -> animatedGif();
            case "rgb-16bit" -> encode(new BufferedImage(new java.awt.image.ComponentColorModel(
                    java.awt.color.ColorSpace.getInstance(java.awt.color.ColorSpace.CS_sRGB), false, false,
                    java.awt.Transparency.OPAQUE, DataBuffer.TYPE_USHORT),
                    Raster.createInterleavedRaster(DataBuffer.TYPE_USHORT, 8, 8, 3, null), false, null), "png");
            case "grey-16bit" -> encode(new BufferedImage(8, 8, BufferedImage.TYPE_USHORT_GRAY), "png");
            case "rgba" -> encode(gradient(BufferedImage.TYPE_INT_ARGB, 8, 8), "png");
            case "palette" -> encode(gradient(BufferedImage.TYPE_BYTE_INDEXED, 8, 8), "png");
            case "grey-1bit" -> encode(gradient(BufferedImage.TYPE_BYTE_BINARY, 8, 8), "png");
            case "plain" -> encode(gradient(BufferedImage.TYPE_INT_RGB, 8, 8), "bmp");
            case "random-bytes" -> {
                byte[] b = new byte[4096];
                new java.util.Random(9).nextBytes(b);
                b[0] = 0x13; // not 0x00: see wbmp-lookalike
                yield b;
            }
            case "text" -> "this is not an image\n".getBytes(StandardCharsets.US_ASCII);
            case "wbmp-lookalike" -> new byte[] {0, 0, 8, 8, 1, 2, 3, 4, 5, 6, 7, 8};
            case "png-signature-garbage" -> {
                byte[] b = new byte[200];
                System.arraycopy(png, 0, b, 0, 8);
                Arrays.fill(b, 8, b.length, (byte) 0x5A);
                yield b;
            }
            default -> throw new IllegalArgumentException("no image recipe " + recipe);
        };
    }

    /** A BMP whose BITMAPINFOHEADER claims {@code w}×{@code h} over a few bytes of pixels. */
    static byte[] bmpWithSize(int w, int h) throws IOException {
        byte[] b = encode(gradient(BufferedImage.TYPE_INT_RGB, 4, 4), "bmp");
        ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putInt(18, w).putInt(22, h);
        return b;
    }

    /** A PNG of one IHDR claiming {@code w}×{@code h} RGB, a tiny IDAT and IEND, every CRC right. */
    static byte[] pngWithSize(int w, int h) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.write(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1A, '\n'});
        chunk(out, "IHDR", ByteBuffer.allocate(13).putInt(w).putInt(h).put((byte) 8).put((byte) 2).put((byte) 0).put((byte) 0).put((byte) 0).array());
        Deflater deflater = new Deflater();
        deflater.setInput(new byte[1024]);
        deflater.finish();
        byte[] z = new byte[2048];
        int n = deflater.deflate(z);
        chunk(out, "IDAT", Arrays.copyOf(z, n));
        chunk(out, "IEND", new byte[0]);
        return out.toByteArray();
    }

    private static void chunk(ByteArrayOutputStream out, String type, byte[] data) throws IOException {
        byte[] t = type.getBytes(StandardCharsets.US_ASCII);
        out.write(ByteBuffer.allocate(4).putInt(data.length).array());
        out.write(t);
        out.write(data);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        out.write(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
    }

    /** {@code png} with the stored CRC of its first {@code type} chunk changed. */
    private static byte[] flipCrc(byte[] png, String type) {
        byte[] b = png.clone();
        ByteBuffer buf = ByteBuffer.wrap(b);
        for (int at = 8; at + 8 <= b.length; ) {
            int len = buf.getInt(at);
            String t = new String(b, at + 4, 4, StandardCharsets.US_ASCII);
            if (t.equals(type)) {
                int crcAt = at + 8 + len;
                b[crcAt] ^= 0x01;
                return b;
            }
            at += 12 + len;
        }
        throw new IllegalArgumentException("no " + type + " chunk");
    }

    /** Offset of the first JPEG marker {@code 0xFF code}. */
    private static int marker(byte[] jpg, int... codes) {
        for (int i = 2; i + 1 < jpg.length; i++) {
            if ((jpg[i] & 0xFF) != 0xFF) continue;
            for (int c : codes) if ((jpg[i + 1] & 0xFF) == c) return i;
        }
        throw new IllegalArgumentException("no marker");
    }

    private static byte[] jpegWithSize(byte[] jpg, int w, int h) {
        byte[] b = jpg.clone();
        int sof = marker(b, 0xC0);
        // FF C0, length(2), precision(1), height(2), width(2)
        ByteBuffer.wrap(b).putShort(sof + 5, (short) h).putShort(sof + 7, (short) w);
        return b;
    }

    private static byte[] jpegSof(byte[] jpg, int sofCode, int precision) {
        byte[] b = jpg.clone();
        int sof = marker(b, 0xC0);
        b[sof + 1] = (byte) sofCode;
        b[sof + 4] = (byte) precision;
        return b;
    }

    private static byte[] gifWithSize(byte[] gif, int w, int h) {
        byte[] b = gif.clone();
        ByteBuffer buf = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        buf.putShort(6, (short) w).putShort(8, (short) h); // logical screen
        for (int i = 13; i < b.length - 9; i++) {
            if (b[i] == 0x2C) { // image descriptor: left, top, width, height
                buf.putShort(i + 5, (short) w).putShort(i + 7, (short) h);
                break;
            }
        }
        return b;
    }

    /** A four-component JPEG with no Adobe marker, which readers take as CMYK (as PIL does). */
    private static byte[] cmykJpeg() throws IOException {
        WritableRaster raster = Raster.createInterleavedRaster(DataBuffer.TYPE_BYTE, 8, 8, 4, null);
        for (int y = 0; y < 8; y++) for (int x = 0; x < 8; x++) raster.setPixel(x, y, new int[] {x * 30, y * 30, 40, 10});
        ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ImageOutputStream ios = ImageIO.createImageOutputStream(out)) {
            writer.setOutput(ios);
            writer.write(null, new IIOImage(raster, null, null), null);
        } finally {
            writer.dispose();
        }
        return out.toByteArray();
    }

    private static byte[] animatedGif() throws IOException {
        ImageWriter writer = ImageIO.getImageWritersByFormatName("gif").next();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ImageOutputStream ios = ImageIO.createImageOutputStream(out)) {
            writer.setOutput(ios);
            writer.prepareWriteSequence(null);
            for (int f = 0; f < 3; f++) {
                BufferedImage frame = gradient(BufferedImage.TYPE_BYTE_INDEXED, 8, 8);
                frame.setRGB(f, f, 0xFFFFFF);
                writer.writeToSequence(new IIOImage(frame, null, null), null);
            }
            writer.endWriteSequence();
        } finally {
            writer.dispose();
        }
        return out.toByteArray();
    }

    // ---------------------------------------------------------------- safetensors

    /** 8-byte little-endian header length, the header, then {@code data}. */
    static byte[] st(long headerLength, String header, byte[] data) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        return ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN)
                .putLong(headerLength).put(h).put(data).array();
    }

    static byte[] st(String header, byte[] data) {
        return st(header.getBytes(StandardCharsets.UTF_8).length, header, data);
    }

    private static byte[] floats(float... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float v : values) b.putFloat(v);
        return b.array();
    }

    private static void safetensors(String recipe, Path target) throws IOException {
        byte[] f3 = floats(1, 2, 3);
        String w = "{\"w\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 12]}}";
        byte[] bytes = switch (recipe) {
            case "empty" -> new byte[0];
            case "seven-bytes" -> new byte[7];
            case "header-longer-than-file" -> st(1000, w, f3);
            case "header-length-negative" -> st(-1, w, f3);
            case "header-length-zero" -> st(0, w, f3);
            case "header-200mb" -> {
                // Sparse: the length says 200 MB and the file is that long, but no byte of it is written.
                try (RandomAccessFile f = new RandomAccessFile(target.toFile(), "rw")) {
                    f.setLength(8 + (200L << 20) + 16);
                    f.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(200L << 20).array());
                }
                yield null;
            }
            case "header-not-json" -> st("w: F32 [3]", f3);
            case "header-array" -> st("[1, 2, 3]", f3);
            case "header-trailing-garbage" -> st(w + "}}", f3);
            case "header-non-utf8" -> {
                byte[] b = st("{\"w\u00e9\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 12]}}", f3);
                // é as Latin-1: one byte 0xE9 where UTF-8 has two; pad the name to keep the length
                int at = indexOf(b, new byte[] {(byte) 0xC3, (byte) 0xA9});
                b[at] = (byte) 0xE9;
                b[at + 1] = 'x';
                yield b;
            }
            case "header-deep-nesting" -> st("{\"__metadata__\": {\"x\": " + "[".repeat(5000) + "]".repeat(5000) + "}, "
                    + w.substring(1), f3);
            case "header-duplicate-tensor" -> st("{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]},"
                    + " \"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [4, 12]}}", f3);
            case "offsets-overlap" -> st("{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
                    + " \"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [4, 12]}}", f3);
            case "offsets-out-of-range" -> st("{\"w\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [400, 412]}}", f3);
            case "offsets-negative" -> st("{\"w\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [-12, 0]}}", f3);
            case "offsets-reversed" -> st("{\"w\": {\"dtype\": \"F32\", \"shape\": [0], \"data_offsets\": [12, 0]}}", f3);
            case "offsets-huge" -> st("{\"w\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [9223372036854775795, 9223372036854775807]}}", f3);
            case "offsets-floats" -> st("{\"w\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0.0, 12.0]}}", f3);
            case "offsets-one-number" -> st("{\"w\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [12]}}", f3);
            case "offsets-missing" -> st("{\"w\": {\"dtype\": \"F32\", \"shape\": [3]}}", f3);
            case "dtype-unknown" -> st("{\"w\": {\"dtype\": \"Q4_K\", \"shape\": [3], \"data_offsets\": [0, 12]}}", f3);
            case "dtype-number" -> st("{\"w\": {\"dtype\": 32, \"shape\": [3], \"data_offsets\": [0, 12]}}", f3);
            case "shape-negative" -> st("{\"w\": {\"dtype\": \"F32\", \"shape\": [-3], \"data_offsets\": [0, 12]}}", f3);
            case "shape-float" -> st("{\"w\": {\"dtype\": \"F32\", \"shape\": [3.0], \"data_offsets\": [0, 12]}}", f3);
            case "shape-disagrees-with-bytes" -> st("{\"w\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 8]}}", f3);
            case "shape-overflows" -> st("{\"w\": {\"dtype\": \"F32\", \"shape\": [4294967296, 4294967296], \"data_offsets\": [0, 12]}}", f3);
            case "shape-missing" -> st("{\"w\": {\"dtype\": \"F32\", \"data_offsets\": [0, 12]}}", f3);
            case "tensor-not-object" -> st("{\"w\": [\"F32\", [3], [0, 12]]}", f3);
            case "metadata-not-strings" -> st("{\"__metadata__\": {\"format\": 1}, " + w.substring(1), f3);
            case "truncated-data" -> st(w, floats(1, 2));
            case "valid" -> st(w, f3);
            case "header-space-padded" -> st(w + "       ", f3);
            case "misaligned-offset" -> st("{\"pad\": {\"dtype\": \"U8\", \"shape\": [2], \"data_offsets\": [0, 2]},"
                    + " \"w\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [2, 14]}}", concat(new byte[2], f3));
            case "scalar-and-empty-tensors" -> st("{\"s\": {\"dtype\": \"F32\", \"shape\": [], \"data_offsets\": [0, 4]},"
                    + " \"e\": {\"dtype\": \"F32\", \"shape\": [0, 5], \"data_offsets\": [4, 4]}}", floats(7));
            case "nan-inf-weights" -> st(w, floats(Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY));
            default -> throw new IllegalArgumentException("no safetensors recipe " + recipe);
        };
        if (bytes != null) Files.write(target, bytes);
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] c = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, c, a.length, b.length);
        return c;
    }

    private static int indexOf(byte[] hay, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= hay.length; i++) {
            for (int j = 0; j < needle.length; j++) if (hay[i + j] != needle[j]) continue outer;
            return i;
        }
        throw new IllegalArgumentException("not found");
    }

    // ---------------------------------------------------------------- model folders

    private static final ObjectMapper JSON = new ObjectMapper();

    /** A tiny CLIP folder (config.json, model.safetensors), changed as {@code recipe} says. */
    private static void model(String recipe, Path dir) throws IOException {
        TinyClip.write(dir, 11);
        Path config = dir.resolve("config.json");
        Path weights = dir.resolve("model.safetensors");
        ObjectNode root = (ObjectNode) JSON.readTree(config.toFile());
        ObjectNode text = (ObjectNode) root.get("text_config");
        switch (recipe) {
            case "valid" -> { }
            case "shape-disagrees-with-config" -> rewrite(weights, "text_model.embeddings.token_embedding.weight",
                    t -> t.narrow(0, 0, t.size(0) - 1).clone());
            case "hidden-size-not-divisible-by-heads" -> text.put("hidden_size", 30);
            case "config-field-wrong-type" -> text.put("hidden_size", "32");
            case "config-field-missing" -> root.remove("text_config");
            case "config-layers-huge" -> text.put("num_hidden_layers", 1_000_000_000);
            case "config-size-negative" -> text.put("intermediate_size", -64);
            case "config-not-json" -> {
                Files.writeString(config, "{\"text_config\": {\"hidden_size\": 32,");
                return;
            }
            case "config-empty" -> {
                Files.writeString(config, "");
                return;
            }
            case "weights-missing-tensor" -> rewrite(weights, "text_model.final_layer_norm.weight", t -> null);
            case "weights-truncated" -> {
                byte[] b = Files.readAllBytes(weights);
                Files.write(weights, Arrays.copyOf(b, b.length - 100));
            }
            case "weights-integer-dtype" -> rewrite(weights, "text_model.final_layer_norm.weight",
                    t -> t.to(org.bytedeco.pytorch.global.torch.ScalarType.Long));
            case "weights-nan-inf" -> rewrite(weights, "text_model.final_layer_norm.weight", t -> {
                Tensor c = t.clone();
                c.fill_(new org.bytedeco.pytorch.Scalar(Float.NaN));
                return c;
            });
            case "weights-pickle-only" -> {
                Files.move(weights, dir.resolve("pytorch_model.bin"));
            }
            default -> throw new IllegalArgumentException("no model recipe " + recipe);
        }
        JSON.writeValue(config.toFile(), root);
    }

    /** Rewrites {@code file} with tensor {@code key} replaced by {@code change(tensor)}, or left out when that is null. */
    private static void rewrite(Path file, String key, java.util.function.Function<Tensor, Tensor> change) {
        try (Scope s = Scope.open(); SafeTensorsFile f = SafeTensorsFile.open(file)) {
            Map<String, Tensor> out = new LinkedHashMap<>();
            for (String k : f.infos().keySet()) {
                Tensor t = f.get(k).clone();
                if (k.equals(key)) t = change.apply(t);
                if (t != null) out.put(k, t);
            }
            Path tmp = file.resolveSibling("rewritten.tmp");
            SafeTensorsWriter.write(tmp, out);
            Files.move(tmp, file, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    // ---------------------------------------------------------------- torch zips

    /** Pickle bytes opcode by opcode, as pickletools lists them. */
    static final class Pickle {
        final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Pickle op(int... bytes) {
            for (int b : bytes) out.write(b);
            return this;
        }

        Pickle text(String s) {
            out.writeBytes(s.getBytes(StandardCharsets.US_ASCII));
            return this;
        }

        Pickle unicode(String s) {
            return op('X', s.length(), 0, 0, 0).text(s);
        }

        Pickle global(String module, String name) {
            return op('c').text(module + "\n" + name + "\n");
        }

        Pickle bigInt(long v) {
            return op('J').op((int) v & 0xFF, (int) (v >> 8) & 0xFF, (int) (v >> 16) & 0xFF, (int) (v >> 24) & 0xFF);
        }

        Pickle long8(long v) {
            byte[] b = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(v).array();
            op(0x8a, 8);
            out.writeBytes(b);
            return this;
        }

        byte[] get() {
            return out.toByteArray();
        }
    }

    /**
     * {@code OrderedDict {'w': tensor}} with {@code w} a view (offset, shape (3, 2), stride (1, 3))
     * of storage 0 of {@code numel} elements of {@code storageType}, as torch.save writes it.
     */
    static byte[] stateDictPickle(String storageType, Pickle numel, Pickle offset, String key) {
        Pickle p = new Pickle().op(0x80, 2).global("collections", "OrderedDict").op(')', 'R', '(');
        if (key == null) p.op('K', 7); else p.unicode(key);
        p.global("torch._utils", "_rebuild_tensor_v2").op('(', '(').unicode("storage").global("torch", storageType)
                .unicode("0").unicode("cpu");
        p.out.writeBytes(numel.get());
        p.op('t', 'Q');
        p.out.writeBytes(offset.get());
        p.op('K', 3, 'K', 2, 0x86, 'K', 1, 'K', 3, 0x86, 0x89).global("collections", "OrderedDict").op(')', 'R', 't', 'R', 'u', '.');
        return p.get();
    }

    private static Pickle small(int v) {
        return new Pickle().op('K', v);
    }

    static byte[] zip(Map<String, byte[]> entries) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (ZipOutputStream zip = new ZipOutputStream(out)) {
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                zip.putNextEntry(new ZipEntry(e.getKey()));
                zip.write(e.getValue());
            }
        }
        return out.toByteArray();
    }

    /** Where a pickle that did run {@code os.system} would leave its mark; the test checks it stays absent. */
    static Path canary(Path torchFile) {
        return torchFile.resolveSibling(torchFile.getFileName() + ".pwned");
    }

    private static byte[] torch(String recipe, Path target) throws IOException {
        String stem = "archive";
        byte[] storage = recipe.equals("view-past-storage") ? floats(0, 1, 2, 3, 4) : floats(0, 1, 2, 3, 4, 5);
        byte[] valid = stateDictPickle("FloatStorage", small(6), small(0), "w");
        String touch = "touch " + canary(target);
        byte[] pkl = switch (recipe) {
            case "valid", "missing-storage", "storage-size-mismatch", "no-data-pkl", "two-data-pkl" -> valid;
            case "global-os-system" -> new Pickle().op(0x80, 2).global("os", "system").unicode(touch).op(0x85, 'R', '.').get();
            case "stack-global-eval" -> new Pickle().op(0x80, 4).op(0x8c, 8).text("builtins").op(0x8c, 4).text("eval").op(0x93)
                    .unicode("__import__('os').system('" + touch + "')").op(0x85, 'R', '.').get();
            case "reduce-subprocess" -> new Pickle().op(0x80, 2).global("subprocess", "check_output").op(']').unicode("sh")
                    .op('a').op(0x85, 'R', '.').get();
            case "global-torch-load" -> new Pickle().op(0x80, 2).global("torch", "load").unicode("/etc/passwd").op(0x85, 'R', '.').get();
            case "inst-popen" -> new Pickle().op(0x80, 2, '(').unicode(touch).op('i').text("subprocess\nPopen\n").op('.').get();
            case "obj-opcode" -> new Pickle().op(0x80, 2, '(').global("collections", "OrderedDict").op('o', '.').get();
            case "build-on-string" -> new Pickle().op(0x80, 2).unicode("x").op('}', 'b', '.').get();
            case "build-on-dict" -> new Pickle().op(0x80, 2, '}', '}').unicode("__class__").unicode("os").op('s', 'b', '.').get();
            case "double-storage" -> stateDictPickle("DoubleStorage", small(6), small(0), "w");
            case "truncated-pickle" -> Arrays.copyOf(valid, valid.length / 2);
            case "view-past-storage" -> stateDictPickle("FloatStorage", small(5), small(0), "w");
            case "negative-offset" -> stateDictPickle("FloatStorage", small(6), new Pickle().bigInt(-2), "w");
            case "numel-overflow" -> stateDictPickle("FloatStorage", new Pickle().long8(1L << 62), small(0), "w");
            case "state-dict-key-not-string" -> stateDictPickle("FloatStorage", small(6), small(0), null);
            case "not-a-zip", "empty", "legacy-raw-pickle" -> null;
            default -> throw new IllegalArgumentException("no torch recipe " + recipe);
        };
        return switch (recipe) {
            case "not-a-zip" -> "PK but not really a zip file".getBytes(StandardCharsets.US_ASCII);
            case "empty" -> new byte[0];
            case "legacy-raw-pickle" -> valid; // torch < 1.6 wrote a bare pickle stream
            case "no-data-pkl" -> zip(Map.of(stem + "/data/0", storage));
            case "two-data-pkl" -> zip(new LinkedHashMap<>(Map.of(stem + "/data.pkl", pkl, "other/data.pkl", pkl, stem + "/data/0", storage)));
            case "missing-storage" -> zip(Map.of(stem + "/data.pkl", pkl));
            case "storage-size-mismatch" -> zip(new LinkedHashMap<>(Map.of(stem + "/data.pkl", pkl, stem + "/data/0", floats(0, 1, 2))));
            case "numel-overflow" -> zip(new LinkedHashMap<>(Map.of(stem + "/data.pkl", pkl, stem + "/data/0", new byte[0])));
            default -> zip(new LinkedHashMap<>(Map.of(stem + "/data.pkl", pkl, stem + "/data/0", storage)));
        };
    }
}
