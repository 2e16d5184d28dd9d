import { headers } from 'next/headers';
import { redirect } from 'next/navigation';
import { processDeps } from '@/server/deps';
import { getAdminSession } from '@/server/auth/session';
import { EnrolForm } from './enrol-form';

export default async function EnrolPage() {
  const session = await getAdminSession(processDeps().db, await headers());
  if (!session) redirect('/admin/sign-in');
  if (session.user.twoFactorEnabled) redirect('/admin/orders');
  return (
    <main id="main" className="mx-auto max-w-md px-4 py-10">
      <EnrolForm required={session.mustEnrolTwoFactor} />
    </main>
  );
}
