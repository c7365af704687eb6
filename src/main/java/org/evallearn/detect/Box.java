package org.evallearn.detect;

/** A box in pixels of the original image: top-left corner, width and height, as NudeNet reports it. */
public record Box(int x, int y, int width, int height) {}
