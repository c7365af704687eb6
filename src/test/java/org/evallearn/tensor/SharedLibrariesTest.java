package org.evallearn.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SharedLibrariesTest {
    @TempDir Path tmp;

    @Test
    void ordersDependenciesFirstBundledBeforeSystemAndLeavesTheCRuntimeAlone() throws IOException {
        Path jar = tmp.resolve("jar"), sys = tmp.resolve("sys");
        TestElf.write(jar.resolve("liba.so"), "liba.so", List.of("libb.so", "libsys.so.1", "libc.so.6"), null);
        TestElf.write(jar.resolve("libb.so"), "libb.so", List.of("libc.so.6"), null);
        TestElf.write(sys.resolve("libsys.so.1"), "libsys.so.1", List.of("libb.so"), null);
        TestElf.write(sys.resolve("libb.so"), "libb.so", List.of(), null); // a system copy the bundled one hides
        SharedLibraries.Plan plan = new SharedLibraries(List.of(jar), List.of(sys)).plan(List.of(jar.resolve("liba.so")), Map.of());
        assertTrue(plan.complete(), plan.missing().toString());
        assertEquals(List.of("libb.so", "libsys.so.1", "liba.so"), plan.order().stream().map(SharedLibraries.Found::soname).toList());
        assertEquals(List.of(jar.resolve("libb.so").toRealPath(), sys.resolve("libsys.so.1").toRealPath(), jar.resolve("liba.so")),
                plan.order().stream().map(SharedLibraries.Found::file).toList());
        assertEquals(List.of(true, false, true), plan.order().stream().map(SharedLibraries.Found::bundled).toList());
    }

    @Test
    void findsWhatTheRunpathNamesAndReportsWhatIsNowhereWithItsNeeder() throws IOException {
        Path jar = tmp.resolve("jar"), cuda = tmp.resolve("usr/local/cuda/lib64");
        TestElf.write(jar.resolve("libtorch_cuda.so"), "libtorch_cuda.so", List.of("libcublas.so.13", "libnccl.so.2"), cuda.toString());
        TestElf.write(cuda.resolve("libcublas.so.13"), "libcublas.so.13", List.of("libcublasLt.so.13"), "$ORIGIN");
        SharedLibraries.Plan plan = new SharedLibraries(List.of(jar), List.of())
                .plan(List.of(jar.resolve("libtorch_cuda.so")), Map.of("libcudnn_cnn.so.9", "libcudnn.so.9"));
        assertEquals(List.of(new SharedLibraries.Missing("libcublasLt.so.13", "libcublas.so.13"),
                new SharedLibraries.Missing("libnccl.so.2", "libtorch_cuda.so"),
                new SharedLibraries.Missing("libcudnn_cnn.so.9", "libcudnn.so.9")), plan.missing());
        assertEquals(List.of("libcublas.so.13", "libtorch_cuda.so"), plan.order().stream().map(SharedLibraries.Found::soname).toList());
    }

    @Test
    void aLinkJavacppLeftInABundledFolderToASystemLibraryIsNotBundled() throws IOException {
        Path jar = tmp.resolve("jar"), sys = tmp.resolve("sys");
        TestElf.write(jar.resolve("libtorch_cpu.so"), "libtorch_cpu.so", List.of("libcudart.so.13"), null);
        TestElf.write(sys.resolve("libcudart.so.13"), "libcudart.so.13", List.of(), null);
        Files.createSymbolicLink(jar.resolve("libcudart.so.13"), sys.resolve("libcudart.so.13"));
        SharedLibraries.Found cudart = new SharedLibraries(List.of(jar), List.of(sys))
                .plan(List.of(jar.resolve("libtorch_cpu.so")), Map.of()).order().get(0);
        assertEquals(sys.resolve("libcudart.so.13").toRealPath(), cudart.file());
        assertFalse(cudart.bundled());
        // where the system folder is not searched, the link does not stand in for it
        SharedLibraries.Plan noSystem = new SharedLibraries(List.of(jar), List.of()).plan(List.of(jar.resolve("libtorch_cpu.so")), Map.of());
        assertEquals(List.of("libcudart.so.13"), noSystem.missingSonames());
    }

    @Test
    void systemFoldersFollowLdLibraryPathThenLdSoConfAndItsIncludes() throws IOException {
        Path a = Files.createDirectories(tmp.resolve("a")), b = Files.createDirectories(tmp.resolve("b")),
                c = Files.createDirectories(tmp.resolve("c"));
        Path conf = Files.writeString(tmp.resolve("ld.so.conf"), "# comment\ninclude " + tmp.resolve("ld.so.conf.d") + "/*.conf\n" + a + "\n");
        Files.createDirectories(tmp.resolve("ld.so.conf.d"));
        Files.writeString(tmp.resolve("ld.so.conf.d/2-x.conf"), tmp.resolve("missing") + "\n");
        Files.writeString(tmp.resolve("ld.so.conf.d/1-cuda.conf"), b + "\n");
        List<Path> dirs = SharedLibraries.systemFolders(c + ":relative:" + tmp.resolve("gone"), conf);
        assertEquals(List.of(c, b, a), dirs.subList(0, 3), "LD_LIBRARY_PATH, then the includes in glob order, then the file's own lines");
        assertFalse(dirs.contains(tmp.resolve("missing")));
    }
}
