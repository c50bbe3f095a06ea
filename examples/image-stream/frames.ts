// Draws the demo's frames in memory, in place of a camera: a colour wash that drifts, a ball that
// bounces off the edges, and the clock and frame number in a blocky pixel font. Returns PNG bytes.
import { encodePng } from "./png.js";

export const width = 320;
export const height = 240;

type Colour = [number, number, number];

/** Digits and ':' in a 3×5 font: five rows of three pixels each, '#' lit. */
const font: Record<string, string[]> = {
  "0": ["###", "#.#", "#.#", "#.#", "###"],
  "1": [".#.", "##.", ".#.", ".#.", "###"],
  "2": ["###", "..#", "###", "#..", "###"],
  "3": ["###", "..#", "###", "..#", "###"],
  "4": ["#.#", "#.#", "###", "..#", "..#"],
  "5": ["###", "#..", "###", "..#", "###"],
  "6": ["###", "#..", "###", "#.#", "###"],
  "7": ["###", "..#", "..#", "..#", "..#"],
  "8": ["###", "#.#", "###", "#.#", "###"],
  "9": ["###", "#.#", "###", "..#", "###"],
  ":": ["...", ".#.", "...", ".#.", "..."],
};

export function drawFrame(frame: number, now: Date): Buffer {
  const rgb = Buffer.alloc(width * height * 3);
  const set = (x: number, y: number, [r, g, b]: Colour) => {
    if (x < 0 || y < 0 || x >= width || y >= height) return;
    rgb.set([r, g, b], (y * width + x) * 3);
  };

  // The background: one colour per row, shifting a little every frame.
  for (let y = 0; y < height; y++) {
    const shade = (y + frame * 4) % 256;
    for (let x = 0; x < width; x++) set(x, y, [shade / 4, 40 + shade / 3, 120 + shade / 3]);
  }

  // The ball: its centre goes back and forth in x and y at different speeds.
  const radius = 18;
  const cx = radius + bounce(frame * 7, width - 2 * radius);
  const cy = radius + bounce(frame * 5, height - 2 * radius);
  for (let y = cy - radius; y <= cy + radius; y++) {
    for (let x = cx - radius; x <= cx + radius; x++) {
      if ((x - cx) ** 2 + (y - cy) ** 2 <= radius ** 2) set(x, y, [250, 200, 40]);
    }
  }

  const clock = [now.getHours(), now.getMinutes(), now.getSeconds()].map((n) => String(n).padStart(2, "0"));
  text(clock.join(":"), 16, 16, 8, set);
  text(String(frame), 16, height - 16 - 5 * 4, 4, set);
  return encodePng(width, height, rgb);
}

/** 0 → span → 0 → ...: a position that moves at speed 1 and turns back at both ends. */
function bounce(t: number, span: number): number {
  const p = t % (2 * span);
  return p < span ? p : 2 * span - p;
}

/** Writes `s` with its top left corner at (x, y), each font pixel a `scale` × `scale` square. */
function text(
  s: string,
  x: number,
  y: number,
  scale: number,
  set: (x: number, y: number, c: Colour) => void,
) {
  [...s].forEach((char, i) => {
    font[char].forEach((row, dy) => {
      [...row].forEach((pixel, dx) => {
        if (pixel !== "#") return;
        for (let sy = 0; sy < scale; sy++) {
          for (let sx = 0; sx < scale; sx++) {
            set(x + (i * 4 + dx) * scale + sx, y + dy * scale + sy, [255, 255, 255]);
          }
        }
      });
    });
  });
}
