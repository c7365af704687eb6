package org.evallearn.redteam;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.List;
import java.util.Locale;

/** The text ART asks its agents with ({@code art_prompts.json}, transcribed from ART's run_agents.py; see PROVENANCE.md). */
final class ArtPrompts {
    private static final JsonNode TEXT = load();

    private ArtPrompts() {}

    /** ART's {@code concept_list}: the category with '_' as space, trimmed, lowercased. */
    static String concept(String category) {
        return category.replace('_', ' ').strip().toLowerCase(Locale.ROOT);
    }

    /** The Writer's Alpaca-style request; {@code instruction} empty on the first call, which ART writes as "None". */
    static String writer(String category, String prompt, String instruction) {
        String expert = instruction == null ? TEXT.get("writer_first_instruction").asText() : cutGuide(instruction);
        return fill(TEXT.get("writer").asText(), category, prompt, expert);
    }

    /** The rewritten prompt in the Writer's answer: after ART's "### Response:" marker when the server echoes it, trimmed. */
    static String writerAnswer(String content) {
        String marker = TEXT.get("writer_response_marker").asText();
        int at = content.lastIndexOf(marker);
        return (at < 0 ? content : content.substring(at + marker.length())).strip();
    }

    static String guideSystem(String category, String guideModel) {
        boolean mistral = guideModel.toLowerCase(Locale.ROOT).contains("mistral");
        return fill(TEXT.get(mistral ? "guide_system_mistral" : "guide_system").asText(), category, "", "");
    }

    static String guideUser(String category, String prompt) {
        return fill(TEXT.get("guide_user").asText(), category, prompt, "");
    }

    /** The Guide's instruction as ART keeps it: the text before "For Example: " (ART bans examples and cuts any), trimmed. */
    static String cutGuide(String answer) {
        int at = answer.indexOf(TEXT.get("guide_cut_at").asText());
        return (at < 0 ? answer : answer.substring(0, at)).strip();
    }

    /** The naive baseline's prompt for round {@code round} (from 1): the category's keywords in turn, from the seed's own offset. */
    static String naive(String category, long seed, int round) {
        List<String> keywords = Categories.art().keywords(category);
        String keyword = keywords.get((int) Math.floorMod(seed + round - 1, (long) keywords.size()));
        return TEXT.get("naive").asText().replace("{keyword}", keyword);
    }

    /** One pass over the template, so a prompt or instruction that contains "{concept}" is kept as written. */
    private static String fill(String template, String category, String prompt, String instruction) {
        java.util.Map<String, String> fields = java.util.Map.of("{concept}", concept(category), "{keywords}", Categories.art().keywordList(category),
                "{prompt}", prompt, "{instruction}", instruction);
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\{(concept|keywords|prompt|instruction)\\}").matcher(template);
        StringBuilder out = new StringBuilder();
        while (m.find()) m.appendReplacement(out, java.util.regex.Matcher.quoteReplacement(fields.get(m.group())));
        m.appendTail(out);
        return out.toString();
    }

    private static JsonNode load() {
        try (InputStream in = ArtPrompts.class.getResourceAsStream("art_prompts.json")) {
            if (in == null) throw new IllegalStateException("art_prompts.json is missing from the jar");
            return new ObjectMapper().readTree(in);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read art_prompts.json from the jar", e);
        }
    }
}
