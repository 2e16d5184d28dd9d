// What an uploaded image is, decided from its first bytes: a name ending in .png or a browser's
// Content-Type says nothing about the content, and serving an HTML or SVG file as an "image" from our own
// origin would be a stored XSS. Only the three raster formats the storefront needs are accepted.
export type ProductImageType = 'image/png' | 'image/jpeg' | 'image/webp';

const PNG = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const startsWith = (bytes: Uint8Array, sig: readonly number[], at = 0) => bytes.length >= at + sig.length && sig.every((b, i) => bytes[at + i] === b);
const ascii = (s: string) => [...s].map((c) => c.charCodeAt(0));

/** The image type by its signature, or null for anything else (SVG, HTML, GIF, a renamed text file…). */
export function detectImageType(bytes: Uint8Array): ProductImageType | null {
  if (startsWith(bytes, PNG)) return 'image/png';
  // SOI marker followed by the start of another marker.
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return 'image/jpeg';
  // RIFF <size> WEBP, then a VP8 / VP8L / VP8X chunk.
  if (startsWith(bytes, ascii('RIFF')) && startsWith(bytes, ascii('WEBP'), 8) && startsWith(bytes, ascii('VP8'), 12)) return 'image/webp';
  return null;
}
