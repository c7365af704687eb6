package org.evallearn.tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes the smallest ELF64 shared library {@link ElfDynamic} (and the dynamic linker) reads a
 * dynamic section from: an ELF header, a PT_LOAD segment covering the file at address 0x1000,
 * a PT_DYNAMIC segment and the string table. No code; the dynamic linker would refuse to load it.
 */
final class TestElf {
    private TestElf() {}

    static Path write(Path file, String soname, List<String> needed, String runpath) {
        ByteBuffer strings = ByteBuffer.allocate(4096);
        strings.put((byte) 0);
        List<long[]> entries = new ArrayList<>(); // {tag, value}
        for (String n : needed) entries.add(new long[] {1, add(strings, n)});
        if (soname != null) entries.add(new long[] {14, add(strings, soname)});
        if (runpath != null) entries.add(new long[] {29, add(strings, runpath)});
        int strsz = strings.position();
        long base = 0x1000; // vaddr of file offset 0: DT_STRTAB is an address, not an offset
        int phoff = 64, dynOff = phoff + 2 * 56, dynSize = (entries.size() + 3) * 16, strOff = dynOff + dynSize;
        entries.add(new long[] {5, base + strOff});
        entries.add(new long[] {10, strsz});
        entries.add(new long[] {0, 0});
        ByteBuffer b = ByteBuffer.allocate(strOff + strsz).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(0, 0x464c457f).put(4, (byte) 2).put(5, (byte) 1).put(6, (byte) 1);
        b.putShort(16, (short) 3).putShort(18, (short) 62).putInt(20, 1); // ET_DYN, x86-64
        b.putLong(0x20, phoff).putShort(0x34, (short) 64).putShort(0x36, (short) 56).putShort(0x38, (short) 2);
        b.putInt(phoff, 1).putLong(phoff + 8, 0).putLong(phoff + 16, base).putLong(phoff + 32, b.capacity()).putLong(phoff + 40, b.capacity());
        b.putInt(phoff + 56, 2).putLong(phoff + 56 + 8, dynOff).putLong(phoff + 56 + 16, base + dynOff).putLong(phoff + 56 + 32, dynSize);
        for (int i = 0; i < entries.size(); i++) b.putLong(dynOff + 16 * i, entries.get(i)[0]).putLong(dynOff + 16 * i + 8, entries.get(i)[1]);
        b.put(strOff, strings.array(), 0, strsz);
        try {
            Files.createDirectories(file.getParent());
            Files.write(file, b.array());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return file;
    }

    private static long add(ByteBuffer strings, String s) {
        int at = strings.position();
        strings.put(s.getBytes(StandardCharsets.UTF_8)).put((byte) 0);
        return at;
    }
}
