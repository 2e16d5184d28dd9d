import { headers } from 'next/headers';
import { redirect } from 'next/navigation';
import { processDeps } from '@/server/deps';
import { getAdminSession } from '@/server/auth/session';
import { setupNeeded } from '@/server/auth/setup';
import { SignInForm } from './sign-in-form';

export default async function SignInPage() {
  const db = processDeps().db;
  if (await setupNeeded(db)) redirect('/admin/setup');
  if (await getAdminSession(db, await headers())) redirect('/admin/orders');
  return (
    <main id="main" className="mx-auto max-w-sm px-4 py-10">
      <SignInForm />
    </main>
  );
}
