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
