package org.evallearn.image;

import static org.junit.jupiter.api.Assertions.*;

import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** PNGs written here with ImageIO in each colour type, decoded as PIL's convert('RGB') would. */
class ImageDecoderTest {
    @TempDir Path dir;

    private Path png(BufferedImage img, String name) throws IOException {
        Path file = dir.resolve(name);
        assertTrue(ImageIO.write(img, "png", file.toFile()));
        return file;
    }

    private static int[] pixel(RgbImage img, int x, int y) {
        int i = (y * img.width() + x) * 3;
        return new int[] {img.rgb()[i] & 0xff, img.rgb()[i + 1] & 0xff, img.rgb()[i + 2] & 0xff};
    }

    @Test
    void greyIsReplicatedWithoutGammaConversion() throws IOException {
        BufferedImage img = new BufferedImage(3, 1, BufferedImage.TYPE_BYTE_GRAY);
        img.getRaster().setPixels(0, 0, 3, 1, new int[] {0, 77, 255});
        RgbImage rgb = ImageDecoder.read(png(img, "grey.png"));
        // BufferedImage.getRGB would map linear grey 77 to sRGB ~155; PIL's L → RGB copies it
        assertArrayEquals(new int[] {77, 77, 77}, pixel(rgb, 1, 0));
        assertArrayEquals(new int[] {255, 255, 255}, pixel(rgb, 2, 0));
    }

    @Test
    void sixteenBitGreyKeepsTheHighByte() throws IOException {
        BufferedImage img = new BufferedImage(2, 1, BufferedImage.TYPE_USHORT_GRAY);
        img.getRaster().setPixels(0, 0, 2, 1, new int[] {0x1234, 0xff01});
        RgbImage rgb = ImageDecoder.read(png(img, "grey16.png"));
        assertArrayEquals(new int[] {0x12, 0x12, 0x12}, pixel(rgb, 0, 0));
        assertArrayEquals(new int[] {0xff, 0xff, 0xff}, pixel(rgb, 1, 0));
    }

    @Test
    void paletteIsLookedUp() throws IOException {
        byte[] r = {10, (byte) 200}, g = {20, 0}, b = {30, (byte) 255};
        BufferedImage img = new BufferedImage(2, 1, BufferedImage.TYPE_BYTE_INDEXED, new IndexColorModel(8, 2, r, g, b));
        img.getRaster().setPixels(0, 0, 2, 1, new int[] {1, 0});
        RgbImage rgb = ImageDecoder.read(png(img, "palette.png"));
        assertArrayEquals(new int[] {200, 0, 255}, pixel(rgb, 0, 0));
        assertArrayEquals(new int[] {10, 20, 30}, pixel(rgb, 1, 0));
    }

    @Test
    void alphaIsDroppedNotComposited() throws IOException {
        BufferedImage img = new BufferedImage(2, 1, BufferedImage.TYPE_INT_ARGB);
        img.setRGB(0, 0, 0x00_ff8000); // fully transparent orange stays orange
        img.setRGB(1, 0, 0x80_102030);
        RgbImage rgb = ImageDecoder.read(png(img, "rgba.png"));
        assertArrayEquals(new int[] {255, 128, 0}, pixel(rgb, 0, 0));
        assertArrayEquals(new int[] {16, 32, 48}, pixel(rgb, 1, 0));
    }

    @Test
    void rgbRoundTrips() throws IOException {
        byte[] data = new byte[4 * 3 * 3];
        for (int i = 0; i < data.length; i++) data[i] = (byte) (i * 7);
        RgbImage original = new RgbImage(4, 3, data);
        Path file = dir.resolve("rgb.png");
        original.writePng(file);
        assertArrayEquals(data, ImageDecoder.read(file).rgb());
    }

    private static byte[] jpeg(BufferedImage img) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertTrue(ImageIO.write(img, "jpeg", out));
        return out.toByteArray();
    }

    /** 256×256 of busy colour, so the scan data (not the ~600-byte header) is most of the file. */
    private static BufferedImage busy() {
        BufferedImage img = new BufferedImage(256, 256, BufferedImage.TYPE_INT_RGB);
        java.util.Random random = new java.util.Random(3);
        for (int y = 0; y < 256; y++) for (int x = 0; x < 256; x++) img.setRGB(x, y, random.nextInt(1 << 24));
        return img;
    }

    @Test
    void aValidJpegDecodesToItsColours() throws IOException {
        BufferedImage img = new BufferedImage(16, 16, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < 16; y++) for (int x = 0; x < 16; x++) img.setRGB(x, y, 0xc86432); // (200, 100, 50)
        Path file = dir.resolve("flat.jpg");
        Files.write(file, jpeg(img));
        RgbImage rgb = ImageDecoder.read(file);
        assertEquals(16, rgb.width());
        int[] p = pixel(rgb, 7, 9);
        // Lossy: a flat block survives up to YCbCr rounding and quantisation of its DC term.
        int[] expected = {200, 100, 50};
        for (int c = 0; c < 3; c++) assertEquals(expected[c], p[c], 3, Arrays.toString(p));
    }

    @Test
    void aTruncatedJpegIsAFailureWithItsReasonNotAGreyImage() throws IOException {
        byte[] whole = jpeg(busy());
        assertEquals(256, ImageDecoder.decode(whole, "whole.jpg").width());
        for (int percent = 20; percent <= 90; percent += 10) {
            byte[] cut = Arrays.copyOf(whole, whole.length * percent / 100);
            ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> ImageDecoder.decode(cut, "cut.jpg"),
                    percent + " % of the file decoded");
            assertTrue(e.getMessage().startsWith("cut.jpg: corrupt or truncated JPEG ("), e.getMessage());
        }
    }

    @Test
    void sixteenBitRgbAndRgbaKeepTheHighByteAndDropAlpha() throws IOException {
        for (boolean alpha : new boolean[] {false, true}) {
            int bands = alpha ? 4 : 3;
            java.awt.color.ColorSpace srgb = java.awt.color.ColorSpace.getInstance(java.awt.color.ColorSpace.CS_sRGB);
            java.awt.image.ComponentColorModel cm = new java.awt.image.ComponentColorModel(srgb, alpha, false,
                    alpha ? java.awt.Transparency.TRANSLUCENT : java.awt.Transparency.OPAQUE, java.awt.image.DataBuffer.TYPE_USHORT);
            java.awt.image.WritableRaster raster = cm.createCompatibleWritableRaster(2, 1);
            int[] samples = alpha ? new int[] {0x1234, 0xabff, 0x00ff, 0x0000, 0xff00, 0x8080, 0x0101, 0xffff}
                    : new int[] {0x1234, 0xabff, 0x00ff, 0xff00, 0x8080, 0x0101};
            raster.setPixels(0, 0, 2, 1, samples);
            RgbImage rgb = ImageDecoder.read(png(new BufferedImage(cm, raster, false, null), "rgb16-" + bands + ".png"));
            assertArrayEquals(new int[] {0x12, 0xab, 0x00}, pixel(rgb, 0, 0), "bands " + bands);
            assertArrayEquals(new int[] {0xff, 0x80, 0x01}, pixel(rgb, 1, 0), "bands " + bands);
        }
    }

    @Test
    void greyWithAlphaIsReplicatedAndAlphaDropped() throws IOException {
        java.awt.color.ColorSpace grey = java.awt.color.ColorSpace.getInstance(java.awt.color.ColorSpace.CS_GRAY);
        java.awt.image.ComponentColorModel cm = new java.awt.image.ComponentColorModel(grey, true, false,
                java.awt.Transparency.TRANSLUCENT, java.awt.image.DataBuffer.TYPE_BYTE);
        java.awt.image.WritableRaster raster = cm.createCompatibleWritableRaster(2, 1);
        raster.setPixels(0, 0, 2, 1, new int[] {77, 0, 200, 255}); // (grey, alpha) pairs
        RgbImage rgb = ImageDecoder.read(png(new BufferedImage(cm, raster, false, null), "grey-alpha.png"));
        assertArrayEquals(new int[] {77, 77, 77}, pixel(rgb, 0, 0));
        assertArrayEquals(new int[] {200, 200, 200}, pixel(rgb, 1, 0));
    }

    @Test
    void lowBitDepthPalettesAreLookedUp() throws IOException {
        for (int bits : new int[] {1, 2, 4}) {
            int entries = 1 << bits;
            byte[] r = new byte[entries], g = new byte[entries], b = new byte[entries];
            for (int i = 0; i < entries; i++) {
                r[i] = (byte) (i * 16 + 1);
                g[i] = (byte) (250 - i * 10);
                b[i] = (byte) (i == entries - 1 ? 255 : i);
            }
            BufferedImage img = new BufferedImage(3, 1, BufferedImage.TYPE_BYTE_BINARY, new IndexColorModel(bits, entries, r, g, b));
            img.getRaster().setPixels(0, 0, 3, 1, new int[] {entries - 1, 0, 1});
            RgbImage rgb = ImageDecoder.read(png(img, "palette" + bits + ".png"));
            int last = entries - 1;
            assertArrayEquals(new int[] {last * 16 + 1, 250 - last * 10, 255}, pixel(rgb, 0, 0), bits + "-bit");
            assertArrayEquals(new int[] {1, 250, 0}, pixel(rgb, 1, 0), bits + "-bit");
            assertArrayEquals(new int[] {17, 240, entries == 2 ? 255 : 1}, pixel(rgb, 2, 0), bits + "-bit");
        }
    }

    @Test
    void corruptAndEmptyFilesNameTheFileAndReason() throws IOException {
        BufferedImage img = new BufferedImage(16, 16, BufferedImage.TYPE_INT_RGB);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        ImageIO.write(img, "png", out);
        byte[] bytes = out.toByteArray();
        Path truncated = dir.resolve("truncated.png");
        Files.write(truncated, Arrays.copyOf(bytes, bytes.length / 2));
        ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> ImageDecoder.read(truncated));
        assertTrue(e.getMessage().contains("truncated.png") && e.getMessage().contains("corrupt"), e.getMessage());

        Path empty = dir.resolve("empty.png");
        Files.write(empty, new byte[0]);
        e = assertThrows(ImageDecodeException.class, () -> ImageDecoder.read(empty));
        assertTrue(e.getMessage().contains("empty.png: empty file"), e.getMessage());

        Path text = dir.resolve("notes.png");
        Files.writeString(text, "not an image");
        e = assertThrows(ImageDecodeException.class, () -> ImageDecoder.read(text));
        assertTrue(e.getMessage().contains("notes.png: not a PNG or JPEG"), e.getMessage());

        Path missing = dir.resolve("missing.png");
        e = assertThrows(ImageDecodeException.class, () -> ImageDecoder.read(missing));
        assertTrue(e.getMessage().contains("missing.png: cannot read"), e.getMessage());
    }
}
