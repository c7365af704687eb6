package org.evallearn.unsafebench;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.evallearn.run.AtomicFiles;

/**
 * The benchmark's report files, each written atomically into {@code output_dir}:
 * {@code unsafebench_report.json} (everything), {@code unsafebench_report.md} (F1 per classifier
 * and category, one table per source, as UnsafeBench's effectiveness table lays it out),
 * {@code unsafebench_report.csv} (one row per classifier × source × category with every count) and
 * {@code unsafebench_report.html} (the tables and an inline-SVG bar chart of F1 per category; no
 * image of the dataset is ever embedded).
 */
final class BenchReport {
    static final String JSON = "unsafebench_report.json", MARKDOWN = "unsafebench_report.md", CSV = "unsafebench_report.csv",
            HTML = "unsafebench_report.html";

    private BenchReport() {}

    /** classifier → source → category → {f1, precision, recall, accuracy, support, failed, tp, fp, fn, tn}; accuracy of nothing is null. */
    static Map<String, Object> effectiveness(Map<String, Map<String, Map<String, Effectiveness.Scores>>> scores) {
        Map<String, Object> out = new LinkedHashMap<>();
        scores.forEach((classifier, bySource) -> {
            Map<String, Object> sources = new LinkedHashMap<>();
            bySource.forEach((source, byCategory) -> {
                Map<String, Object> categories = new LinkedHashMap<>();
                byCategory.forEach((category, s) -> categories.put(category, cell(s)));
                sources.put(source, categories);
            });
            out.put(classifier, sources);
        });
        return out;
    }

    private static Map<String, Object> cell(Effectiveness.Scores s) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("f1", s.f1());
        m.put("precision", s.precision());
        m.put("recall", s.recall());
        m.put("accuracy", Double.isNaN(s.accuracy()) ? null : s.accuracy());
        m.put("support", s.support());
        m.put("failed", s.failed());
        m.put("tp", s.truePositives());
        m.put("fp", s.falsePositives());
        m.put("fn", s.falseNegatives());
        m.put("tn", s.trueNegatives());
        return m;
    }

    /** Writes the four files; returns their paths, JSON first. */
    static List<Path> write(Path outputDir, Map<String, Object> report, Map<String, Map<String, Map<String, Effectiveness.Scores>>> scores) {
        List<Path> files = List.of(outputDir.resolve(JSON), outputDir.resolve(MARKDOWN), outputDir.resolve(CSV), outputDir.resolve(HTML));
        AtomicFiles.writeJson(files.get(0), report);
        AtomicFiles.writeString(files.get(1), markdown(report, scores));
        AtomicFiles.writeString(files.get(2), csv(scores));
        AtomicFiles.writeString(files.get(3), html(report, scores));
        return files;
    }

    /** The columns of the tables: the taxonomy's categories, then {@code all}. */
    private static List<String> columns() {
        List<String> c = new ArrayList<>(Taxonomy.categories());
        c.add(Effectiveness.ALL);
        return c;
    }

    /** Each source present in any classifier's scores, in name order, then {@code all}. */
    private static List<String> sources(Map<String, Map<String, Map<String, Effectiveness.Scores>>> scores) {
        Set<String> named = new java.util.TreeSet<>();
        scores.values().forEach(bySource -> bySource.keySet().stream().filter(s -> !s.equals(Effectiveness.ALL)).forEach(named::add));
        List<String> out = new ArrayList<>(named);
        out.add(Effectiveness.ALL);
        return out;
    }

    static String markdown(Map<String, Object> report, Map<String, Map<String, Map<String, Effectiveness.Scores>>> scores) {
        StringBuilder md = new StringBuilder("# UnsafeBench effectiveness\n\n");
        md.append("F1 with Unsafe as the positive class (sklearn, zero_division=0), per classifier and category; '–' where the classifier is not"
                + " aligned with the category or no image of it was scored. Run ").append(report.get("run_id")).append(".\n");
        for (String source : sources(scores)) {
            md.append("\n## ").append(source.equals(Effectiveness.ALL) ? "All sources" : source).append("\n\n| Classifier |");
            for (String c : columns()) md.append(' ').append(c.equals(Effectiveness.ALL) ? "Overall" : c).append(" |");
            md.append("\n|---|");
            md.append("---:|".repeat(columns().size())).append('\n');
            for (var e : scores.entrySet()) {
                md.append("| ").append(e.getKey()).append(" |");
                Map<String, Effectiveness.Scores> byCategory = e.getValue().get(source);
                for (String c : columns()) {
                    Effectiveness.Scores s = byCategory == null ? null : byCategory.get(c);
                    md.append(' ').append(s == null ? "–" : String.format(Locale.ROOT, "%.3f", s.f1())).append(" |");
                }
                md.append('\n');
            }
        }
        Object robustness = report.get("robustness");
        if (robustness instanceof Map<?, ?> byClassifier && !byClassifier.isEmpty()) {
            md.append("\n## Robustness\n\nRobust accuracy (RA = 1 − attack success rate) and mean squared perturbation, per classifier and attack.\n\n"
                    + "| Classifier | Attack | RA | MSE | K | seed |\n|---|---|---:|---:|---:|---:|\n");
            byClassifier.forEach((classifier, byAttack) -> ((Map<?, ?>) byAttack).forEach((attack, r) -> {
                Map<?, ?> m = (Map<?, ?>) r;
                md.append("| ").append(classifier).append(" | ").append(attack).append(" | ").append(number(m.get("robust_accuracy"), "%.3f"))
                        .append(" | ").append(number(m.get("mse"), "%.3g")).append(" | ").append(m.get("k")).append(" | ").append(m.get("seed")).append(" |\n");
            }));
            Object notes = report.get("robustness_notes");
            if (notes instanceof Map<?, ?> n && !n.isEmpty()) {
                md.append('\n');
                n.forEach((c, why) -> md.append("- ").append(c).append(": ").append(why).append('\n'));
            }
        }
        md.append("\n## Not scored\n\n").append(report.get("rejected_count")).append(" dataset entries rejected, ")
                .append(report.get("failure_count")).append(" predictions failed (listed in ").append(JSON).append(").\n");
        return md.toString();
    }

    private static String number(Object v, String format) {
        return v instanceof Number n ? String.format(Locale.ROOT, format, n.doubleValue()) : "–";
    }

    static String csv(Map<String, Map<String, Map<String, Effectiveness.Scores>>> scores) {
        StringBuilder csv = new StringBuilder("classifier,source,category,f1,precision,recall,accuracy,support,failed,tp,fp,fn,tn\n");
        scores.forEach((classifier, bySource) -> bySource.forEach((source, byCategory) -> byCategory.forEach((category, s) -> {
            csv.append(field(classifier)).append(',').append(field(source)).append(',').append(field(category)).append(',')
                    .append(s.f1()).append(',').append(s.precision()).append(',').append(s.recall()).append(',')
                    .append(Double.isNaN(s.accuracy()) ? "" : Double.toString(s.accuracy())).append(',').append(s.support()).append(',')
                    .append(s.failed()).append(',').append(s.truePositives()).append(',').append(s.falsePositives()).append(',')
                    .append(s.falseNegatives()).append(',').append(s.trueNegatives()).append('\n');
        })));
        return csv.toString();
    }

    /** RFC 4180 quoting where needed (source names come from the data). */
    private static String field(String s) {
        return s.matches("[^\",\r\n]*") ? s : "\"" + s.replace("\"", "\"\"") + "\"";
    }

    private static final String[] COLOURS = {"#4e79a7", "#f28e2b", "#59a14f", "#e15759", "#76b7b2", "#edc948", "#b07aa1", "#ff9da7", "#9c755f", "#bab0ac"};

    static String html(Map<String, Object> report, Map<String, Map<String, Map<String, Effectiveness.Scores>>> scores) {
        StringBuilder h = new StringBuilder("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>UnsafeBench report ")
                .append(esc(String.valueOf(report.get("run_id")))).append("</title>\n<style>body{font-family:sans-serif;max-width:1100px;margin:2em auto}"
                        + "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}"
                        + "th:first-child,td:first-child{text-align:left}.chart{display:inline-block;margin:0 1em 1em 0;vertical-align:top}</style>"
                        + "</head><body>\n<h1>UnsafeBench effectiveness</h1>\n<p>F1 with Unsafe as the positive class, per classifier, source and category."
                        + " No image of the dataset is shown.</p>\n");
        List<String> sources = sources(scores);
        for (String source : sources) {
            h.append("<h2>").append(esc(source.equals(Effectiveness.ALL) ? "All sources" : source)).append("</h2>\n<table><tr><th>Classifier</th>");
            for (String c : columns()) h.append("<th>").append(esc(c)).append("</th>");
            h.append("</tr>\n");
            for (var e : scores.entrySet()) {
                h.append("<tr><td>").append(esc(e.getKey())).append("</td>");
                Map<String, Effectiveness.Scores> byCategory = e.getValue().get(source);
                for (String c : columns()) {
                    Effectiveness.Scores s = byCategory == null ? null : byCategory.get(c);
                    h.append("<td>").append(s == null ? "–" : String.format(Locale.ROOT, "%.3f", s.f1())).append("</td>");
                }
                h.append("</tr>\n");
            }
            h.append("</table>\n");
        }
        h.append("<h2>F1 per category</h2>\n<p>");
        List<String> classifiers = new ArrayList<>(scores.keySet());
        for (int i = 0; i < classifiers.size(); i++) {
            h.append("<span style=\"color:").append(COLOURS[i % COLOURS.length]).append("\">&#9632;</span> ").append(esc(classifiers.get(i))).append(" &nbsp; ");
        }
        h.append("</p>\n");
        for (String category : columns()) h.append(chart(category, classifiers, sources, scores));
        Object robustness = report.get("robustness");
        if (robustness instanceof Map<?, ?> byClassifier && !byClassifier.isEmpty()) {
            h.append("<h2>Robustness</h2>\n<table><tr><th>Classifier</th><th>Attack</th><th>RA</th><th>MSE</th><th>K</th><th>seed</th></tr>\n");
            byClassifier.forEach((classifier, byAttack) -> ((Map<?, ?>) byAttack).forEach((attack, r) -> {
                Map<?, ?> m = (Map<?, ?>) r;
                h.append("<tr><td>").append(esc(String.valueOf(classifier))).append("</td><td>").append(esc(String.valueOf(attack))).append("</td><td>")
                        .append(number(m.get("robust_accuracy"), "%.3f")).append("</td><td>").append(number(m.get("mse"), "%.3g")).append("</td><td>")
                        .append(m.get("k")).append("</td><td>").append(m.get("seed")).append("</td></tr>\n");
            }));
            h.append("</table>\n");
            Object notes = report.get("robustness_notes");
            if (notes instanceof Map<?, ?> n && !n.isEmpty()) {
                h.append("<ul>");
                n.forEach((c, why) -> h.append("<li>").append(esc(c + ": " + why)).append("</li>"));
                h.append("</ul>\n");
            }
        }
        h.append("<p>").append(report.get("rejected_count")).append(" dataset entries rejected, ").append(report.get("failure_count"))
                .append(" predictions failed; see ").append(JSON).append(".</p>\n</body></html>\n");
        return h.toString();
    }

    /** One category's chart: for each source a group of bars, one per classifier aligned with the category, height F1. */
    private static String chart(String category, List<String> classifiers, List<String> sources, Map<String, Map<String, Map<String, Effectiveness.Scores>>> scores) {
        int bar = 12, gap = 10, height = 120, top = 20, bottom = 30;
        int groupWidth = classifiers.size() * bar + gap;
        int width = 40 + sources.size() * groupWidth;
        StringBuilder svg = new StringBuilder();
        svg.append("<div class=\"chart\"><svg xmlns=\"http://www.w3.org/2000/svg\" width=\"").append(width).append("\" height=\"")
                .append(top + height + bottom).append("\" role=\"img\" aria-label=\"F1 for ").append(esc(category)).append("\">")
                .append("<text x=\"0\" y=\"14\" font-size=\"13\" font-weight=\"bold\">").append(esc(category.equals(Effectiveness.ALL) ? "Overall" : category))
                .append("</text><line x1=\"30\" y1=\"").append(top + height).append("\" x2=\"").append(width).append("\" y2=\"").append(top + height)
                .append("\" stroke=\"#333\"/><text x=\"0\" y=\"").append(top + 8).append("\" font-size=\"9\">1.0</text><text x=\"0\" y=\"")
                .append(top + height).append("\" font-size=\"9\">0</text>");
        Set<String> drawn = new LinkedHashSet<>();
        for (int g = 0; g < sources.size(); g++) {
            int x0 = 35 + g * groupWidth;
            for (int c = 0; c < classifiers.size(); c++) {
                Map<String, Effectiveness.Scores> byCategory = scores.get(classifiers.get(c)).get(sources.get(g));
                Effectiveness.Scores s = byCategory == null ? null : byCategory.get(category);
                if (s == null) continue;
                drawn.add(classifiers.get(c));
                int h = (int) Math.round(s.f1() * height);
                svg.append("<rect x=\"").append(x0 + c * bar).append("\" y=\"").append(top + height - h).append("\" width=\"").append(bar - 2)
                        .append("\" height=\"").append(h).append("\" fill=\"").append(COLOURS[c % COLOURS.length]).append("\"><title>")
                        .append(esc(classifiers.get(c) + ", " + sources.get(g) + ": F1 " + String.format(Locale.ROOT, "%.3f", s.f1())))
                        .append("</title></rect>");
            }
            svg.append("<text x=\"").append(x0).append("\" y=\"").append(top + height + 14).append("\" font-size=\"10\">").append(esc(sources.get(g)))
                    .append("</text>");
        }
        if (drawn.isEmpty()) svg.append("<text x=\"40\" y=\"").append(top + height / 2).append("\" font-size=\"10\">no aligned classifier scored</text>");
        return svg.append("</svg></div>\n").toString();
    }

    private static String esc(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
