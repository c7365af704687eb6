package org.evallearn.detect;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.bytedeco.javacpp.BytePointer;
import org.bytedeco.javacpp.FloatPointer;
import org.bytedeco.javacpp.LongPointer;
import org.bytedeco.javacpp.PointerPointer;
import org.bytedeco.onnxruntime.ConstTensorTypeAndShapeInfo;
import org.bytedeco.onnxruntime.Env;
import org.bytedeco.onnxruntime.MemoryInfo;
import org.bytedeco.onnxruntime.OrtCUDAProviderOptions;
import org.bytedeco.onnxruntime.RunOptions;
import org.bytedeco.onnxruntime.Session;
import org.bytedeco.onnxruntime.SessionOptions;
import org.bytedeco.onnxruntime.TypeInfo;
import org.bytedeco.onnxruntime.Value;
import org.bytedeco.onnxruntime.ValueVector;
import org.bytedeco.onnxruntime.global.onnxruntime;
import org.evallearn.tensor.ModelLoadException;
import org.evallearn.tensor.Scope;

/**
 * An ONNX Runtime session on a model with one float input and one float output, owned and
 * closed deterministically: the long-lived native objects escape their {@link Scope} to this
 * owner and are released by {@link #close}; per-run temporaries die with the {@link Scope} of {@link #run}.
 */
public final class OrtModel implements AutoCloseable {
    private final Path file;
    private final Env env;
    private final SessionOptions options;
    private final Session session;
    private final MemoryInfo cpuMemory;
    private final RunOptions runOptions;
    private final String inputName;
    private final String outputName;
    private final long[] inputShape;
    private final long[] outputShape;

    private OrtModel(Path file, Env env, SessionOptions options, Session session) {
        this.file = file;
        this.env = env;
        this.options = options;
        this.session = session;
        try (Scope temporaries = Scope.open()) {
            if (session.GetInputCount() != 1 || session.GetOutputCount() != 1) {
                throw new ModelLoadException(file + ": expected one input and one output, the model has "
                        + session.GetInputCount() + " and " + session.GetOutputCount());
            }
            inputName = session.GetInputNames().get(0).getString();
            outputName = session.GetOutputNames().get(0).getString();
            inputShape = floatTensorShape(session.GetInputTypeInfo(0), "input '" + inputName + "'");
            outputShape = floatTensorShape(session.GetOutputTypeInfo(0), "output '" + outputName + "'");
            this.cpuMemory = temporaries.escape(MemoryInfo.CreateCpu(onnxruntime.OrtArenaAllocator, onnxruntime.OrtMemTypeDefault));
            this.runOptions = temporaries.escape(new RunOptions());
        }
    }

    /** Opens {@code file} on {@code device}; {@code threads} = 0 lets ONNX Runtime use every core. */
    public static OrtModel open(Path file, OrtDevice device, int threads) {
        if (!Files.isRegularFile(file)) throw new ModelLoadException(file + ": ONNX model file not found");
        if (threads < 0) throw new IllegalArgumentException("threads must be ≥ 0, got " + threads);
        OrtNatives.load();
        Env env;
        SessionOptions options;
        try (Scope s = Scope.open()) {
            env = s.escape(new Env(onnxruntime.ORT_LOGGING_LEVEL_WARNING, "evallearn"));
            options = s.escape(new SessionOptions());
        }
        Session session = null;
        try (Scope s = Scope.open()) {
            options.SetIntraOpNumThreads(threads);
            options.SetGraphOptimizationLevel(onnxruntime.ORT_ENABLE_ALL);
            if (device.cuda()) appendCuda(options, device, file);
            try {
                session = s.escape(new Session(env, new BytePointer(file.toString()), options));
            } catch (RuntimeException e) {
                throw new ModelLoadException(file + ": ONNX Runtime cannot load this file as a model (" + e.getMessage() + ")", e);
            }
            return new OrtModel(file, env, options, session);
        } catch (RuntimeException e) {
            if (session != null) session.close();
            options.close();
            env.close();
            throw e;
        }
    }

    private static void appendCuda(SessionOptions options, OrtDevice device, Path file) {
        String missing = OrtNatives.cudaProblem();
        if (missing != null) throw new ModelLoadException(file + ": cannot use the CUDA execution provider on " + device + ": " + missing);
        try (OrtCUDAProviderOptions cuda = new OrtCUDAProviderOptions()) {
            cuda.device_id(device.deviceId());
            options.AppendExecutionProvider_CUDA(cuda);
        } catch (RuntimeException e) {
            throw new ModelLoadException(file + ": cannot use the CUDA execution provider on " + device
                    + " (" + e.getMessage() + "); it needs the onnxruntime linux-x86_64-gpu natives and a CUDA GPU", e);
        }
    }

    private long[] floatTensorShape(TypeInfo info, String what) {
        ConstTensorTypeAndShapeInfo tensor = info.GetTensorTypeAndShapeInfo();
        if (tensor.GetElementType() != onnxruntime.ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT) {
            throw new ModelLoadException(file + ": " + what + " must be a float32 tensor, ONNX element type is "
                    + tensor.GetElementType());
        }
        return tensor.GetShape().get();
    }

    public Path file() {
        return file;
    }

    public String inputName() {
        return inputName;
    }

    public String outputName() {
        return outputName;
    }

    /** The declared input shape; dynamic dimensions are -1. */
    public long[] inputShape() {
        return inputShape.clone();
    }

    /** The declared output shape; dynamic dimensions are -1. */
    public long[] outputShape() {
        return outputShape.clone();
    }

    /** The output of one run: the data, row-major, and its shape. */
    public record Output(float[] data, long[] shape) {}

    /** Runs the model on {@code input} of shape {@code shape}; the output is copied to the heap. */
    public Output run(float[] input, long[] shape) {
        long count = Arrays.stream(shape).reduce(1, Math::multiplyExact);
        if (count != input.length) {
            throw new IllegalArgumentException(input.length + " floats for shape " + Arrays.toString(shape));
        }
        try (Scope temporaries = Scope.open()) {
            Value tensor = Value.CreateTensorFloat(cpuMemory.asOrtMemoryInfo(), new FloatPointer(input), input.length,
                    new LongPointer(shape), shape.length);
            ValueVector outputs;
            try {
                outputs = session.Run(runOptions, new PointerPointer<>(inputName), tensor, 1,
                        new PointerPointer<>(outputName), 1);
            } catch (RuntimeException e) {
                throw new IllegalStateException(file + ": ONNX Runtime failed on input " + Arrays.toString(shape)
                        + " (" + e.getMessage() + ")", e);
            }
            Value out = outputs.get(0);
            ConstTensorTypeAndShapeInfo info = out.GetTensorTypeAndShapeInfo().GetConst();
            long n = info.GetElementCount();
            if (info.GetElementType() != onnxruntime.ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT || n > Integer.MAX_VALUE) {
                throw new IllegalStateException(file + ": output '" + outputName + "' is not a float tensor of at most 2^31 elements");
            }
            float[] result = new float[(int) n];
            out.GetTensorMutableDataFloat().capacity(n).get(result);
            return new Output(result, info.GetShape().get());
        }
    }

    @Override
    public void close() {
        runOptions.close();
        cpuMemory.close();
        session.close();
        options.close();
        env.close();
    }
}
