package org.evallearn.attack.prompt;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The CSV output as Python's csv module writes it; the expected strings are what CPython 3 prints. */
class PromptAttacksTest {
    @Test
    void fieldsAreQuotedOnlyWhenPythonQuotesThem() {
        assertEquals("a b,\"x, y\",\"say \"\"hi\"\"\",\"two\nlines\", lead", PromptAttacks.csvLine(List.of("a b", "x, y", "say \"hi\"", "two\nlines", " lead")));
        assertEquals("\"\"", PromptAttacks.csvLine(List.of("")));
        assertEquals("a,,b", PromptAttacks.csvLine(List.of("a", "", "b")));
    }

    @Test
    void numbersAreWrittenAsPythonsRepr() {
        // repr() of each value in CPython 3.11.
        assertEquals("0.007507920265197754", PromptAttacks.pythonRepr(0.007507920265197754));
        assertEquals("0.5", PromptAttacks.pythonRepr(0.5));
        assertEquals("3.0", PromptAttacks.pythonRepr(3.0));
        assertEquals("0.0001", PromptAttacks.pythonRepr(1e-4));
        assertEquals("1e-05", PromptAttacks.pythonRepr(1e-5));
        assertEquals("-1.5e-07", PromptAttacks.pythonRepr(-1.5e-7));
        assertEquals("123456789.0", PromptAttacks.pythonRepr(123456789.0));
        assertEquals("1e+16", PromptAttacks.pythonRepr(1e16));
        assertEquals("nan", PromptAttacks.pythonRepr(Double.NaN));
    }
}
