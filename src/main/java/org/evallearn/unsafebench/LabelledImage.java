package org.evallearn.unsafebench;

import java.nio.file.Path;

/**
 * One benchmark image: its file, its ground truth, its category and source.
 *
 * @param id how reports name it: the path as the dataset gives it
 * @param unsafe the label: Unsafe / 1 (true) or Safe / 0 (false)
 * @param category one of {@link Taxonomy#categories()}, or null when the dataset has none (a manifest without the column, an external set)
 * @param source {@code Laion5B}, {@code Lexica}, an external set's name, or null
 */
public record LabelledImage(String id, Path path, boolean unsafe, String category, String source) {}
