package org.evallearn.tensor;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;

/**
 * The dynamic section of a 64-bit little-endian ELF shared library: its soname, the sonames it
 * needs ({@code DT_NEEDED}) and where it asks the dynamic linker to look ({@code DT_RUNPATH}, or
 * the older {@code DT_RPATH}). What {@code readelf -d} prints, read the way the dynamic linker
 * reads it: through the program headers ({@code PT_DYNAMIC}, and the {@code PT_LOAD} segment that
 * holds {@code DT_STRTAB}), so a library whose section headers were stripped reads the same.
 *
 * @param runpath the entries in order, {@code $ORIGIN} left as written (see {@link #runpathDirs})
 */
public record ElfDynamic(String soname, List<String> needed, List<String> runpath) {
    private static final int PT_LOAD = 1, PT_DYNAMIC = 2;
    private static final long DT_NULL = 0, DT_NEEDED = 1, DT_STRTAB = 5, DT_STRSZ = 10, DT_SONAME = 14, DT_RPATH = 15,
            DT_RUNPATH = 29;

    public ElfDynamic {
        needed = List.copyOf(needed);
        runpath = List.copyOf(runpath);
    }

    /** Reads the dynamic section of {@code file}; an IOException names the file and what is wrong with it. */
    public static ElfDynamic read(Path file) throws IOException {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return read(ch, file);
        } catch (IndexOutOfBoundsException | IllegalArgumentException e) {
            throw new IOException(file + ": not a well-formed ELF shared library (" + e.getMessage() + ")", e);
        }
    }

    private static ElfDynamic read(FileChannel ch, Path file) throws IOException {
        if (ch.size() < 64 || bytes(ch, 0, 4, file).getInt(0) != 0x464c457f) {
            throw new IOException(file + ": not an ELF file (no \\x7fELF header)");
        }
        ByteBuffer header = bytes(ch, 0, 64, file);
        if (header.get(4) != 2 || header.get(5) != 1) {
            throw new IOException(file + ": not a 64-bit little-endian ELF (class " + header.get(4) + ", data " + header.get(5) + ")");
        }
        long phoff = header.getLong(0x20);
        int phentsize = Short.toUnsignedInt(header.getShort(0x36));
        int phnum = Short.toUnsignedInt(header.getShort(0x38));
        if (phentsize < 56) throw new IOException(file + ": program header entries of " + phentsize + " bytes, expected 56");
        ByteBuffer ph = bytes(ch, phoff, (long) phentsize * phnum, file);
        List<long[]> loads = new ArrayList<>(); // {vaddr, offset, filesz}
        long dynOffset = -1, dynSize = 0;
        for (int i = 0; i < phnum; i++) {
            int at = i * phentsize;
            int type = ph.getInt(at);
            if (type == PT_LOAD) loads.add(new long[] {ph.getLong(at + 16), ph.getLong(at + 8), ph.getLong(at + 32)});
            if (type == PT_DYNAMIC) {
                dynOffset = ph.getLong(at + 8);
                dynSize = ph.getLong(at + 32);
            }
        }
        if (dynOffset < 0) throw new IOException(file + ": no dynamic section (a static executable, not a shared library)");
        ByteBuffer dyn = bytes(ch, dynOffset, dynSize, file);
        long strtab = -1, strsz = -1;
        List<Long> neededAt = new ArrayList<>(), runpathAt = new ArrayList<>(), rpathAt = new ArrayList<>();
        long sonameAt = -1;
        for (int at = 0; at + 16 <= dynSize; at += 16) {
            long tag = dyn.getLong(at), value = dyn.getLong(at + 8);
            if (tag == DT_NULL) break;
            if (tag == DT_NEEDED) neededAt.add(value);
            else if (tag == DT_STRTAB) strtab = value;
            else if (tag == DT_STRSZ) strsz = value;
            else if (tag == DT_SONAME) sonameAt = value;
            else if (tag == DT_RUNPATH) runpathAt.add(value);
            else if (tag == DT_RPATH) rpathAt.add(value);
        }
        if (strtab < 0 || strsz < 0) throw new IOException(file + ": dynamic section has no string table (DT_STRTAB/DT_STRSZ)");
        // the string table of a C++ library holds every exported symbol (4.7 MB for libtorch_cpu.so): read only our strings
        StringTable strings = new StringTable(ch, fileOffset(strtab, loads, file), strsz, file);
        List<String> needed = new ArrayList<>();
        for (long n : neededAt) needed.add(strings.at(n));
        List<String> runpath = new ArrayList<>();
        // the dynamic linker ignores DT_RPATH when DT_RUNPATH is present
        for (long r : runpathAt.isEmpty() ? rpathAt : runpathAt) {
            for (String dir : strings.at(r).split(":")) if (!dir.isEmpty()) runpath.add(dir);
        }
        return new ElfDynamic(sonameAt < 0 ? null : strings.at(sonameAt), needed, runpath);
    }

    /** The run path with {@code $ORIGIN} (and {@code ${ORIGIN}}) replaced by the library's own folder. */
    public List<Path> runpathDirs(Path library) {
        Path origin = library.toAbsolutePath().getParent();
        List<Path> dirs = new ArrayList<>();
        for (String entry : runpath) {
            String dir = entry.replace("${ORIGIN}", origin.toString()).replace("$ORIGIN", origin.toString());
            if (dir.startsWith("/")) dirs.add(Path.of(dir));
        }
        return dirs;
    }

    private static long fileOffset(long vaddr, List<long[]> loads, Path file) throws IOException {
        for (long[] load : loads) {
            if (vaddr >= load[0] && vaddr < load[0] + load[2]) return load[1] + (vaddr - load[0]);
        }
        throw new IOException(file + ": DT_STRTAB address 0x" + Long.toHexString(vaddr) + " lies in no loadable segment");
    }

    private record StringTable(FileChannel ch, long offset, long size, Path file) {
        String at(long index) throws IOException {
            if (index < 0 || index >= size) throw new IOException(file + ": string offset " + index + " outside the string table");
            java.io.ByteArrayOutputStream out = new java.io.ByteArrayOutputStream();
            for (long at = index; at < size; ) {
                ByteBuffer chunk = bytes(ch, offset + at, Math.min(256, size - at), file);
                for (int i = 0; i < chunk.limit(); i++) {
                    if (chunk.get(i) == 0) return out.toString(StandardCharsets.UTF_8);
                    out.write(chunk.get(i));
                }
                at += chunk.limit();
            }
            throw new IOException(file + ": unterminated string at offset " + index);
        }
    }

    private static ByteBuffer bytes(FileChannel ch, long position, long length, Path file) throws IOException {
        if (position < 0 || length < 0 || length > 64L << 20 || position + length > ch.size()) {
            throw new IOException(file + ": " + length + " bytes at offset " + position + " lie outside the file (" + ch.size() + " bytes)");
        }
        ByteBuffer b = ByteBuffer.allocate((int) length).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
            if (ch.read(b, position + b.position()) < 0) throw new IOException(file + ": truncated at offset " + (position + b.position()));
        }
        return b.flip();
    }
}
