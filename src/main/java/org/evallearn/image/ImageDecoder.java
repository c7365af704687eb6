package org.evallearn.image;

import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;

/**
 * PNG and JPEG files to 8-bit RGB through {@code javax.imageio}, converting as PIL's
 * {@code Image.open(f).convert('RGB')} does, which is how the reference pipelines load images:
 * alpha is dropped (not composited), grey is replicated to R = G = B, palettes are looked up,
 * 1/2/4-bit grey is scaled to 0..255 (PIL's {@code L;1}, {@code L;2}, {@code L;4} unpackers).
 *
 * <p>16-bit samples keep their high byte, which is what PIL does for 16-bit RGB PNGs
 * ({@code RGB;16B}). For 16-bit grey PIL opens mode {@code I;16} and {@code convert('RGB')}
 * clips every value above 255 to white; we take the high byte there too instead of copying that.
 * OpenCV's {@code cv2.imread} (NudeNet's reader) strips 16-bit PNGs to the high byte as well
 * ({@code png_set_strip_16}). JPEGs decode with Java's own decoder, whose IDCT and chroma
 * upsampling can differ from libjpeg-turbo's by ±1 per sample. EXIF orientation is not applied,
 * as PIL's {@code open}/{@code convert} does not apply it; {@code cv2.imread} does, so a rotated
 * JPEG file reaches NudeNet's Python package turned upright and ours as stored.
 *
 * <p>A decoder warning about the pixel data (a truncated or corrupt JPEG, which otherwise decodes
 * with its missing rows grey) fails the image; warnings about skipped metadata do not.
 *
 * <p>Hostile files fail before decoding: a header claiming more than {@link #MAX_PIXELS} pixels
 * (a decompression bomb), a PNG chunk whose CRC is wrong ({@link PngChunks}). GIF (its first
 * frame, as PIL), BMP and TIFF decode as well; WBMP, which any bytes starting 00 00 pass for, does not.
 */
public final class ImageDecoder {
    private ImageDecoder() {}

    /** Larger image files are refused unread: twice what the largest image under {@link #MAX_PIXELS} takes as raw RGB, and half what a Java array holds. */
    public static final long MAX_FILE_BYTES = 1L << 30;

    public static RgbImage read(Path file) {
        byte[] bytes;
        try {
            long size = Files.size(file);
            if (size > MAX_FILE_BYTES) {
                throw new ImageDecodeException(file + ": " + size + " bytes; an image file may have at most " + MAX_FILE_BYTES + ", not read");
            }
            bytes = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new ImageDecodeException(file + ": cannot read (" + e.getMessage() + ")", e);
        }
        return decode(bytes, file.toString());
    }

    /**
     * PIL's decompression-bomb limit ({@code Image.MAX_IMAGE_PIXELS} × 2, where PIL raises rather
     * than warns): a few bytes of header claiming 100000×100000 would otherwise make the decoder
     * allocate 30 GB. Checked from the header, before any pixel is decoded.
     */
    public static final long MAX_PIXELS = 2L * 89_478_485;

    /** The formats read here, as ImageIO names them; WBMP has no magic number, so its reader takes almost any bytes starting 00 00. */
    private static final Set<String> FORMATS = Set.of("png", "jpeg", "gif", "bmp", "tif", "tiff");

    /** @param name how errors refer to the image, e.g. its file name */
    public static RgbImage decode(byte[] bytes, String name) {
        if (bytes.length == 0) throw new ImageDecodeException(name + ": empty file");
        if (PngChunks.isPng(bytes)) PngChunks.check(bytes, name);
        List<String> warnings = new ArrayList<>();
        Decoded d;
        // In memory: ImageIO's default stream caches to temporary files.
        try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(bytes))) {
            d = read(in, warnings, name);
        } catch (IOException e) {
            throw new ImageDecodeException(name + ": corrupt or unsupported image (" + e.getMessage() + ")", e);
        }
        if (d == null) throw new ImageDecodeException(name + ": not a PNG or JPEG image (no decoder recognises its " + bytes.length + " bytes)");
        // A JPEG cut short decodes without an exception: libjpeg only warns ("Premature end of JPEG
        // file") and fills the missing rows with grey, which a detector would then judge.
        for (String w : warnings) {
            if (!skippedMetadata(w)) throw new ImageDecodeException(name + ": corrupt or truncated " + d.format() + " (" + w.strip() + ")");
        }
        return toRgb(d.image(), name);
    }

    private record Decoded(BufferedImage image, String format) {}

    /** The first image of the stream with its format name, or null when no reader of {@link #FORMATS} knows it; warnings are collected. */
    private static Decoded read(ImageInputStream in, List<String> warnings, String name) throws IOException {
        Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
        ImageReader reader = null;
        while (readers.hasNext() && reader == null) {
            ImageReader r = readers.next();
            if (FORMATS.contains(r.getFormatName().toLowerCase(Locale.ROOT))) reader = r;
            else r.dispose();
        }
        if (reader == null) return null;
        String format = reader.getFormatName().toUpperCase(Locale.ROOT);
        try {
            reader.setInput(in, true, true);
            reader.addIIOReadWarningListener((source, warning) -> warnings.add(warning));
            long width = reader.getWidth(0), height = reader.getHeight(0);
            if (width * height > MAX_PIXELS) {
                throw new ImageDecodeException(name + ": " + format + " header says " + width + "x" + height + " = " + width * height
                        + " pixels, over the limit of " + MAX_PIXELS + " pixels (PIL's decompression-bomb limit); not decoded");
            }
            return new Decoded(reader.read(0), format);
        } catch (IOException | RuntimeException e) {
            if (e instanceof ImageDecodeException) throw e;
            throw new ImageDecodeException(name + ": corrupt or unsupported " + format + " (" + e.getMessage() + ")", e);
        } finally {
            reader.dispose();
        }
    }

    /**
     * Warnings about metadata the decoder skipped (an invalid ICC profile, a duplicate PLTE, a
     * JFIF marker in a thumbnail: the JDK's texts say "ignored"/"ignoring") leave the pixels
     * intact, as PIL reads them; any other warning means the pixel data is damaged.
     */
    private static boolean skippedMetadata(String warning) {
        return warning.toLowerCase(Locale.ROOT).contains("ignor");
    }

    static RgbImage toRgb(BufferedImage img, String name) {
        int w = img.getWidth(), h = img.getHeight();
        Raster raster = img.getRaster();
        ColorModel cm = img.getColorModel();
        int bands = raster.getNumBands();
        byte[] rgb = new byte[Math.multiplyExact(Math.multiplyExact(w, h), 3)];
        int[] row = new int[w * bands];
        if (cm instanceof IndexColorModel palette) {
            for (int y = 0; y < h; y++) {
                raster.getPixels(0, y, w, 1, row);
                for (int x = 0; x < w; x++) {
                    int i = (y * w + x) * 3, index = row[x];
                    rgb[i] = (byte) palette.getRed(index);
                    rgb[i + 1] = (byte) palette.getGreen(index);
                    rgb[i + 2] = (byte) palette.getBlue(index);
                }
            }
            return new RgbImage(w, h, rgb);
        }
        int colours = cm.getNumColorComponents();
        if (colours != 1 && colours != 3) {
            throw new ImageDecodeException(name + ": " + colours + " colour components (e.g. CMYK) are not supported; expected grey or RGB");
        }
        int bits = cm.getComponentSize(0);
        for (int y = 0; y < h; y++) {
            raster.getPixels(0, y, w, 1, row);
            for (int x = 0; x < w; x++) {
                int i = (y * w + x) * 3, p = x * bands;
                for (int c = 0; c < 3; c++) rgb[i + c] = (byte) to8Bit(row[p + (colours == 1 ? 0 : c)], bits);
            }
        }
        return new RgbImage(w, h, rgb);
    }

    private static int to8Bit(int sample, int bits) {
        if (bits == 8) return sample;
        if (bits > 8) return sample >>> (bits - 8);
        return sample * 255 / ((1 << bits) - 1);
    }
}
