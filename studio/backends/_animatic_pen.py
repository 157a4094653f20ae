"""Drawing primitives for the animatic's figures, in figure units.

A :class:`Pen` maps figure coordinates (``x`` right of the feet, ``y`` up from the
ground, in units of the figure's height) to OpenCV's fixed-point screen coordinates, so
figures move smoothly by fractions of a pixel; every primitive is anti-aliased.
"""

from __future__ import annotations

import cv2
import numpy as np

__all__ = ["AA", "INK", "MOUTH", "Pen", "limb", "mix", "shade", "shadow"]

Color = tuple[int, int, int]
Point = tuple[float, float]

_SHIFT = 4  # OpenCV fixed-point bits: sub-pixel drawing keeps slow motion smooth
_ONE = 1 << _SHIFT
AA = cv2.LINE_AA
INK = (30, 28, 40)
MOUTH = (120, 34, 40)


class Pen:
    """Figure units to fixed-point screen coordinates, and the primitives in them."""

    def __init__(self, img: np.ndarray, sx: float, sy: float, h: float) -> None:
        self.img, self.sx, self.sy, self.h = img, sx, sy, h

    def pt(self, p: Point) -> tuple[int, int]:
        return (round((self.sx + p[0] * self.h) * _ONE), round((self.sy - p[1] * self.h) * _ONE))

    def size(self, u: float) -> int:
        return max(_ONE, round(u * self.h * _ONE))

    def px(self, u: float) -> int:
        return max(1, round(u * self.h))

    def line(self, a: Point, b: Point, color: Color, width: float) -> None:
        cv2.line(self.img, self.pt(a), self.pt(b), color, self.px(width), AA, _SHIFT)

    def circle(self, c: Point, r: float, color: Color) -> None:
        cv2.circle(self.img, self.pt(c), self.size(r), color, -1, AA, _SHIFT)

    def ellipse(self, c: Point, rx: float, ry: float, angle: float, color: Color, start: float = 0,
                end: float = 360, width: int = -1) -> None:  # fmt: skip
        axes = (self.size(rx), self.size(ry))
        cv2.ellipse(self.img, self.pt(c), axes, angle, start, end, color, width, AA, _SHIFT)

    def poly(self, points: list[Point], color: Color, outline: Color | None = None) -> None:
        pts = np.array([self.pt(p) for p in points], np.int32)
        cv2.fillPoly(self.img, [pts], color, AA, _SHIFT)
        if outline is not None:
            cv2.polylines(self.img, [pts], True, outline, 1, AA, _SHIFT)


def shadow(img: np.ndarray, sx: float, sy: float, h: float, width: float) -> None:
    """A dark ellipse on the ground: it shows a jump and grounds a figure.

    Drawn solid in a darker shade of the ground under the feet (read from the frame),
    which looks like a translucent shadow on any plain ground and costs one call.
    """
    x, y = round(sx), round(sy)
    if not (0 <= x < img.shape[1] and 0 <= y < img.shape[0]):
        return
    ground = img[y, x]
    color = (int(ground[0]) * 5 // 8, int(ground[1]) * 5 // 8, int(ground[2]) * 5 // 8)
    axes = (max(2, round(width * h)), max(1, round(0.025 * h)))
    cv2.ellipse(img, (x, y), axes, 0, 0, 360, color, -1, AA)


def limb(pen: Pen, a: Point, b: Point, c: Point, color: Color, width: float, end: Color) -> None:
    pen.line(a, b, color, width)
    pen.line(b, c, color, width)
    pen.circle(c, width * 0.55, end)


def shade(c: Color, k: float) -> Color:
    return (round(c[0] * k), round(c[1] * k), round(c[2] * k))


def mix(a: Color, b: Color, w: float) -> Color:
    return (round(a[0] + (b[0] - a[0]) * w), round(a[1] + (b[1] - a[1]) * w), round(a[2] + (b[2] - a[2]) * w))
