package org.evallearn.detect;

import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;

/**
 * Tiny ONNX models for tests and {@code bench memory-detectors}, where NudeNet's weights cannot be
 * fetched. Writes ONNX ModelProto bytes by hand (no protobuf library on the classpath): a graph with
 * NudeNet's signature, {@code images} float32 [N,3,S,S] → {@code output0} float32 [N,rows,A], computing
 * {@code output0 = base + mask · ReduceMean(images)}. Field numbers are those of onnx.proto.
 */
public final class TinyOnnx {
    private static final int FLOAT = 1, INT64 = 7; // TensorProto.DataType
    private static final int ATTR_INT = 2, ATTR_INTS = 7; // AttributeProto.AttributeType

    private TinyOnnx() {}

    /** @param base, mask [rows × anchors] row-major (NudeNet: 22 rows), broadcast over the batch */
    public static byte[] nudeNetLike(int size, int rows, int anchors, float[] base, float[] mask) {
        return nudeNetLike(size, size, rows, anchors, base, mask);
    }

    /** The same graph with symbolic height and width ({@code images} [N, 3, H, W]), as an export with dynamic axes declares them. */
    public static byte[] nudeNetLikeDynamic(int rows, int anchors, float[] base, float[] mask) {
        return nudeNetLike("H", "W", rows, anchors, base, mask);
    }

    /** @param height, width an Integer for a fixed dimension, a String for a symbolic one */
    private static byte[] nudeNetLike(Object height, Object width, int rows, int anchors, float[] base, float[] mask) {
        Proto graph = new Proto()
                .message(1, node("ReduceMean", new String[] {"images"}, "mean",
                        new Proto().string(1, "axes").ints(8, 1, 2, 3).varint(20, ATTR_INTS),
                        new Proto().string(1, "keepdims").varint(3, 1).varint(20, ATTR_INT)))
                .message(1, node("Reshape", new String[] {"mean", "mean_shape"}, "m"))
                .message(1, node("Mul", new String[] {"m", "mask"}, "scaled"))
                .message(1, node("Add", new String[] {"base", "scaled"}, "output0"))
                .string(2, "nudenet_like")
                .message(5, longTensor("mean_shape", -1, 1, 1))
                .message(5, floatTensor("base", base, 1, rows, anchors))
                .message(5, floatTensor("mask", mask, 1, rows, anchors))
                .message(11, valueInfo("images", "N", 3, height, width))
                .message(12, valueInfo("output0", "N", rows, anchors));
        return new Proto()
                .varint(1, 8) // ir_version
                .string(2, "evallearn-test")
                .message(7, graph)
                .message(8, new Proto().string(1, "").varint(2, 13)) // opset 13: ReduceMean takes axes as attribute
                .bytes();
    }

    /**
     * A stand-in of NudeNet 2's image classifier ({@code classifier_model.onnx}): {@code input_1}
     * float32 [N, S, S, 3] (NHWC, RGB in [0, 1]) → {@code dense_1} float32 [N, 2], the softmax of
     * {@code bias + weight · ReduceMean(images)}; column 0 is "unsafe", 1 "safe", as NudeNet's
     * {@code categories=["unsafe", "safe"]} names them.
     *
     * @param weight, bias [2]: how the two logits move with the mean pixel value
     */
    public static byte[] classifierLike(int size, float[] weight, float[] bias) {
        if (weight.length != 2 || bias.length != 2) throw new IllegalArgumentException("a two-class stand-in takes 2 weights and 2 biases");
        Proto graph = new Proto()
                .message(1, node("ReduceMean", new String[] {"input_1"}, "mean",
                        new Proto().string(1, "axes").ints(8, 1, 2, 3).varint(20, ATTR_INTS),
                        new Proto().string(1, "keepdims").varint(3, 1).varint(20, ATTR_INT)))
                .message(1, node("Reshape", new String[] {"mean", "mean_shape"}, "m"))
                .message(1, node("Mul", new String[] {"m", "weight"}, "scaled"))
                .message(1, node("Add", new String[] {"bias", "scaled"}, "logits"))
                .message(1, node("Softmax", new String[] {"logits"}, "dense_1", new Proto().string(1, "axis").varint(3, 1).varint(20, ATTR_INT)))
                .string(2, "nudenet_classifier_like")
                .message(5, longTensor("mean_shape", -1, 1))
                .message(5, floatTensor("weight", weight, 1, 2))
                .message(5, floatTensor("bias", bias, 1, 2))
                .message(11, valueInfo("input_1", "N", size, size, 3))
                .message(12, valueInfo("dense_1", "N", 2));
        return new Proto().varint(1, 8).string(2, "evallearn-test").message(7, graph)
                .message(8, new Proto().string(1, "").varint(2, 13)).bytes();
    }

    /**
     * A stand-in of NudeNet's network cost for benchmarks (its weights cannot be fetched here): a
     * YOLO-shaped stack of 3×3 SiLU convolutions, stride 2 down to S/32, a 3×3 + 1×1 head at each
     * of strides 8, 16 and 32, flattened and concatenated to NudeNet's {@code output0}
     * [N, 22, (S/8)² + (S/16)² + (S/32)²] (2100 at 320). About 1.0 G multiply-adds at 320 (2.0 GFLOPs), near
     * YOLOv8n's 2.2 GFLOPs there; random weights, so the outputs mean nothing.
     */
    public static byte[] yoloShaped(int size, long seed) {
        java.util.Random random = new java.util.Random(seed);
        Proto graph = new Proto();
        int[] counter = {0};
        // stem and backbone: (channels, extra 3×3 convs at that resolution)
        int[][] stages = {{16, 0}, {32, 2}, {64, 4}, {128, 3}, {256, 3}};
        String x = "images";
        int channels = 3;
        java.util.List<String> heads = new java.util.ArrayList<>();
        for (int stage = 0; stage < stages.length; stage++) {
            int out = stages[stage][0];
            x = conv(graph, random, counter, x, channels, out, 3, 2, true);
            channels = out;
            for (int k = 0; k < stages[stage][1]; k++) x = conv(graph, random, counter, x, channels, channels, 3, 1, true);
            if (stage >= 2) { // strides 8, 16, 32
                String h = conv(graph, random, counter, x, channels, channels, 3, 1, true);
                h = conv(graph, random, counter, h, channels, NudeNetDecoder.ROWS, 1, 1, false);
                String flat = "flat" + stage;
                graph.message(1, node("Reshape", new String[] {h, "flat_shape"}, flat));
                heads.add(flat);
            }
        }
        graph.message(1, node("Concat", heads.toArray(String[]::new), "output0", new Proto().string(1, "axis").varint(3, 2).varint(20, ATTR_INT)));
        int anchors = (size / 8) * (size / 8) + (size / 16) * (size / 16) + (size / 32) * (size / 32);
        graph.string(2, "yolo_shaped")
                .message(5, longTensor("flat_shape", 0, NudeNetDecoder.ROWS, -1))
                .message(11, valueInfo("images", "N", 3, size, size))
                .message(12, valueInfo("output0", "N", NudeNetDecoder.ROWS, anchors));
        return new Proto().varint(1, 8).string(2, "evallearn-bench").message(7, graph)
                .message(8, new Proto().string(1, "").varint(2, 13)).bytes();
    }

    private static String conv(Proto graph, java.util.Random random, int[] counter, String in, int cin, int cout, int k, int stride, boolean silu) {
        String id = "c" + counter[0]++;
        float[] w = new float[cout * cin * k * k];
        float std = (float) Math.sqrt(2.0 / (cin * k * k));
        for (int i = 0; i < w.length; i++) w[i] = (float) random.nextGaussian() * std;
        graph.message(5, floatTensor(id + "_w", w, cout, cin, k, k));
        graph.message(5, floatTensor(id + "_b", new float[cout], cout));
        int pad = k / 2;
        graph.message(1, node("Conv", new String[] {in, id + "_w", id + "_b"}, id,
                new Proto().string(1, "kernel_shape").ints(8, k, k).varint(20, ATTR_INTS),
                new Proto().string(1, "strides").ints(8, stride, stride).varint(20, ATTR_INTS),
                new Proto().string(1, "pads").ints(8, pad, pad, pad, pad).varint(20, ATTR_INTS)));
        if (!silu) return id;
        graph.message(1, node("Sigmoid", new String[] {id}, id + "_sig"));
        graph.message(1, node("Mul", new String[] {id, id + "_sig"}, id + "_silu"));
        return id + "_silu";
    }

    private static Proto node(String op, String[] inputs, String output, Proto... attributes) {
        Proto p = new Proto();
        for (String in : inputs) p.string(1, in);
        p.string(2, output).string(3, output + "_node").string(4, op);
        for (Proto a : attributes) p.message(5, a);
        return p;
    }

    private static Proto floatTensor(String name, float[] data, long... dims) {
        ByteBuffer b = ByteBuffer.allocate(data.length * 4).order(ByteOrder.LITTLE_ENDIAN);
        for (float f : data) b.putFloat(f);
        Proto p = new Proto();
        for (long d : dims) p.varint(1, d);
        return p.varint(2, FLOAT).string(8, name).raw(9, b.array());
    }

    private static Proto longTensor(String name, long... values) {
        ByteBuffer b = ByteBuffer.allocate(values.length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : values) b.putLong(v);
        return new Proto().varint(1, values.length).varint(2, INT64).string(8, name).raw(9, b.array());
    }

    /** A float tensor value info whose first dimension is symbolic; a String among {@code dims} is symbolic too. */
    private static Proto valueInfo(String name, String batchParam, Object... dims) {
        Proto shape = new Proto().message(1, new Proto().string(2, batchParam));
        for (Object d : dims) {
            shape.message(1, d instanceof String param ? new Proto().string(2, param) : new Proto().varint(1, ((Number) d).longValue()));
        }
        Proto tensorType = new Proto().varint(1, FLOAT).message(2, shape);
        return new Proto().string(1, name).message(2, new Proto().message(1, tensorType));
    }

    /** A protobuf message being written: varint and length-delimited fields only. */
    static final class Proto {
        private final ByteArrayOutputStream out = new ByteArrayOutputStream();

        Proto varint(int field, long value) {
            writeVarint((long) field << 3);
            writeVarint(value);
            return this;
        }

        Proto ints(int field, long... values) {
            for (long v : values) varint(field, v);
            return this;
        }

        Proto string(int field, String s) {
            return raw(field, s.getBytes(StandardCharsets.UTF_8));
        }

        Proto message(int field, Proto m) {
            return raw(field, m.bytes());
        }

        Proto raw(int field, byte[] data) {
            writeVarint((long) field << 3 | 2);
            writeVarint(data.length);
            out.writeBytes(data);
            return this;
        }

        byte[] bytes() {
            return out.toByteArray();
        }

        /** Negative int64 values take ten bytes, as protobuf encodes them. */
        private void writeVarint(long v) {
            while ((v & ~0x7FL) != 0) {
                out.write((int) (v & 0x7F) | 0x80);
                v >>>= 7;
            }
            out.write((int) v);
        }
    }
}
