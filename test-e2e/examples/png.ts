// Reads PNG bytes as a viewer would, independently of the example's encoder: the signature, every
// chunk's CRC-32, IHDR first and IEND last, then the IDAT data inflated and unfiltered (any of the five
// filter types) into exactly height rows of width pixels. 8-bit RGB or RGBA, not interlaced, only.
import { crc32, inflateSync } from "node:zlib";

export interface Png {
  width: number;
  height: number;
  /** 3 (RGB) or 4 (RGBA) bytes a pixel, row after row. */
  pixels: Buffer;
}

const signature = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

export function decodePng(png: Buffer): Png {
  if (!png.subarray(0, 8).equals(signature)) throw new Error("no PNG signature");
  const chunks: { type: string; data: Buffer }[] = [];
  for (let at = 8; at < png.length; ) {
    const length = png.readUInt32BE(at);
    const type = png.toString("latin1", at + 4, at + 8);
    const data = png.subarray(at + 8, at + 8 + length);
    if (data.length !== length) throw new Error(`${type} chunk cut short`);
    if (crc32(png.subarray(at + 4, at + 8 + length)) !== png.readUInt32BE(at + 8 + length)) {
      throw new Error(`${type} chunk: bad CRC`);
    }
    chunks.push({ type, data });
    at += 12 + length;
  }
  if (chunks[0]?.type !== "IHDR" || chunks.at(-1)?.type !== "IEND") throw new Error("not IHDR ... IEND");
  const header = chunks[0].data;
  const width = header.readUInt32BE(0);
  const height = header.readUInt32BE(4);
  const [depth, colourType, , , interlace] = header.subarray(8);
  const bpp = { 2: 3, 6: 4 }[colourType];
  if (depth !== 8 || bpp === undefined || interlace !== 0)
    throw new Error("not 8-bit RGB(A), not interlaced");

  const raw = inflateSync(Buffer.concat(chunks.filter((c) => c.type === "IDAT").map((c) => c.data)));
  const stride = width * bpp;
  if (raw.length !== height * (stride + 1)) throw new Error(`${raw.length} bytes of rows, not ${height}`);
  const pixels = Buffer.alloc(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    for (let x = 0; x < stride; x++) {
      const a = x >= bpp ? pixels[y * stride + x - bpp] : 0; // left
      const b = y > 0 ? pixels[(y - 1) * stride + x] : 0; // above
      const c = x >= bpp && y > 0 ? pixels[(y - 1) * stride + x - bpp] : 0; // above left
      const predictor = [0, a, b, (a + b) >> 1, paeth(a, b, c)][filter];
      if (predictor === undefined) throw new Error(`row ${y}: filter type ${filter}`);
      pixels[y * stride + x] = (raw[y * (stride + 1) + 1 + x] + predictor) & 0xff;
    }
  }
  return { width, height, pixels };
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const [pa, pb, pc] = [Math.abs(p - a), Math.abs(p - b), Math.abs(p - c)];
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}
