package org.evallearn.tensor;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Finds shared libraries by soname and orders them for loading, dependencies first, without
 * loading anything: the bundled folders (what the jar extracted) first, then the places the
 * dynamic linker searches — {@code LD_LIBRARY_PATH}, the needing library's run path, the folders
 * of {@code /etc/ld.so.conf}, the default folders. A library found on the system is checked as
 * deeply as a bundled one, so "libcublas.so.13 is there but its libcublasLt.so.13 is not" is found
 * before the dynamic linker would fail on it.
 *
 * <p>The C and C++ runtime ({@link #RUNTIME}) is left to the dynamic linker: the JVM itself runs on
 * it, and loading a second copy from a bundled folder would only duplicate it.
 */
public final class SharedLibraries {
    /** Sonames every process here already has from the system; never looked for, never loaded by us. */
    static final Set<String> RUNTIME = Set.of("libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "librt.so.1",
            "libstdc++.so.6", "libgcc_s.so.1", "ld-linux-x86-64.so.2", "libutil.so.1");

    private final List<Path> bundled;
    private final List<Path> system;

    /**
     * @param bundled the folders whose libraries we load ourselves, searched first
     * @param system the system's search folders in the dynamic linker's order (without run paths, added per library)
     */
    public SharedLibraries(List<Path> bundled, List<Path> system) {
        this.bundled = List.copyOf(bundled);
        this.system = List.copyOf(system);
    }

    /** With the system search folders of this machine: see {@link #systemFolders}. */
    public static SharedLibraries withSystemFolders(List<Path> bundled) {
        return new SharedLibraries(bundled, systemFolders(System.getenv("LD_LIBRARY_PATH"), Path.of("/etc/ld.so.conf")));
    }

    /** Where a library was found: in a bundled folder, or on the system. */
    public record Found(String soname, Path file, boolean bundled) {}

    /** A needed library found nowhere, and the library that needs it. */
    public record Missing(String soname, String neededBy) {}

    /**
     * What loading some libraries takes.
     *
     * @param order every bundled and system library the roots need, the roots included, each after its dependencies
     * @param missing what could not be found, in the order met
     */
    public record Plan(List<Found> order, List<Missing> missing) {
        public Plan {
            order = List.copyOf(order);
            missing = List.copyOf(missing);
        }

        public boolean complete() {
            return missing.isEmpty();
        }

        public List<String> missingSonames() {
            return missing.stream().map(Missing::soname).distinct().toList();
        }
    }

    /**
     * The libraries {@code roots} need, transitively, and what is missing.
     *
     * @param roots library files (in a bundled folder or not) to load
     * @param alsoNeeded sonames some root opens at run time with {@code dlopen} (no {@code DT_NEEDED}
     *     names them), mapped to the root soname that opens them: checked like needed ones
     */
    public Plan plan(List<Path> roots, Map<String, String> alsoNeeded) {
        Walk walk = new Walk();
        for (Path root : roots) walk.visit(root, root.getFileName().toString(), true);
        for (Map.Entry<String, String> e : alsoNeeded.entrySet()) walk.need(e.getKey(), e.getValue(), null, null);
        return new Plan(new ArrayList<>(walk.order.values()), walk.missing);
    }

    private final class Walk {
        final Map<String, Found> order = new LinkedHashMap<>();
        final Set<String> visiting = new LinkedHashSet<>();
        final List<Missing> missing = new ArrayList<>();
        final Set<String> missed = new LinkedHashSet<>();

        void visit(Path file, String soname, boolean isBundled) {
            if (order.containsKey(soname) || !visiting.add(soname)) return;
            ElfDynamic dyn;
            try {
                dyn = ElfDynamic.read(file);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            for (String needed : dyn.needed()) need(needed, soname, dyn, file);
            visiting.remove(soname);
            order.put(soname, new Found(soname, file, isBundled));
        }

        void need(String soname, String by, ElfDynamic from, Path fromFile) {
            if (RUNTIME.contains(soname) || order.containsKey(soname) || visiting.contains(soname)) return;
            Path inBundle = bundledFile(soname);
            if (inBundle != null) {
                visit(inBundle, soname, true);
                return;
            }
            List<Path> dirs = new ArrayList<>(system.size() + 4);
            if (from != null) dirs.addAll(from.runpathDirs(fromFile));
            dirs.addAll(system);
            Path onSystem = first(dirs, soname);
            if (onSystem != null) {
                visit(onSystem, soname, false);
            } else if (missed.add(soname + "\0" + by)) {
                missing.add(new Missing(soname, by));
            }
        }
    }

    /**
     * The bundled file for {@code soname}. JavaCPP links every library it has loaded into each
     * cache folder it loads from (a {@code libcudart.so.13} there may point at
     * {@code /usr/local/cuda}), so only a file whose real path lies in a bundled folder counts.
     */
    private Path bundledFile(String soname) {
        for (Path dir : bundled) {
            Path candidate = dir.resolve(soname);
            if (!Files.isRegularFile(candidate)) continue;
            try {
                Path real = candidate.toRealPath();
                for (Path b : bundled) if (real.startsWith(b.toRealPath())) return real;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return null;
    }

    private static Path first(List<Path> dirs, String soname) {
        for (Path dir : dirs) {
            Path candidate = dir.resolve(soname);
            if (Files.isRegularFile(candidate)) {
                try {
                    return candidate.toRealPath();
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        }
        return null;
    }

    /**
     * The dynamic linker's search folders after the run path: {@code LD_LIBRARY_PATH}, the folders
     * {@code ldconfig} caches (listed in {@code ld.so.conf}, following its {@code include} lines),
     * then the defaults. Folders that do not exist are dropped.
     */
    static List<Path> systemFolders(String ldLibraryPath, Path ldSoConf) {
        Set<Path> dirs = new LinkedHashSet<>();
        if (ldLibraryPath != null) {
            for (String d : ldLibraryPath.split(":")) if (d.startsWith("/")) dirs.add(Path.of(d));
        }
        readConf(ldSoConf, dirs, new LinkedHashSet<>());
        for (String d : new String[] {"/lib/x86_64-linux-gnu", "/usr/lib/x86_64-linux-gnu", "/lib64", "/usr/lib64", "/lib", "/usr/lib"}) {
            dirs.add(Path.of(d));
        }
        return dirs.stream().filter(Files::isDirectory).toList();
    }

    private static void readConf(Path conf, Set<Path> dirs, Set<Path> seen) {
        if (!seen.add(conf.toAbsolutePath().normalize()) || !Files.isRegularFile(conf)) return;
        List<String> lines;
        try {
            lines = Files.readAllLines(conf);
        } catch (IOException e) {
            return; // an unreadable ld.so.conf hides nothing the dynamic linker could use either
        }
        for (String raw : lines) {
            String line = raw.replaceAll("#.*", "").trim();
            if (line.isEmpty()) continue;
            if (line.startsWith("include ") || line.startsWith("include\t")) {
                for (String pattern : line.substring(8).trim().split("\\s+")) includeGlob(conf, pattern, dirs, seen);
            } else if (line.startsWith("/")) {
                dirs.add(Path.of(line.split("[\\s=]")[0]));
            }
        }
    }

    private static void includeGlob(Path conf, String pattern, Set<Path> dirs, Set<Path> seen) {
        Path p = Path.of(pattern);
        if (!p.isAbsolute()) p = conf.toAbsolutePath().getParent().resolve(p);
        Path dir = p.getParent();
        if (dir == null || !Files.isDirectory(dir)) return;
        List<Path> files = new ArrayList<>();
        try (DirectoryStream<Path> s = Files.newDirectoryStream(dir, p.getFileName().toString())) {
            s.forEach(files::add);
        } catch (IOException e) {
            return;
        }
        files.sort(null); // ldconfig reads included files in glob order
        for (Path f : files) readConf(f, dirs, seen);
    }
}
