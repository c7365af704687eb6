package org.evallearn.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.bytedeco.javacpp.Loader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ElfDynamicTest {
    @TempDir Path tmp;

    @Test
    void readsSonameNeededAndRunpathWithOriginExpanded() throws IOException {
        Path lib = TestElf.write(tmp.resolve("a/libx.so"), "libx.so", List.of("liby.so.2", "libc.so.6"), "$ORIGIN:/opt/cuda/lib64:${ORIGIN}/../z");
        ElfDynamic d = ElfDynamic.read(lib);
        assertEquals("libx.so", d.soname());
        assertEquals(List.of("liby.so.2", "libc.so.6"), d.needed());
        assertEquals(List.of(tmp.resolve("a"), Path.of("/opt/cuda/lib64"), tmp.resolve("a/../z")), d.runpathDirs(lib));
    }

    @Test
    void aFileThatIsNoElfOrIsCutShortIsAnIoErrorNamingIt() throws IOException {
        Path text = Files.writeString(tmp.resolve("libtext.so"), "INPUT(-lfoo)\n"); // a linker script, as libc.so is
        IOException e = assertThrows(IOException.class, () -> ElfDynamic.read(text));
        assertTrue(e.getMessage().contains(text.toString()) && e.getMessage().contains("not an ELF"), e.getMessage());
        Path whole = TestElf.write(tmp.resolve("libw.so"), "libw.so", List.of("liba.so"), null);
        byte[] bytes = Files.readAllBytes(whole);
        Path cut = Files.write(tmp.resolve("libcut.so"), java.util.Arrays.copyOf(bytes, bytes.length - 4));
        e = assertThrows(IOException.class, () -> ElfDynamic.read(cut));
        assertTrue(e.getMessage().contains(cut.toString()), e.getMessage());
    }

    @Test
    void readsTheRealLibtorchAsReadelfDoes() throws IOException {
        // readelf -d libtorch_cpu.so (pytorch 2.10.0-1.5.13 linux-x86_64): NEEDED libc10.so, libopenblas.so.0,
        // libgcc_s.so.1, libm.so.6, libgomp.so.1, libstdc++.so.6, libc.so.6, ld-linux-x86-64.so.2; RUNPATH $ORIGIN:…
        List<String> folders = Natives.folders(Loader.getPlatform(), System.getProperty(Natives.EXTENSION_PROPERTY),
                f -> Natives.class.getResource(f) != null);
        String folder = folders.get(folders.size() - 1); // libtorch's own, CPU or GPU build
        Path dir = Natives.extract(Natives.class, folder).get(0);
        ElfDynamic torchCpu = ElfDynamic.read(dir.resolve("libtorch_cpu.so"));
        assertEquals("libtorch_cpu.so", torchCpu.soname());
        assertTrue(torchCpu.needed().containsAll(List.of("libc10.so", "libopenblas.so.0", "libgomp.so.1", "libc.so.6")), torchCpu.needed().toString());
        assertEquals("$ORIGIN", torchCpu.runpath().get(0));
        assertEquals(List.of("libtorch_cpu.so"), ElfDynamic.read(dir.resolve("libtorch.so")).needed().subList(0, 1));
    }
}
