package org.evallearn.attack.prompt;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.evallearn.data.DataException;
import org.junit.jupiter.api.Test;

class NpyTest {
    @Test
    void readsAFloat32ArrayAsNpSaveWritesIt() {
        Npy.Array a = Npy.parse("v.npy", RingABellTest.npy("<f4", "(3, 4)", 12));
        assertArrayEquals(new long[] {3, 4}, a.shape());
        assertEquals(12, a.data().length);
        assertEquals(0.001f * 11, a.data()[11], 0f); // exact: the same float32 written and read
    }

    @Test
    void refusesEverythingElseNamingTheFile() {
        assertRefused(RingABellTest.npy("<f8", "(3, 4)", 24), "'<f4'");
        assertRefused(RingABellTest.npy("|O", "(3,)", 0), "'<f4'"); // pickled objects
        assertRefused(RingABellTest.npy("<f4", "(3, 4)", 11), "needs 48 data bytes");
        assertRefused(RingABellTest.npy("<f4", "(3, 4)", 13), "needs 48 data bytes");
        byte[] fortran = new String(RingABellTest.npy("<f4", "(2, 2)", 4), StandardCharsets.ISO_8859_1)
                .replace("'fortran_order': False", "'fortran_order': True ").getBytes(StandardCharsets.ISO_8859_1);
        assertRefused(fortran, "Fortran");
        byte[] noMagic = RingABellTest.npy("<f4", "(2,)", 2);
        noMagic[1] = 'X';
        assertRefused(noMagic, "magic");
        assertRefused(Arrays.copyOf(RingABellTest.npy("<f4", "(2,)", 2), 20), "truncated");
    }

    private static void assertRefused(byte[] bytes, String why) {
        DataException e = assertThrows(DataException.class, () -> Npy.parse("concept.npy", bytes));
        assertTrue(e.getMessage().startsWith("concept.npy: ") && e.getMessage().contains(why), e.getMessage());
    }
}
