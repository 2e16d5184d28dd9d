// A product's uploaded image, public like the storefront that shows it. The content type is the one decided
// from the bytes at upload, `nosniff` stops a browser from guessing another, and the URL carries the
// image's hash (server/catalog/products.ts), so it can be cached for good: a new image is a new URL.
import { processDeps } from '@/server/deps';
import { PRODUCT_ID, productImage } from '@/server/catalog/products';

export const dynamic = 'force-dynamic';

export async function GET(req: Request, { params }: { params: Promise<{ id: string }> }) {
  const { id } = await params;
  if (!PRODUCT_ID.test(id)) return new Response('Not found', { status: 404, headers: { 'x-content-type-options': 'nosniff' } });
  const image = await productImage(processDeps().db, id);
  if (!image) return new Response('Not found', { status: 404, headers: { 'x-content-type-options': 'nosniff' } });
  const version = new URL(req.url).searchParams.get('v');
  // Only the current version is cacheable for a year; any other URL gets the current bytes, briefly cached.
  const current = version !== null && image.sha256.startsWith(version) && version.length >= 16;
  return new Response(new Uint8Array(image.bytes), {
    headers: {
      'content-type': image.contentType,
      'content-length': String(image.bytes.length),
      'x-content-type-options': 'nosniff',
      'content-security-policy': "default-src 'none'; sandbox",
      etag: `"${image.sha256}"`,
      'cache-control': current ? 'public, max-age=31536000, immutable' : 'public, max-age=60',
    },
  });
}
