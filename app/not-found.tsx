import Link from 'next/link';

export default function NotFound() {
  return (
    <main className="mx-auto max-w-md px-4 py-16 text-center">
      <h1 className="text-2xl font-semibold">找不到该页面 · Page not found</h1>
      <p className="mt-2 text-neutral-600">This order link is not valid.</p>
      <Link href="/" className="mt-6 inline-block text-blue-700 underline">
        返回商店 · Back to the shop
      </Link>
    </main>
  );
}
