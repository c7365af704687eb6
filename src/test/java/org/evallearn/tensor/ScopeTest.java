package org.evallearn.tensor;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.bytedeco.pytorch.Tensor;
import org.bytedeco.pytorch.global.torch;
import org.evallearn.clip.ClipTextConfig;
import org.evallearn.clip.ClipTextModel;
import org.evallearn.testing.NativeObjects;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The one idiom for native memory, and its misuse failing loudly instead of leaking or crashing. */
class ScopeTest {
    @TempDir Path dir;

    @BeforeAll
    static void load() {
        Natives.load();
    }

    @Test
    void temporariesAreFreedAndAHandedUpResultLivesUntilTheEnclosingScopeCloses() {
        Tensor temporary, result;
        try (Scope outer = Scope.open()) {
            try (Scope inner = Scope.open()) {
                temporary = torch.ones(3);
                result = inner.handUp(temporary.add(temporary));
            }
            assertTrue(temporary.isNull(), "a temporary outlived its scope");
            assertFalse(result.isNull());
            assertEquals(6f, result.sum().item_float());
        }
        assertTrue(result.isNull(), "the handed-up result outlived the enclosing scope");
    }

    @Test
    void handingUpWithNoEnclosingScopeFailsInsteadOfLeaking() {
        try (Scope only = Scope.open()) {
            Tensor t = torch.ones(2);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> only.handUp(t));
            assertTrue(e.getMessage().contains("no enclosing scope"), e.getMessage());
        }
    }

    @Test
    void anEscapedObjectOutlivesEveryScopeUntilItsOwnerClosesIt() {
        Tensor kept;
        try (Scope outer = Scope.open()) {
            try (Scope inner = Scope.open()) {
                kept = inner.escape(torch.ones(2));
            }
        }
        assertFalse(kept.isNull());
        assertEquals(2f, kept.sum().item_float());
        kept.close();
        assertTrue(kept.isNull());
    }

    @Test
    void aScopeClosedBeforeOneOpenedInsideItFailsAndStillFreesItsTemporaries() {
        Scope outer = Scope.open();
        Tensor t = torch.ones(2);
        Scope inner = Scope.open();
        Tensor u = torch.ones(2);
        IllegalStateException e = assertThrows(IllegalStateException.class, outer::close);
        assertTrue(e.getMessage().contains("out of order"), e.getMessage());
        assertTrue(t.isNull(), "the scope closed out of order kept its temporaries");
        inner.close();
        assertTrue(u.isNull());
        // Both are off the stack: a new scope has no enclosing one.
        try (Scope fresh = Scope.open()) {
            assertThrows(IllegalStateException.class, () -> fresh.handUp(torch.ones(1)));
        }
    }

    @Test
    void aScopeBelongsToTheThreadThatOpenedIt() throws InterruptedException {
        Scope scope = Scope.open();
        Tensor t = torch.ones(2);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread other = new Thread(() -> {
            try {
                scope.close();
            } catch (Throwable e) {
                failure.set(e);
            }
        });
        other.start();
        other.join();
        assertInstanceOf(IllegalStateException.class, failure.get());
        assertTrue(failure.get().getMessage().contains("one thread"), failure.get().getMessage());
        assertFalse(t.isNull(), "another thread's close freed the scope's tensors while it was still open here");
        scope.close();
        assertTrue(t.isNull());
    }

    @Test
    void aClosedScopeRefusesToLetAnythingOut() {
        Scope scope = Scope.open();
        scope.close();
        scope.close(); // closing twice is harmless
        try (Scope outer = Scope.open(); Tensor t = torch.ones(1)) {
            assertThrows(IllegalStateException.class, () -> scope.escape(t));
            assertThrows(IllegalStateException.class, () -> scope.handUp(t));
        }
    }

    @Test
    void aClosedModelRefusesToRunAndToHandOutItsWeights() {
        ClipTextConfig config = new ClipTextConfig(50, 16, 32, 8, 1, 2, 8, "quick_gelu", 1e-5, 49);
        ClipTextModel model = ClipTextModel.random(config, true, new RandomBinder(3, Placement.CPU_F32));
        try (Scope s = Scope.open()) {
            Tensor ids = Tensor.create(new long[] {1, 2, 49}, 1, 3);
            assertEquals(8, model.forward(ids).textEmbeds().size(1));
            model.close();
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> model.forward(ids));
            assertTrue(e.getMessage().contains("after close"), e.getMessage());
            assertThrows(IllegalStateException.class, model::namedParameters);
        }
    }

    @Test
    void randomBinderFreesItsGeneratorAndRefusesToBindAfterFinishing() {
        RandomBinder binder = new RandomBinder(1, Placement.CPU_F32);
        binder.bind("w", Init.FAN_IN, new long[] {2, 2});
        try (Weights w = binder.finish()) {
            assertEquals(1, w.count());
            assertThrows(IllegalStateException.class, () -> binder.bind("v", Init.ZEROS, new long[] {1}));
        }
        NativeObjects.assertNoGrowth("RandomBinder", 20, () -> {
            RandomBinder b = new RandomBinder(2, Placement.CPU_F32);
            b.bind("w", Init.FAN_IN, new long[] {4, 4});
            b.finish().close();
        });
    }

    @Test
    void writingSafetensorsLeavesNoNativeObjectBehind() {
        try (Scope s = Scope.open()) {
            Map<String, Tensor> tensors = Map.of("a", torch.ones(4, 4), "b", torch.zeros(3));
            Path file = dir.resolve("w.safetensors");
            NativeObjects.assertNoGrowth("SafeTensorsWriter.write", 20, () -> SafeTensorsWriter.write(file, tensors));
            NativeObjects.assertNoGrowth("SafeTensorsFile open/get/close", 20, () -> {
                try (Scope inner = Scope.open(); SafeTensorsFile f = SafeTensorsFile.open(file)) {
                    assertEquals(16f, f.get("a").sum().item_float());
                }
            });
        }
    }

    @Test
    void aMappedFileOutlivesTheScopeItWasOpenedIn() {
        Path file = dir.resolve("m.safetensors");
        try (Scope s = Scope.open()) {
            SafeTensorsWriter.write(file, Map.of("a", torch.ones(3)));
        }
        SafeTensorsFile f;
        try (Scope s = Scope.open()) {
            f = SafeTensorsFile.open(file);
        }
        try (Scope s = Scope.open()) {
            assertEquals(3f, f.get("a").sum().item_float());
        } finally {
            f.close();
        }
    }

    /** Nothing outside Scope bypasses it: no raw PointerScope, no hand-counted references. */
    @Test
    void mainCodeOwnsNativeMemoryOnlyThroughScopeAndOwnerObjects() throws IOException {
        Path main = Path.of("src/main/java");
        try (Stream<Path> files = Files.walk(main)) {
            List<String> offenders = files.filter(p -> p.toString().endsWith(".java"))
                    .filter(p -> !p.endsWith(Path.of("org/evallearn/tensor/Scope.java")))
                    .filter(p -> {
                        try {
                            String text = Files.readString(p);
                            return text.contains("PointerScope") || text.contains("retainReference") || text.contains("releaseReference");
                        } catch (IOException e) {
                            throw new java.io.UncheckedIOException(e);
                        }
                    })
                    .map(p -> main.relativize(p).toString()).toList();
            assertEquals(List.of(), offenders, "use tensor.Scope (handUp/escape) and owner objects' close() instead");
        }
    }
}
